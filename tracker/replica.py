"""Reads that may come from a read replica (settings.DATABASE_REPLICA_URL).

A replica trails the primary by a moment, so only reads that do not follow their own
writes may go there: the pages people look at (web/replica.py says which requests) and the
assembly of a check-in report. Inside `replica_reads()` the database router
(config/database_router.py) sends the ORM's reads to the replica, outside any transaction;
writes, reads inside a transaction and every statement of tracker.hot_sql (ingest, the
API's reads of a run) stay on the primary. Without a replica configured there is no
router, and this changes nothing.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REPLICA = "replica"  # the database alias of the replica (settings.DATABASES)

_replica_reads: ContextVar[bool] = ContextVar("targetline_replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Let the reads of this block (this thread or task only) come from the replica."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reading_from_replica() -> bool:
    """Whether the current block may read from the replica."""
    return _replica_reads.get()
