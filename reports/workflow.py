"""Report work started outside a worker, queued for one: what the interfaces call.

The web UI, the API and `manage.py sendreport` ask for a report here, and the tracking
domain's signals ask for an alert check (of the best model, of production) here
(reports.receivers); each queues its Celery task once the caller's transaction commits
(reports.tasks tells the rest of the way).
"""

from datetime import datetime

from django.db import transaction

from reports import tasks
from reports.dispatch import create_report_now
from reports.models import Report
from tracker.models import Project


@transaction.atomic
def send_now(*, project: Project, user=None, to: list[str] | None = None,
             now: datetime | None = None, queue: bool = True) -> Report:
    """A report right now: to the check-in's recipients, or only to the addresses in `to`.

    Sent to the recipients it is a check-in like a scheduled one (the next one covers the
    time since); sent to chosen addresses it is a preview and leaves the chain alone.
    With queue=False no task is queued: the caller renders and delivers it itself.
    """
    report = create_report_now(project=project, user=user, to=to, now=now, queue=queue)
    if queue:
        tasks.enqueue_task(tasks.render_report_task, report.pk)
    return report


def check_alerts_after_commit(*, project_id: int, run_id: str | None = None) -> None:
    """Check the project's alerts in a worker once the current transaction commits."""
    args = (project_id,) if run_id is None else (project_id, run_id)
    tasks.enqueue_task(tasks.check_alerts_task, *args)


def check_production_alerts_after_commit(*, project_id: int) -> None:
    """Check the project's production alerts in a worker once the current transaction
    commits."""
    tasks.enqueue_task(tasks.check_production_alerts_task, project_id)
