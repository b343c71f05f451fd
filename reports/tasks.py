"""Celery tasks: thin shells that take ids and call reports.services.

All are acks_late (the broker keeps the message until the task returns, and a worker lost
mid-task gives it back), and safe to run twice: the services take leases and claim each
email before sending it. Every task is sent to settings.REPORT_QUEUE.
"""

import logging

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown
from django.conf import settings

from reports import pdf

logger = logging.getLogger(__name__)


@worker_process_init.connect
def start_chart_server(**kwargs) -> None:
    """One Chromium per worker process, started as the process starts (and warmed up)."""
    pdf.start_chart_server(warm_up=True)


@worker_process_shutdown.connect
def stop_chart_server(**kwargs) -> None:
    pdf.stop_chart_server()


@shared_task(ignore_result=True, acks_late=True)
def dispatch_checkins() -> None:
    """Run by beat every REPORT_DISPATCH_INTERVAL seconds: due check-ins and stalled work."""
    from reports.services import tick

    outcome = tick()
    if outcome["dispatched"] or any(outcome[k] for k in ("unknown", "render", "deliver",
                                                          "alerts")):
        logger.info("check-in dispatcher: %s", outcome)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None, soft_time_limit=240, time_limit=300)
def render_report_task(self, report_id: int) -> None:
    from reports.services import render_report

    outcome = render_report(report_id=report_id)
    if outcome.state == "busy":  # another worker holds the lease; check again once it ends
        raise self.retry(countdown=outcome.retry_in, queue=settings.REPORT_QUEUE)
    if outcome.state == "rendered":
        logger.info("report %s rendered in %.2f s", report_id, outcome.seconds)
        deliver_report_task.apply_async((report_id,), queue=settings.REPORT_QUEUE)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def deliver_report_task(self, report_id: int) -> None:
    from django.utils import timezone

    from reports.services import deliver_report

    outcome = deliver_report(report_id=report_id)
    if outcome.retry_at is not None:  # SMTP trouble: try the waiting emails again later
        countdown = max(1.0, (outcome.retry_at - timezone.now()).total_seconds())
        raise self.retry(countdown=countdown, queue=settings.REPORT_QUEUE)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def check_alerts_task(project_id: int, run_id: str | None = None) -> None:
    from reports.services import check_alerts

    for alert in check_alerts(project_id=project_id, run_id=run_id):
        logger.info("alert %s: %s", alert.pk, alert.subject)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def deliver_alert_task(self, alert_id: int) -> None:
    from django.utils import timezone

    from reports.services import deliver_alert

    outcome = deliver_alert(alert_id=alert_id)
    if outcome.retry_at is not None:
        countdown = max(1.0, (outcome.retry_at - timezone.now()).total_seconds())
        raise self.retry(countdown=countdown, queue=settings.REPORT_QUEUE)
