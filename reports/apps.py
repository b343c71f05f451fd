from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Check-in reports"

    def ready(self) -> None:
        # Imported here, not at the top: the receivers use the models, which Django loads
        # only after every AppConfig has been created (the documented place for signals).
        from reports import receivers

        receivers.connect()
