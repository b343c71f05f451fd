"""The dispatcher: reports created for due check-ins and on request, stalled work found again.

Each function here changes the database and returns what a worker must do next (the ids
of reports to render or deliver, of alerts to email); it queues nothing itself. The caller
queues it (reports.tasks, reports.workflow), so the services never import the tasks.

A due check-in is taken with a conditional UPDATE of its next_due_at, so two dispatchers
cannot both create its report, and the Report is created with one Delivery row per
recipient in the same transaction.
"""

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from reports import schedule, selectors
from reports.models import (
    CheckIn,
    Delivery,
    DeliveryStatus,
    Report,
    ReportKind,
    ReportStatus,
    lease_length,
)
from reports.periods import report_zone, start_of_period
from tracker.errors import InvalidInput
from tracker.models import Project

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatcherRound:
    """What one round of the dispatcher found for the workers, as ids to queue."""

    dispatched: list[int] = field(default_factory=list)  # new reports of due check-ins
    render: list[int] = field(default_factory=list)  # pending reports whose lease ran out
    deliver: list[int] = field(default_factory=list)  # rendered reports whose lease ran out
    alerts: list[int] = field(default_factory=list)  # alerts with emails left waiting
    unknown: int = 0  # emails cut off mid-send, now "unknown" and never sent again

    def __bool__(self) -> bool:
        return bool(self.dispatched or self.render or self.deliver or self.alerts
                    or self.unknown)


def create_report(*, project: Project, kind: str, period_start: datetime,
                  period_end: datetime, emails: list[str], checkin: CheckIn | None = None,
                  requested_by=None, queue: bool = True) -> Report:
    """A pending report with one Delivery per address; `queue` says its render is queued."""
    report = Report.objects.create(
        project=project, checkin=checkin, kind=kind, period_start=period_start,
        period_end=period_end, time_zone=report_zone(checkin), requested_by=requested_by,
        queued_at=timezone.now() if queue else None,
    )
    Delivery.objects.bulk_create(Delivery(report=report, email=e) for e in emails)
    return report


def dispatch_due_checkins(*, now: datetime | None = None) -> list[Report]:
    """Create a report for every check-in that is due, once, however many slots were missed.

    Each report counts as queued: the caller queues its render.
    """
    now = now or timezone.now()
    created = []
    due = (CheckIn.objects.filter(enabled=True, next_due_at__lte=now,
                                  project__deleted_at__isnull=True)  # not in the trash
           .select_related("project").order_by("next_due_at"))
    for checkin in due:
        try:
            step = schedule.tick(checkin.as_cadence(), checkin.next_due_at, now)
        except ValueError as exc:
            logger.error("check-in of %s cannot be scheduled: %s", checkin.project, exc)
            continue
        with transaction.atomic():
            taken = CheckIn.objects.filter(pk=checkin.pk, enabled=True,
                                           next_due_at=checkin.next_due_at).update(
                next_due_at=step.next_due_at, last_sent_at=now)
            if not taken:
                continue  # another dispatcher took it
            emails, problems = selectors.resolve_recipients(checkin=checkin)
            for problem in problems:
                logger.warning("check-in of %s: %s", checkin.project, problem)
            created.append(create_report(
                project=checkin.project, checkin=checkin, kind=ReportKind.SCHEDULED,
                period_start=start_of_period(project=checkin.project, checkin=checkin,
                                             end=now, due=checkin.next_due_at),
                period_end=now, emails=emails,
            ))
    return created


@transaction.atomic
def create_report_now(*, project: Project, user=None, to: list[str] | None = None,
                      now: datetime | None = None, queue: bool = True) -> Report:
    """A report of the period up to now: to the check-in's recipients, or only to `to`.

    Sent to the recipients it is a check-in like a scheduled one (the next one covers the
    time since); sent to chosen addresses it is a preview and leaves the chain alone.
    """
    now = now or timezone.now()
    checkin = CheckIn.objects.filter(project=project).first()
    if to:
        emails = _valid_addresses(to)
        kind = ReportKind.PREVIEW
    else:
        if checkin is None or not checkin.recipients:
            raise InvalidInput("this project's check-in has no recipients: add some, or name "
                               "the addresses to send to", field="to")
        emails, problems = selectors.resolve_recipients(checkin=checkin)
        if not emails:
            raise InvalidInput(f"no recipient can be emailed: {'; '.join(problems)}",
                               field="recipients")
        kind = ReportKind.MANUAL
        CheckIn.objects.filter(pk=checkin.pk).update(last_sent_at=now)
    return create_report(
        project=project, checkin=checkin, kind=kind,
        period_start=start_of_period(project=project, checkin=checkin, end=now),
        period_end=now, emails=emails, requested_by=user, queue=queue,
    )


def _valid_addresses(to: list[str]) -> list[str]:
    for i, address in enumerate(to):
        try:
            validate_email(address)
        except ValidationError:
            raise InvalidInput(f"to[{i}]: {address!r} is not a valid email address",
                               field=f"to[{i}]") from None
    return list(to)


def recover_stalled_work(*, now: datetime | None = None) -> DispatcherRound:
    """Find work whose worker died (or whose task was lost), for another worker.

    - a delivery still "sending" a lease after it began: the worker died mid-send; mark it
      "unknown" and never send it again (the email may have gone out);
    - a pending or rendered report whose lease ran out: its next step, to queue again;
    - alert emails waiting longer than a lease: to queue again.
    """
    now = now or timezone.now()
    stale = now - lease_length()
    unknown = Delivery.objects.filter(status=DeliveryStatus.SENDING,
                                      claimed_at__lt=stale).update(
        status=DeliveryStatus.UNKNOWN,
        last_error="the worker stopped while sending this email; it may or may not have "
                   "arrived, so it is not sent again")
    # Lease run out (or never taken), and not queued again within the last lease: a backlog
    # of slow renders must not multiply into a pile of duplicate tasks.
    stalled = ((Q(lease_until__lt=now) | Q(lease_until__isnull=True))
               & (Q(queued_at__lt=stale) | Q(queued_at__isnull=True, created_at__lt=stale)))
    to_render = list(Report.objects.filter(stalled, status=ReportStatus.PENDING)
                     .values_list("id", flat=True))
    to_deliver = list(Report.objects.filter(stalled, status=ReportStatus.RENDERED)
                      .values_list("id", flat=True))
    Report.objects.filter(id__in=to_render + to_deliver).update(queued_at=now)
    alerts = list(Delivery.objects.filter(alert__isnull=False).filter(
        Q(status=DeliveryStatus.PENDING, created_at__lt=stale)
        | Q(status=DeliveryStatus.RETRY, next_attempt_at__lt=stale),
    ).order_by("alert_id").values_list("alert_id", flat=True).distinct())
    return DispatcherRound(render=to_render, deliver=to_deliver, alerts=alerts,
                           unknown=unknown)


def dispatch_and_recover(*, now: datetime | None = None) -> DispatcherRound:
    """One round of the dispatcher (Celery beat, every REPORT_DISPATCH_INTERVAL seconds):
    a report for each due check-in, then the stalled work found again."""
    now = now or timezone.now()
    reports = dispatch_due_checkins(now=now)
    return replace(recover_stalled_work(now=now), dispatched=[r.pk for r in reports])
