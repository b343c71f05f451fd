from django.apps import AppConfig


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Tracking"
    default_auto_field = "django.db.models.BigAutoField"
