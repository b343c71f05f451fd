"""Webhooks: a project's events told in the channels its team reads (Slack, Teams, any URL).

Owners add, change and remove webhooks here (the API and the web UI call these); each
addition and removal goes to the audit log. When an event happens, `notify_report` and
`notify_alerts` record one WebhookDelivery per listening webhook, once per event (a unique
key), with the body it will receive; they return the ids for the caller to queue
(reports.tasks.deliver_webhook_task), and reports.webhook_sending posts them.

Events: "report" (a check-in report went out: its verdict, its sentence, links to the
dashboard and the PDF), "target_met" and "winner_changed" (the alerts of reports.alerts),
"production.below_bar" and "production.drift" (those of reports.production_alerts).
"""

import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from reports import emails as email_texts
from reports.models import (
    Alert,
    AlertKind,
    Report,
    ReportStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookKind,
    WebhookOutcome,
)
from reports.webhook_addresses import RefusedAddress, check_url, split_url
from reports.webhook_messages import Notice, message_body
from tracker.errors import InvalidInput
from tracker.models import AuditAction, Project
from tracker.production_rules import feature_words
from tracker.services import audit

MAX_WEBHOOKS = 20  # per project


# --- Owners' changes ------------------------------------------------------------------------

def _checked_url(url) -> str:
    """The URL when the server may post to it, else a 400 naming `url`."""
    if not isinstance(url, str):
        raise InvalidInput("url must be an http or https address", field="url")
    try:
        check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except RefusedAddress as exc:
        raise InvalidInput(f"url: {exc}", field="url") from None
    return url.strip()


def _checked_kind(kind) -> str:
    if kind not in WebhookKind.values:
        raise InvalidInput(f"kind must be one of {', '.join(WebhookKind.values)}, not "
                           f"{kind!r}", field="kind")
    return kind


