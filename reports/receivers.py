"""Reactions to the tracking domain's signals: an alert check after a change that may matter."""

from reports import selectors
from reports.models import Report
from reports.workflow import check_alerts_after_commit
from tracker.models import RunStatus
from tracker.signals import project_purging, run_results_changed, target_changed

ON_RUN_RESULTS = "reports.alerts_on_run_results"
ON_TARGET = "reports.alerts_on_target"
ON_PURGE = "reports.files_of_purged_project"


def connect() -> None:
    """Listen to the tracking domain (ReportsConfig.ready; again after `disconnect`)."""
    run_results_changed.connect(on_run_results_changed, dispatch_uid=ON_RUN_RESULTS)
    target_changed.connect(on_target_changed, dispatch_uid=ON_TARGET)
    project_purging.connect(on_project_purging, dispatch_uid=ON_PURGE)


def disconnect() -> None:
    """Stop listening, e.g. while sample history is written (reports.sample)."""
    run_results_changed.disconnect(dispatch_uid=ON_RUN_RESULTS)
    target_changed.disconnect(dispatch_uid=ON_TARGET)
    project_purging.disconnect(dispatch_uid=ON_PURGE)


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
    left to the next report."""
    if not selectors.wants_alerts(project_id=project.pk):
        return
    check_alerts_after_commit(project_id=project.pk)


def on_project_purging(sender, project, **kwargs) -> list[str]:
    """The report PDFs of a project purged from the trash: removed with it."""
    return list(Report.objects.filter(project=project).exclude(pdf="")
                .values_list("pdf", flat=True))
