"""Delivery: each email once, whatever SMTP or the workers do."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from reports.delivery import _backoff, deliver_report
from reports.dispatch import recover_stalled_work
from reports.models import Delivery, DeliveryStatus, ReportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_trouble(monkeypatch):
    """Exceptions the (in-memory) SMTP server raises, one per message, before it recovers."""
    trouble: list[Exception] = []
    send = EmailBackend.send_messages

    def flaky(self, messages):
        if trouble:
            raise trouble.pop(0)
        return send(self, messages)
    monkeypatch.setattr(EmailBackend, "send_messages", flaky)
    return trouble


def test_each_recipient_gets_the_report_once(rendered_report, met_sentence):
    report = rendered_report()
    outcome = deliver_report(report_id=report.pk)
    assert (outcome.state, outcome.sent) == ("done", 2)
    assert deliver_report(report_id=report.pk).sent == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["cfo@example.com", "dana@example.com"]
    message = mail.outbox[0]
    assert message.subject == "News topics check-in: Target met"
    assert message.body.startswith(
        f"Target met. {met_sentence}\n\nTarget: F1 score of at least 85 out of 100 on the test "
        "set")
    [(filename, content, mimetype)] = message.attachments
    assert filename.startswith("news-topics-check-in-") and filename.endswith(".pdf")
    assert (content[:5], mimetype) == (b"%PDF-", "application/pdf")
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE and report.sent_at is not None


def test_smtp_down_is_retried_with_backoff_without_rendering_again(rendered_report, smtp_trouble):
    report = rendered_report()
    smtp_trouble += [ConnectionRefusedError(111, "Connection refused")] * 2
    outcome = deliver_report(report_id=report.pk)
    assert outcome.state == "waiting"
    assert [(d.status, d.attempts, d.last_error) for d in report.deliveries.all()] == [
        ("retry", 1, "ConnectionRefusedError: [Errno 111] Connection refused")] * 2
    assert timezone.now() + timedelta(seconds=59) < outcome.retry_at
    assert deliver_report(report_id=report.pk).sent == 0  # not due yet
    with time_machine.travel(outcome.retry_at + timedelta(seconds=1)):
        outcome = deliver_report(report_id=report.pk)
    assert (outcome.state, outcome.sent) == ("done", 2)
    assert len(mail.outbox) == 2
    report.refresh_from_db()
    assert report.render_attempts == 1
    assert [d.attempts for d in report.deliveries.all()] == [2, 2]


def test_backoff_doubles():
    assert [_backoff(n).total_seconds() for n in (1, 2, 3, 4, 10)] == [
        60, 120, 240, 480, 1800]


def test_a_refused_address_fails_at_once_and_the_others_still_get_it(rendered_report,
                                                                     smtp_trouble):
    report = rendered_report()
    smtp_trouble.append(smtplib.SMTPRecipientsRefused(
        {"dana@example.com": (550, b"no such mailbox")}))
    assert deliver_report(report_id=report.pk).state == "done"
    assert [(d.email, d.status) for d in report.deliveries.all()] == [
        ("dana@example.com", "failed"), ("cfo@example.com", "sent")]


def test_after_the_last_attempt_an_email_fails(rendered_report, smtp_trouble, settings):
    settings.REPORT_SMTP_MAX_ATTEMPTS = 1
    report = rendered_report(to=["me@example.com"])
    smtp_trouble.append(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    assert deliver_report(report_id=report.pk).state == "done"
    delivery = report.deliveries.get()
    assert (delivery.status, delivery.last_error) == (
        "failed", "SMTPServerDisconnected: Connection unexpectedly closed")


def test_an_email_cut_off_mid_send_is_never_sent_again(rendered_report):
    report = rendered_report()
    dana = report.deliveries.get(email="dana@example.com")
    # A worker claimed it, began talking to SMTP and was killed before recording the outcome.
    Delivery.objects.filter(pk=dana.pk).update(
        status=DeliveryStatus.SENDING, attempts=1,
        claimed_at=timezone.now() - timedelta(minutes=10))
    recover_stalled_work()
    deliver_report(report_id=report.pk)
    dana.refresh_from_db()
    assert dana.status == DeliveryStatus.UNKNOWN
    assert dana.get_status_display() == (
        "unknown: the worker stopped while sending; not sent again")
    assert [m.to for m in mail.outbox] == [["cfo@example.com"]]
