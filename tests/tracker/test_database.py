"""Which database errors are an outage (answered 503, tracker/database.py) and which are not."""

import sqlite3

import psycopg
import pytest
from django.db import utils as db_utils

from tracker import database


def _as_django(error: Exception) -> db_utils.Error:
    """The error as Django raises it: its class of the same name, the driver's as the cause."""
    django_class = next(getattr(db_utils, cls.__name__) for cls in type(error).__mro__
                        if hasattr(db_utils, cls.__name__))
    wrapped = django_class(str(error))
    wrapped.__cause__ = error
    return wrapped


@pytest.mark.parametrize("error", [
    psycopg.OperationalError("connection failed: connection to server at \"127.0.0.1\", port "
                             "5432 failed: Connection refused"),
    psycopg.OperationalError("connection failed: FATAL:  sorry, too many clients already"),
    psycopg.OperationalError("consuming input failed: server closed the connection "
                             "unexpectedly"),
    psycopg.OperationalError("the connection is closed"),
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
    psycopg.errors.CrashShutdown("terminating connection because of crash of another server "
                                 "process"),
    psycopg.errors.CannotConnectNow("the database system is starting up"),
    psycopg.errors.TooManyConnections("too many connections for role \"targetline\""),
    psycopg.errors.DiskFull("could not extend file: No space left on device"),
    psycopg.errors.ConnectionFailure("server closed the connection"),
    psycopg.errors.IdleSessionTimeout("terminating connection due to idle-session timeout"),
], ids=lambda error: type(error).__name__ + ":" + str(error)[:30])
def test_the_database_out_of_reach_is_an_outage(error):
    assert database.unavailable(_as_django(error))
    assert database.unavailable(error)  # raised by psycopg itself (tracker.hot_sql)


@pytest.mark.parametrize("error", [
    psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
    psycopg.errors.DeadlockDetected("deadlock detected"),
    psycopg.errors.SerializationFailure("could not serialize access"),
    psycopg.errors.PipelineAborted("pipeline aborted"),
    psycopg.errors.UniqueViolation("duplicate key value violates unique constraint"),
    psycopg.errors.UndefinedTable("relation \"tracker_run\" does not exist"),
    sqlite3.OperationalError("no such table: tracker_run"),
    sqlite3.OperationalError("database is locked"),
], ids=lambda error: type(error).__name__)
def test_a_failing_statement_is_not_an_outage(error):
    assert not database.unavailable(_as_django(error))


def test_errors_of_the_request_are_not_an_outage():
    assert not database.unavailable(ValueError("bad input"))
    assert not database.unavailable(None)
    assert not database.unavailable(db_utils.OperationalError("no cause"))
