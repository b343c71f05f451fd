"""Check-ins (a project's reporting schedule), the reports they produce, and their emails.

A Report is rendered once (HTML, PDF, the figures and a snapshot of every number and
sentence in it) and never changes after it has been sent. Each email, of a report or of an
alert, is a Delivery row: its status is recorded before and after talking to the SMTP
server, so a retry or a restarted worker never emails the same person twice.
"""

from datetime import time, timedelta

from django.conf import settings
from django.db import models

from reports import schedule
from tracker.models import Deployment, Project, Run


class Cadence(models.TextChoices):
    WEEKLY = schedule.WEEKLY, "weekly on a weekday"
    EVERY_N_DAYS = schedule.EVERY_N_DAYS, "every N days"
    MONTHLY = schedule.MONTHLY, "monthly on a day"


WEEKDAY_CHOICES = list(enumerate(schedule.WEEKDAYS))


class CheckIn(models.Model):
    """A project's check-in: when reports go out, and to whom."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="checkin")
    cadence = models.CharField(max_length=20, choices=Cadence.choices, default=Cadence.WEEKLY)
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, choices=WEEKDAY_CHOICES,
                                               help_text="weekly: the day of the week")
    every_n_days = models.PositiveSmallIntegerField(null=True, blank=True,
                                                    help_text="every N days: N")
    starts_on = models.DateField(null=True, blank=True,
                                 help_text="every N days: the first day it counts from")
    day_of_month = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="monthly: 1-31 (29-31 mean the last day in shorter "
        "months)")
    local_time = models.TimeField(default=time(9, 0), help_text="local time of day")
    time_zone = models.CharField(max_length=64, default="UTC",
                                 help_text="IANA name, e.g. Europe/Paris")
    # Email addresses, or usernames of project members (their address is read at send time).
    recipients = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # The end of the period of the last check-in report (scheduled or "send now").
    last_sent_at = models.DateTimeField(null=True, blank=True)
    next_due_at = models.DateTimeField(
        null=True, blank=True,
        help_text="when the next report goes out (UTC); set it to now to send one at once")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["enabled", "next_due_at"], name="checkin_due")]

    def __str__(self) -> str:
        return f"check-in of {self.project}"

    def as_cadence(self) -> schedule.Cadence:
        return schedule.Cadence(
            kind=self.cadence, local_time=self.local_time, time_zone=self.time_zone,
            weekday=self.weekday, every_n_days=self.every_n_days, starts_on=self.starts_on,
            day_of_month=self.day_of_month,
        )

    def describe(self) -> str:
        return schedule.describe(self.as_cadence())


class ReportKind(models.TextChoices):
    SCHEDULED = "scheduled", "scheduled check-in"
    MANUAL = "manual", "sent on request to the check-in's recipients"
    PREVIEW = "preview", "sent on request to chosen addresses (not a check-in)"


class ReportStatus(models.TextChoices):
    PENDING = "pending", "waiting to be rendered"
    RENDERED = "rendered", "rendered; emails going out"
    DONE = "done", "every email has a final status"


class Verdict(models.TextChoices):
    MET = "met", "Target met"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    NO_PROGRESS = "no_progress", "No progress"
    HOLDING = "holding", "Holding in production"
    SLIPPING = "slipping", "Slipping in production"
    BELOW_BAR = "below_bar", "Below the bar in production"


class ImmutableReport(Exception):
    """Raised when something tries to change a report that has been sent."""


def lease_length() -> timedelta:
    """How long a worker owns a report's next step (Report.lease_until) before another may
    take it over: REPORT_LEASE_SECONDS."""
    return timedelta(seconds=settings.REPORT_LEASE_SECONDS)


def report_upload_to(instance: "Report", filename: str) -> str:
    return f"reports/{instance.project.slug}/{filename}"


class Report(models.Model):
    """One check-in report: its period, verdict, figures, HTML and PDF."""

    # What a sent report may never change.
    FROZEN_FIELDS = ("project_id", "period_start", "period_end", "verdict", "verdict_sentence",
                     "snapshot", "figures", "html", "pdf")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reports")
    checkin = models.ForeignKey(CheckIn, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="reports")
    kind = models.CharField(max_length=10, choices=ReportKind.choices,
                            default=ReportKind.SCHEDULED)
    status = models.CharField(max_length=10, choices=ReportStatus.choices,
                              default=ReportStatus.PENDING)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    time_zone = models.CharField(max_length=64, default="UTC")  # dates in the report read here
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    verdict = models.CharField(max_length=12, choices=Verdict.choices, blank=True, default="")
    verdict_sentence = models.TextField(blank=True, default="")
    # Every number and sentence the report shows, including the target as it stood.
    snapshot = models.JSONField(default=dict, blank=True)
    figures = models.JSONField(default=dict, blank=True)  # plotly figures by name
    html = models.TextField(blank=True, default="")
    pdf = models.FileField(upload_to=report_upload_to, max_length=500, blank=True)
    render_seconds = models.FloatField(null=True, blank=True)
    render_attempts = models.PositiveSmallIntegerField(default=0)
    render_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)  # the first email that went out
    # A worker owns the report's next step until then; past it, the dispatcher hands the
    # step to another worker (the first one was killed, or its task was lost).
    lease_until = models.DateTimeField(null=True, blank=True)
    # When its next step was last queued: the dispatcher queues it again at most once a lease.
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end", "-id"]
        indexes = [models.Index(fields=["status", "lease_until"], name="report_open_work")]

    def __str__(self) -> str:
        return f"report {self.pk} of {self.project} ({self.period_end:%Y-%m-%d})"

    def save(self, *args, **kwargs):
        if self.pk:
            stored = (Report.objects.filter(pk=self.pk)
                      .values("sent_at", *self.FROZEN_FIELDS).first())
            if stored and stored["sent_at"]:
                for name in self.FROZEN_FIELDS:
                    value = getattr(self, name)
                    if name == "pdf":
                        value = value.name or ""
                    if stored[name] != value:
                        raise ImmutableReport(
                            f"report {self.pk} has been sent; its {name} cannot change")
        super().save(*args, **kwargs)

    @property
    def is_checkin(self) -> bool:
        """Scheduled and "send now" reports form the chain of check-ins; previews do not."""
        return self.kind in (ReportKind.SCHEDULED, ReportKind.MANUAL)


class AlertKind(models.TextChoices):
    TARGET_MET = "target_met", "target met for the first time"
    WINNER_CHANGED = "winner_changed", "new best model"
    BELOW_BAR = "production.below_bar", "the live model fell below the agreed bar"
    DRIFT = "production.drift", "an input of the live model drifted significantly"


class Alert(models.Model):
    """A pushed email about a change that matters; the unique key makes each one happen once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    # target_met: the target it met; winner_changed: "<previous best run>-><new best run>";
    # production.below_bar: "<deployment>|<window start>|<window end>" of the window that fell
    # below; production.drift: "<deployment>|<window start>|<window end>|<features>" (the
    # reports.production_alerts docstring says why).
    key = models.CharField(max_length=300)
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    # The production alerts' deployment (its run is `run`).
    deployment = models.ForeignKey(Deployment, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    previous_run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    snapshot = models.JSONField(default=dict, blank=True)
    # Set when this alert was told inside another one sent at the same moment.
    sent_with = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind", "key"], name="one_alert_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} in {self.project}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "waiting to be sent"
    SENDING = "sending", "being sent"
    RETRY = "retry", "waiting to retry"
    SENT = "sent", "sent"
    FAILED = "failed", "failed"
    UNKNOWN = "unknown", "unknown: the worker stopped while sending; not sent again"