def _checked_events(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise InvalidInput("events must be a list of one or more of "
                           f"{', '.join(WebhookEvent.values)}", field="events")
    out: list[str] = []
    for i, event in enumerate(events):
        if event not in WebhookEvent.values:
            raise InvalidInput(f"events[{i}] must be one of {', '.join(WebhookEvent.values)}, "
                               f"not {event!r}", field=f"events[{i}]")
        if event not in out:
            out.append(event)
    return out


def _checked_active(active) -> bool:
    if not isinstance(active, bool):
        raise InvalidInput(f"active must be true or false, not {active!r}", field="active")
    return active


def _host(url: str) -> str:
    """The host a webhook posts to: what the audit log and the pages show of its URL (the
    path of a Slack or Teams address is its password)."""
    try:
        return split_url(url)[1]
    except RefusedAddress:
        return "?"


@transaction.atomic
def create_webhook(*, project: Project, url, kind, events, active=True, user=None,
                   address: str = "") -> tuple[Webhook, str]:
    """A new webhook of the project, and its secret: shown to its creator once, never again."""
    kind = _checked_kind(kind)
    events = _checked_events(events)
    active = _checked_active(active)
    url = _checked_url(url)
    if Webhook.objects.filter(project=project).count() >= MAX_WEBHOOKS:
        raise InvalidInput(f"a project has at most {MAX_WEBHOOKS} webhooks: remove one first",
                           field=None)
    secret = secrets.token_hex(32)
    webhook = Webhook.objects.create(project=project, url=url, kind=kind, events=events,
                                     active=active, secret=secret, created_by=user)
    audit.record(action=AuditAction.WEBHOOK_CREATE, project=project, user=user,
                 subject=f"{kind} webhook {webhook.pk} to {_host(url)}", address=address,
                 details={"kind": kind, "events": events, "host": _host(url)})
    return webhook, secret


def update_webhook(*, webhook: Webhook, data: dict) -> Webhook:
    """Change a webhook's url, events or active flag; fields left out keep their value. Its
    kind cannot change (its secret and its log belong to it): add another webhook instead."""
    if "kind" in data and data["kind"] != webhook.kind:
        raise InvalidInput("a webhook's kind cannot change: add a webhook of the other kind "
                           "and remove this one", field="kind")
    unknown = sorted(set(data) - {"url", "events", "active", "kind"})
    if unknown:
        raise InvalidInput(f"{unknown[0]} cannot be changed; send url, events or active",
                           field=unknown[0])
    if "url" in data:
        webhook.url = _checked_url(data["url"])
    if "events" in data:
        webhook.events = _checked_events(data["events"])
    if "active" in data:
        webhook.active = _checked_active(data["active"])
    webhook.save()
    return webhook


@transaction.atomic
def delete_webhook(*, webhook: Webhook, user=None, address: str = "") -> None:
    """Remove a webhook and its delivery log; the audit log keeps that it existed."""
    audit.record(action=AuditAction.WEBHOOK_DELETE, project=webhook.project, user=user,
                 subject=f"{webhook.kind} webhook {webhook.pk} to {_host(webhook.url)}",
                 address=address, details={"kind": webhook.kind, "events": webhook.events,
                                           "host": _host(webhook.url)})
    webhook.delete()


# --- Events ---------------------------------------------------------------------------------

def _absolute(path: str) -> str:
    return settings.PUBLIC_BASE_URL + path


def _dashboard_url(project: Project) -> str:
    return _absolute(reverse("web:dashboard", args=[project.slug]))


def listening(*, project_id: int, event: str) -> list[Webhook]:
    """The project's active webhooks that listen to `event`."""
    return [w for w in Webhook.objects.filter(project_id=project_id, active=True)
            if event in w.events]


def _record(webhooks: list[Webhook], notice: Notice) -> list[int]:
    """One delivery per webhook, unless that webhook already has this event: the new ids."""
    created = []
    for webhook in webhooks:
        try:
            with transaction.atomic():
                delivery = WebhookDelivery.objects.create(
                    webhook=webhook, event=notice.event, key=notice.event_id,
                    body=message_body(webhook.kind, notice))
        except IntegrityError:
            continue  # told already (a task run twice, a dispatcher round)
        created.append(delivery.pk)
    return created


def _iso(moment: datetime | None) -> str:
    return (moment or timezone.now()).astimezone(UTC).isoformat()


def report_notice(report: Report) -> Notice:
    """A rendered check-in report as a notice: its verdict, its sentence, its links."""
    project = report.project
    snapshot = report.snapshot or {}
    label = report.get_verdict_display()
    return Notice(
        event=WebhookEvent.REPORT, event_id=f"report:{report.pk}",
        occurred_at=_iso(report.rendered_at), project_slug=project.slug,
        project_name=project.name,
        title=email_texts.report_subject(project=project.name, verdict_label=label),
        sentence=report.verdict_sentence, verdict=report.verdict or None,
        verdict_label=label if report.verdict else None,
        dashboard_url=_dashboard_url(project),
        pdf_url=_absolute(reverse("report-pdf", args=[project.slug, report.pk])),
        details={"report": {
            "id": report.pk, "kind": report.kind,
            "period": (snapshot.get("period") or {}).get("text"),
            "period_start": _iso(report.period_start), "period_end": _iso(report.period_end),
            "html": _absolute(reverse("report-html", args=[project.slug, report.pk]))}},
    )


def notify_report(*, report_id: int) -> list[int]:
    """Tell the webhooks listening to "report" that this check-in report went out, once.

    Previews (a report sent to chosen addresses) are not check-ins and tell nobody.
    """
    report = Report.objects.select_related("project").filter(pk=report_id).first()
    if report is None or not report.is_checkin or report.status == ReportStatus.PENDING:
        return []
    webhooks = listening(project_id=report.project_id, event=WebhookEvent.REPORT)
    if not webhooks:
        return []
    return _record(webhooks, report_notice(report))


def alert_notice(alert: Alert) -> Notice:
    """An alert (target met for the first time, a new best model) as a notice."""
    project = alert.project
    snapshot = alert.snapshot or {}
    met = alert.kind == AlertKind.TARGET_MET
    title = email_texts.alert_subject(project=project.name, target_met=met)
    best = snapshot.get("sentence") or ""
    if met:
        sentence = f"{project.name} has met its target for the first time. {best}".strip()
    else:
        sentence = " ".join(s for s in (snapshot.get("news"), best) if s) or title
    previous = snapshot.get("previous_run_id")
    return Notice(
        event=alert.kind, event_id=f"alert:{alert.pk}", occurred_at=_iso(alert.created_at),
        project_slug=project.slug, project_name=project.name, title=title, sentence=sentence,
        verdict="met" if met else None, verdict_label="Target met" if met else None,
        dashboard_url=_dashboard_url(project),
        details={
            "run": {"id": snapshot.get("run_id"), "name": snapshot.get("run_name"),
                    "experiment": snapshot.get("experiment")},
            "previous_run": {"id": previous, "name": snapshot.get("previous_run_name")}
            if previous else None,
            "judged_value": snapshot.get("judged_value"),
            "target_met": snapshot.get("met"),
        },
    )


PRODUCTION_KINDS = (AlertKind.BELOW_BAR, AlertKind.DRIFT)


def production_notice(alert: Alert) -> Notice:
    """A production alert (the live model below the bar, inputs drifted significantly) as a
    notice: what happened and the production sentence, the figures, the drift."""
    project = alert.project
    facts = alert.snapshot or {}
    below = alert.kind == AlertKind.BELOW_BAR
    drifted = [feature_words(f) for f in facts.get("drifted", [])]
    title = email_texts.production_alert_subject(
        project=project.name, below_bar=below, direction=facts.get("direction"),
        drifted=drifted)
    lead = (email_texts.below_bar_lead(direction=facts.get("direction")) if below
            else email_texts.DRIFT_LEAD)
    live = facts.get("live")
    drift = facts.get("drift")
    return Notice(
        event=alert.kind, event_id=f"alert:{alert.pk}", occurred_at=_iso(alert.created_at),
        project_slug=project.slug, project_name=project.name, title=title,
        sentence=f"{lead} {facts.get('sentence', '')}".strip(),
        dashboard_url=_dashboard_url(project), production_url=facts.get("production_url"),
        details={
            "deployment": facts.get("deployment"),
            "status": facts.get("status"), "retrain": facts.get("retrain"),
            "target": {"metric": facts.get("metric"), "direction": facts.get("direction"),
                       "threshold": facts.get("threshold")},
            "live": {k: live[k] for k in ("value", "window_start", "window_end", "labelled",
                                          "count")} if live else None,
            "test": {"value": facts.get("test_value")},
            "drift": {"window_start": drift["window_start"], "window_end": drift["window_end"],
                      "features": drift["features"]} if drift else None,
            "drifted": facts.get("drifted", []) if not below else [],
        },
    )


def notify_alerts(*, alerts: list[Alert]) -> list[int]:
    """Tell the webhooks listening to each alert's kind about it, once."""
    created: list[int] = []
    for alert in alerts:
        webhooks = listening(project_id=alert.project_id, event=alert.kind)
        if webhooks:
            notice = (production_notice(alert) if alert.kind in PRODUCTION_KINDS
                      else alert_notice(alert))
            created += _record(webhooks, notice)
    return created


def stalled_deliveries(*, now: datetime | None = None) -> list[int]:
    """Notifications whose task was lost or whose worker died: to queue again.

    Pending longer than a lease (never taken), retrying more than a lease past their time,
    or "sending" a lease after the attempt began (the worker died mid-post: posted again,
    as the receiver may not have it; the delivery id header lets a receiver see a repeat).
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.REPORT_LEASE_SECONDS)
    return list(WebhookDelivery.objects.filter(
        Q(status=WebhookOutcome.PENDING, created_at__lt=stale)
        | Q(status=WebhookOutcome.RETRYING, next_attempt_at__lt=stale)
        | Q(status=WebhookOutcome.SENDING, claimed_at__lt=stale),
    ).order_by("id").values_list("id", flat=True))
