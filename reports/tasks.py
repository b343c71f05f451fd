"""Celery tasks: thin shells that take ids, call a service, and queue the next step.

How a report travels, and why it arrives once:

1. The dispatcher (`dispatch_checkins`, every REPORT_DISPATCH_INTERVAL seconds from Celery
   beat) finds due check-ins and creates each one's report, once
   (reports.dispatch.dispatch_and_recover), then queues its render. "Send now" creates a
   report and queues its render the same way (reports.workflow.send_now).
2. `render_report_task` renders it once, under a lease (reports.rendering), then queues its
   delivery.
3. `deliver_report_task` sends each email once (reports.delivery), and tries again later
   while SMTP is in trouble; a check-in report is also told, once, to the project's
   webhooks listening to "report" (`deliver_webhook_task`, reports.webhook_sending), as
   alerts are to those listening to theirs.
4. Tasks are acks_late (the broker keeps the message until the task returns, and a worker
   lost mid-task gives it back), and the dispatcher also hands stalled work (an expired
   lease) to another worker, so a killed worker or a lost message delays a report, never
   loses it. Every task is safe to run twice, and is sent to settings.REPORT_QUEUE.

The services never import this module: they return what is to be done next, and the
tasks (or reports.workflow, for work started outside a worker) queue it.
"""

import logging

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reports import pdf
from reports.alerts import check_alerts
from reports.delivery import deliver_alert, deliver_report
from reports.dispatch import dispatch_and_recover
from reports.production_alerts import check_production_alerts
from reports.rendering import render_report
from reports.webhook_sending import send_webhook
from reports.webhooks import notify_alerts, notify_report, stalled_deliveries
from tracker.services import trash as trash_services

logger = logging.getLogger(__name__)


def enqueue_task(task, *args) -> None:
    """Queue `task(*args)` on settings.REPORT_QUEUE once the current transaction commits.

    A broker that cannot be reached is logged, not raised: the dispatcher finds the work
    again within REPORT_DISPATCH_INTERVAL seconds (pending reports, stalled leases).
    """
    def send() -> None:
        try:
            task.apply_async(args, queue=settings.REPORT_QUEUE)
        except Exception:
            logger.exception("could not queue %s%r; the dispatcher will pick it up again",
                             task.name, args)

    transaction.on_commit(send)


@worker_process_init.connect
def start_chart_server(**kwargs) -> None:
    """One Chromium per worker process, started as the process starts (and warmed up)."""
    pdf.start_chart_server(warm_up=True)


@worker_process_shutdown.connect
def stop_chart_server(**kwargs) -> None:
    """Chromium closes with its worker process."""
    pdf.stop_chart_server()


@shared_task(ignore_result=True, acks_late=True)
def dispatch_checkins() -> None:
    """Run by beat every REPORT_DISPATCH_INTERVAL seconds: due check-ins and stalled work."""
    found = dispatch_and_recover()
    for report_id in found.dispatched + found.render:
        enqueue_task(render_report_task, report_id)
    for report_id in found.deliver:
        enqueue_task(deliver_report_task, report_id)
    for alert_id in found.alerts:
        enqueue_task(deliver_alert_task, alert_id)
    if found:
        logger.info("check-in dispatcher: %s", found)
    stalled = stalled_deliveries()
    for delivery_id in stalled:
        enqueue_task(deliver_webhook_task, delivery_id)
    if stalled:
        logger.info("webhook notifications queued again: %s", stalled)


@shared_task(ignore_result=True, acks_late=True)
def purge_trash() -> None:
    """Run by beat every TRASH_PURGE_INTERVAL seconds: what has been in the trash longer
    than TRASH_DAYS goes for good, with its points and artifact files."""
    purged = trash_services.purge_expired()
    if any(purged.values()):
        logger.info("purged from the trash: %s", purged)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None, soft_time_limit=240, time_limit=300)
def render_report_task(self, report_id: int) -> None:
    """Render the report once, then queue its emails; wait while another worker has it."""
    outcome = render_report(report_id=report_id)
    if outcome.state == "busy":  # another worker holds the lease; check again once it ends
        raise self.retry(countdown=outcome.retry_in, queue=settings.REPORT_QUEUE)
    if outcome.state == "rendered":
        logger.info("report %s rendered in %.2f s", report_id, outcome.seconds)
        enqueue_task(deliver_report_task, report_id)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def deliver_report_task(self, report_id: int) -> None:
    """Email the rendered report and tell the webhooks; come back when the emails SMTP
    turned away are due."""
    outcome = deliver_report(report_id=report_id)
    if outcome.state in ("done", "waiting"):
        for delivery_id in notify_report(report_id=report_id):
            enqueue_task(deliver_webhook_task, delivery_id)
    if outcome.retry_at is not None:  # SMTP trouble: try the waiting emails again later
        raise self.retry(countdown=_until(outcome.retry_at), queue=settings.REPORT_QUEUE)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def check_alerts_task(project_id: int, run_id: str | None = None) -> None:
    """Record what a change made news, then queue its email and its webhook posts."""
    _queue_alerts(check_alerts(project_id=project_id, run_id=run_id))


def _queue_alerts(alerts) -> None:
    """Queue the email of each alert with one of its own, and each webhook's notice."""
    for alert in alerts:
        logger.info("alert %s: %s", alert.pk, alert.subject)
        if alert.sent_with_id is None:  # one told with another goes out in that one's email
            enqueue_task(deliver_alert_task, alert.pk)
    for delivery_id in notify_alerts(alerts=alerts):
        enqueue_task(deliver_webhook_task, delivery_id)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def check_production_alerts_task(project_id: int) -> None:
    """Record the production alerts due (below the bar, significant drift), once per
    episode, then queue their email and their webhook posts."""
    _queue_alerts(check_production_alerts(project_id=project_id))


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def deliver_alert_task(self, alert_id: int) -> None:
    """Email the alert; come back when the emails SMTP turned away are due."""
    outcome = deliver_alert(alert_id=alert_id)
    if outcome.retry_at is not None:
        raise self.retry(countdown=_until(outcome.retry_at), queue=settings.REPORT_QUEUE)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=None)
def deliver_webhook_task(self, delivery_id: int) -> None:
    """Post a webhook notification; come back when its next attempt is due."""
    outcome = send_webhook(delivery_id=delivery_id)
    if outcome.retry_at is not None:
        raise self.retry(countdown=_until(outcome.retry_at), queue=settings.REPORT_QUEUE)


def _until(moment) -> float:
    """Seconds from now until `moment`, at least one: a retry's countdown."""
    return max(1.0, (moment - timezone.now()).total_seconds())