FINAL_DELIVERY_STATUSES = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN)


class Delivery(models.Model):
    """One email to one person, of a report or of an alert."""

    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="deliveries")
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="deliveries")
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # when the last attempt began
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["report", "email"], name="one_email_per_report",
                                    condition=models.Q(report__isnull=False)),
            models.UniqueConstraint(fields=["alert", "email"], name="one_email_per_alert",
                                    condition=models.Q(alert__isnull=False)),
            models.CheckConstraint(
                condition=(models.Q(report__isnull=False, alert__isnull=True)
                           | models.Q(report__isnull=True, alert__isnull=False)),
                name="delivery_of_report_or_alert"),
        ]

    def __str__(self) -> str:
        return f"{self.email}: {self.status}"


# --- Webhooks: notifications in the channels teams read (reports.webhooks) --------------

class WebhookKind(models.TextChoices):
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"
    GENERIC = "generic", "JSON, signed with HMAC-SHA256"


class WebhookEvent(models.TextChoices):
    REPORT = "report", "a check-in report went out"
    TARGET_MET = AlertKind.TARGET_MET.value, "the target is met for the first time"
    WINNER_CHANGED = AlertKind.WINNER_CHANGED.value, "a new best model"
    PRODUCTION_BELOW_BAR = AlertKind.BELOW_BAR.value, "the live model fell below the agreed bar"
    PRODUCTION_DRIFT = AlertKind.DRIFT.value, "an input of the live model drifted significantly"


class Webhook(models.Model):
    """An address a project's events are posted to, in the format of its kind.

    The secret signs every request (X-Targetline-Signature); it is shown once, when the
    webhook is created, and kept to sign with.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    kind = models.CharField(max_length=10, choices=WebhookKind.choices)
    events = models.JSONField(default=list)  # WebhookEvent values
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.project}"


class WebhookOutcome(models.TextChoices):
    """A notification's state, and the outcome of each attempt (delivered, retrying, failed)."""

    PENDING = "pending", "waiting to be sent"
    SENDING = "sending", "being sent"
    RETRYING = "retrying", "waiting to retry"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


ATTEMPT_OUTCOMES = (WebhookOutcome.DELIVERED, WebhookOutcome.RETRYING, WebhookOutcome.FAILED)


class WebhookDelivery(models.Model):
    """One event told to one webhook: the body it receives, once per event (the key)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=20, choices=WebhookEvent.choices)
    # What makes the event itself: "report:<id>" or "alert:<id>".
    key = models.CharField(max_length=300)
    body = models.JSONField()  # the message, in the webhook's format
    status = models.CharField(max_length=10, choices=WebhookOutcome.choices,
                              default=WebhookOutcome.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # when the last attempt began
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["webhook", "event", "key"],
                                               name="one_notification_per_event")]
        indexes = [models.Index(fields=["status", "next_attempt_at"],
                                name="webhook_delivery_open")]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One try at posting a notification: its outcome, the receiver's answer, how long."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=[
        (o.value, o.label) for o in ATTEMPT_OUTCOMES])
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery_id", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.outcome}"
