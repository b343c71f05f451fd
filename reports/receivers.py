"""Reactions to the tracking domain's signals: an alert check after a change that may matter
(the best model, the target met; the model live in production below the bar, its inputs
drifted)."""

from reports import selectors
from reports.models import Report
from reports.workflow import check_alerts_after_commit, check_production_alerts_after_commit
from tracker.models import Deployment, RunStatus
from tracker.signals import (
    production_changed,
    project_purging,
    run_results_changed,
    target_changed,
)

ON_RUN_RESULTS = "reports.alerts_on_run_results"
ON_TARGET = "reports.alerts_on_target"
ON_PURGE = "reports.files_of_purged_project"
ON_PRODUCTION = "reports.alerts_on_production"


def connect() -> None:
    """Listen to the tracking domain (ReportsConfig.ready; again after `disconnect`)."""
    run_results_changed.connect(on_run_results_changed, dispatch_uid=ON_RUN_RESULTS)
    target_changed.connect(on_target_changed, dispatch_uid=ON_TARGET)
    project_purging.connect(on_project_purging, dispatch_uid=ON_PURGE)
    production_changed.connect(on_production_changed, dispatch_uid=ON_PRODUCTION)


def disconnect() -> None:
    """Stop listening, e.g. while sample history is written (reports.sample)."""
    run_results_changed.disconnect(dispatch_uid=ON_RUN_RESULTS)
    target_changed.disconnect(dispatch_uid=ON_TARGET)
    project_purging.disconnect(dispatch_uid=ON_PURGE)
    production_changed.disconnect(dispatch_uid=ON_PRODUCTION)


def on_run_results_changed(sender, run, **kwargs) -> None:
    """Check the alerts once the writing transaction commits.

    Only ended runs compete, so a batch logged to a running run changes nothing. Alerts go
    to projects with a check-in switched on (that is where a project asks for email at all)
    or with a webhook listening to them.
    """
    if run.status == RunStatus.RUNNING:
        return
    if not selectors.wants_alerts(project_id=run.project_id):
        return
    check_alerts_after_commit(project_id=run.project_id, run_id=str(run.pk))


def on_target_changed(sender, project, **kwargs) -> None:
    """A new target or guardrails can make the target met with no run changing: check the
    alerts once the change commits (check-ins switched on, or webhooks listening).
    check_alerts without a run tells only "target met"; a best model changed by the rules is
    left to the next report. A project with a live deployment has its production alerts
    checked too."""
    if selectors.wants_alerts(project_id=project.pk):
        check_alerts_after_commit(project_id=project.pk)
    # A new bar can put the live model below it (or back above it).
    if Deployment.objects.live().filter(project=project).exists():
        on_production_changed(sender, project)


def on_production_changed(sender, project, **kwargs) -> None:
    """A live result or profile stored (or a deployed run's reference replaced): check the
    production alerts once the change commits, when anyone hears of them (check-ins
    switched on, or webhooks listening to "production.below_bar" or "production.drift")."""
    if not selectors.wants_alerts(project_id=project.pk, events=selectors.PRODUCTION_EVENTS):
        return
    check_production_alerts_after_commit(project_id=project.pk)


def on_project_purging(sender, project, **kwargs) -> list[str]:
    """The report PDFs of a project purged from the trash: removed with it."""
    return list(Report.objects.filter(project=project).exclude(pdf="")
                .values_list("pdf", flat=True))
