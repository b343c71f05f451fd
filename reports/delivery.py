"""Emailing reports and alerts: each email once, whatever happens.

`deliver_report` sends each Delivery: it marks the row "sending" (committed) before talking
to SMTP and "sent" after. A transient SMTP failure puts it back to "retry" with a backoff.
A row found still "sending" long after its worker should have finished (the worker was
killed mid-send) becomes "unknown" (reports.dispatch.recover_stalled_work) and is never
sent again: a possible missing email is better than a certain duplicate.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Min, Q
from django.utils import timezone

from reports import emails as email_texts
from reports.models import (
    FINAL_DELIVERY_STATUSES,
    Alert,
    Delivery,
    DeliveryStatus,
    Report,
    ReportStatus,
    lease_length,
)
from reports.periods import local_day

logger = logging.getLogger(__name__)

OPEN_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRY)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one deliver_report or deliver_alert call."""

    state: str  # "done", "waiting" (retries scheduled), "not_rendered", "missing"
    sent: int = 0
    retry_at: datetime | None = None


def _backoff(attempts: int) -> timedelta:
    """60 s, 2 min, 4 min … (REPORT_SMTP_RETRY_DELAY doubled), at most 30 minutes."""
    base = settings.REPORT_SMTP_RETRY_DELAY
    return timedelta(seconds=min(base * 2 ** max(0, attempts - 1), 1800))


def _is_transient(exc: Exception) -> bool:
    """Whether trying again later may help (server down, busy, 4xx), or not (5xx refusal)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return True  # a configuration problem: retries deliver once it is fixed
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code < 500
    return True  # connection refused, timeouts, disconnects, anything unexpected


def _message_domain() -> str:
    sender = settings.DEFAULT_FROM_EMAIL
    return sender.rsplit("@", 1)[-1].strip("> ") if "@" in sender else "targetline.local"


def _send_due(deliveries, build) -> int:
    """Send each due delivery once: claim it ("sending"), send, record the outcome.

    The claim is a conditional UPDATE committed before SMTP is contacted; the outcome is
    committed right after. `build(delivery)` returns the EmailMessage.
    """
    now = timezone.now()
    due = list(deliveries.filter(status__in=OPEN_DELIVERY_STATUSES)
               .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)))
    if not due:
        return 0
    sent = 0
    for delivery in due:
        claimed = Delivery.objects.filter(
            pk=delivery.pk, status=delivery.status, attempts=delivery.attempts,
        ).update(status=DeliveryStatus.SENDING, attempts=F("attempts") + 1,
                 claimed_at=timezone.now())
        if not claimed:
            continue  # another worker has it
        attempts = delivery.attempts + 1
        try:
            build(delivery).send()
        except Exception as exc:
            transient = _is_transient(exc)
            final = not transient or attempts >= settings.REPORT_SMTP_MAX_ATTEMPTS
            logger.warning("email to %s failed (attempt %d): %s", delivery.email, attempts,
                           exc)
            Delivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED if final else DeliveryStatus.RETRY,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                next_attempt_at=None if final else timezone.now() + _backoff(attempts),
            )
            continue
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="",
            next_attempt_at=None)
        sent += 1
    return sent


def _next_retry(deliveries) -> datetime | None:
    return (deliveries.filter(status=DeliveryStatus.RETRY)
            .aggregate(at=Min("next_attempt_at"))["at"])


def _report_message(report: Report, pdf_bytes: bytes):
    snapshot = report.snapshot
    target = snapshot.get("target") or {}
    filename = (f"{report.project.slug}-check-in-"
                f"{local_day(report.period_end, report.time_zone).isoformat()}.pdf")
    subject = email_texts.report_subject(project=report.project.name,
                                       verdict_label=snapshot["verdict"]["label"])
    body = email_texts.report_email_body(
        project=report.project.name, period=snapshot["period"]["text"],
        verdict_label=snapshot["verdict"]["label"],
        verdict_sentence=snapshot["verdict"]["sentence"],
        target_sentence=target.get("sentence"), pages=snapshot.get("pages", 1))

    def build(delivery: Delivery) -> EmailMessage:
        message = EmailMessage(
            subject=subject, body=body, to=[delivery.email],
            headers={"Message-ID": f"<report-{report.pk}.{delivery.pk}@{_message_domain()}>"},
        )
        message.attach(filename, pdf_bytes, "application/pdf")
        return message

    return build


def deliver_report(*, report_id: int) -> DeliveryOutcome:
    """Email a rendered report to every recipient who has not had it yet."""
    report = Report.objects.select_related("project").filter(pk=report_id).first()
    if report is None:
        return DeliveryOutcome("missing")
    if report.status == ReportStatus.PENDING:
        return DeliveryOutcome("not_rendered")
    deliveries = Delivery.objects.filter(report=report)
    sent = 0
    if report.status == ReportStatus.RENDERED:
        Report.objects.filter(pk=report.pk).update(lease_until=timezone.now() + lease_length())
        if deliveries.filter(status__in=OPEN_DELIVERY_STATUSES).exists():
            with report.pdf.open("rb") as handle:
                pdf_bytes = handle.read()
            sent = _send_due(deliveries, _report_message(report, pdf_bytes))
    first_sent = (deliveries.filter(status=DeliveryStatus.SENT)
                  .aggregate(at=Min("sent_at"))["at"])
    if first_sent:
        Report.objects.filter(pk=report.pk, sent_at__isnull=True).update(sent_at=first_sent)
    if deliveries.exclude(status__in=FINAL_DELIVERY_STATUSES).exists():
        retry_at = _next_retry(deliveries)
        if retry_at is not None:
            Report.objects.filter(pk=report.pk).update(lease_until=retry_at + lease_length())
        return DeliveryOutcome("waiting", sent=sent, retry_at=retry_at)
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.DONE, lease_until=None)
    return DeliveryOutcome("done", sent=sent)


def deliver_alert(*, alert_id: int) -> DeliveryOutcome:
    """Email an alert to every recipient who has not had it yet."""
    alert = Alert.objects.select_related("project").filter(pk=alert_id).first()
    if alert is None:
        return DeliveryOutcome("missing")
    deliveries = Delivery.objects.filter(alert=alert)

    def build(delivery: Delivery) -> EmailMessage:
        return EmailMessage(
            subject=alert.subject, body=alert.body, to=[delivery.email],
            headers={"Message-ID": f"<alert-{alert.pk}.{delivery.pk}@{_message_domain()}>"})

    sent = _send_due(deliveries, build)
    if deliveries.exclude(status__in=FINAL_DELIVERY_STATUSES).exists():
        return DeliveryOutcome("waiting", sent=sent, retry_at=_next_retry(deliveries))
    return DeliveryOutcome("done", sent=sent)
