"""The database router used when a read replica is configured (DATABASE_REPLICA_URL).

Reads inside tracker.replica.replica_reads() go to the replica, unless a transaction is
open on the primary (what a transaction reads must be what it writes on); every write,
every other read and every migration go to the primary ("default").
"""

from django.db import DEFAULT_DB_ALIAS, connections

from tracker.replica import REPLICA, reading_from_replica


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        if reading_from_replica() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the same rows on both: a run read from the replica is the primary's

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS  # the replica follows the primary's schema
