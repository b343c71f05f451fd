from django.apps import AppConfig
from django.core import checks
from django.core.signals import request_started


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tracker import database
        from tracker.checks import artifact_storage_reachable

        # After Django's own close_old_connections (connected when django.db is imported).
        request_started.connect(database.close_dropped_connections,
                                dispatch_uid="tracker.database.close_dropped_connections")
        # Deploy only: it asks the object store, which `migrate` and the rest need not.
        checks.register(artifact_storage_reachable, "storage", deploy=True)
