"""The database away for a moment: told apart from other errors, and left behind cleanly.

While PostgreSQL restarts, cannot be reached or has no connection left (max_connections),
every request that needs it fails. Those failures are not bugs in the request: the
interfaces answer them 503 Service Unavailable with a Retry-After of
settings.DATABASE_RETRY_AFTER seconds (v1: api/errors.py; MLflow: api/mlflow/endpoint.py;
pages and anything else: config/urls.py), which the SDK and the MLflow client retry, never
a 500 (docs/operations.md#while-the-database-is-away).

Each web thread keeps its connection between requests (CONN_MAX_AGE); PostgreSQL ends
those connections when it restarts, and Django would only find out by failing the next
request on each of them. close_dropped_connections, run as each request starts, closes
them first, so the first requests after a restart succeed.
"""

import select

import psycopg
from django.conf import settings
from django.db import connections
from django.db import utils as db_utils

# SQLSTATE classes and codes that say the server cannot serve now, whatever was asked:
# 08 connection exception, 53 insufficient resources (53300 too many connections, disk
# full, out of memory), 57P01 admin shutdown (the restart's "terminating connection due to
# administrator command"), 57P02 crash shutdown, 57P03 cannot connect now (starting up or
# shutting down), 57P05 idle session timeout.
_UNAVAILABLE_CLASSES = ("08", "53")
_UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03", "57P05"})


def unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` says PostgreSQL is out of reach right now (restarting, stopped, no
    connection slot left, the connection lost), rather than that the request was wrong.

    Errors without a SQLSTATE come from the client library itself: a refused or failed
    connection attempt (max_connections reached included: that one is refused before any
    SQLSTATE is sent), or a connection lost. A pipeline aborted by an earlier statement's
    error has none either, and is that statement's fault, not an outage.
    """
    if isinstance(exc, db_utils.OperationalError):
        exc = exc.__cause__
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    if state is None:
        return not isinstance(exc, psycopg.errors.PipelineAborted)
    return state.startswith(_UNAVAILABLE_CLASSES) or state in _UNAVAILABLE_CODES


def retry_after() -> int:
    """The seconds a client should wait before trying again, sent as Retry-After."""
    return settings.DATABASE_RETRY_AFTER


def message() -> str:
    """What the APIs answer while the database is away."""
    return ("the database is unavailable for a moment (restarting, or out of connections); "
            f"try again in {retry_after()} s")


def close_dropped_connections(**kwargs) -> None:
    """Close this thread's kept database connections that PostgreSQL has dropped.

    Connected to request_started. An idle connection has nothing to read unless the server
    spoke unasked: on a restart, a terminated backend or an idle timeout, PostgreSQL sends
    its farewell and closes the socket. Asking the socket costs a system call, not a round
    trip (what Django's CONN_HEALTH_CHECKS would cost every request, 70 µs on loopback),
    and only then does Django's own check (SELECT 1) decide.
    """
    for conn in connections.all(initialized_only=True):
        if conn.vendor != "postgresql" or conn.connection is None or conn.in_atomic_block:
            continue
        if conn.connection.closed or (_has_input(conn.connection) and not conn.is_usable()):
            conn.close()


def _has_input(pg_connection) -> bool:
    """Whether an idle connection's socket has something to read (or is closed)."""
    try:
        fd = pg_connection.pgconn.socket
    except psycopg.OperationalError:  # libpq has already dropped it
        return True
    poller = select.poll()  # not select(): gunicorn's threads may hold descriptors >= 1024
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
