from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Check-in reports"

    def ready(self) -> None:
        from reports.receivers import on_run_results_changed, on_target_changed
        from tracker.signals import run_results_changed, target_changed

        run_results_changed.connect(on_run_results_changed,
                                    dispatch_uid="reports.alerts_on_run_results")
        target_changed.connect(on_target_changed, dispatch_uid="reports.alerts_on_target")
