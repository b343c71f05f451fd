"""Production alerts: an email (and the webhooks' notices) when the model live in production
falls below the agreed bar, and when an input's drift becomes significant; each once per
episode.

What is due comes from tracker.services.production.due_alerts, which reads and updates the
deployment's episodes under a row lock (the rules: tracker.production_rules.alerts_due).
Everything here runs inside one transaction with that lock held, so the episodes stored and
the alerts recorded commit together: a worker that dies in between leaves neither, and the
task, acks_late, evaluates again. Two workers evaluating at once take the lock in turn; the
second finds the episode open and records nothing.

Each alert also has a unique key, as reports.alerts' do: the deployment and the live window
that fell below the bar, or the deployment, the drift's window and the inputs that became
significant in it. A window posted again with other figures can reopen an episode on the
same window; the key then keeps it told once.
"""

import hashlib
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reports import emails as email_texts
from reports.alerts import address_emails, create_alert
from reports.models import Alert, AlertKind
from tracker.days import window_words
from tracker.models import Project
from tracker.numbers import finite_or_none
from tracker.production_rules import Alerts, feature_words
from tracker.selectors.production import ProductionAnswer
from tracker.services.production import due_alerts

KEY_LENGTH = 300  # Alert.key's max_length


def production_url(project: Project) -> str:
    """The absolute address of the project's Production page in the web UI."""
    return f"{settings.PUBLIC_BASE_URL}/p/{project.slug}/production/"


def check_production_alerts(*, project_id: int, today: date | None = None) -> list[Alert]:
    """Alert owners and recipients when the live model fell below the bar, or inputs drifted
    significantly, since the last evaluation; once per episode. Returns the alerts created;
    those with no `sent_with` have Delivery rows waiting, for reports.delivery.deliver_alert.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return []
    today = today or timezone.localdate()
    with transaction.atomic():
        answer, due = due_alerts(project=project, today=today)
        if due is None or not (due.below_bar or due.drifted):
            return []
        return _record(project=project, answer=answer, due=due, today=today)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _key(*parts: object) -> str:
    key = "|".join(str(part) for part in parts)
    if len(key) <= KEY_LENGTH:
        return key
    # Many long input names: the list's digest keeps the key unique and in its column.
    head = "|".join(str(part) for part in parts[:-1])
    return f"{head}|sha256:{hashlib.sha256(str(parts[-1]).encode()).hexdigest()}"


def _facts(answer: ProductionAnswer, due: Alerts, today: date) -> dict:
    """Every figure and sentence an alert tells, kept in its snapshot."""
    deployment, target = answer.deployment, answer.target
    quoted = answer.quoted
    drift = answer.drift
    return {
        "deployment": {"id": deployment.pk, "what": deployment.what,
                       "environment": deployment.environment,
                       "live_since": _iso(deployment.started_at)},
        "status": answer.status, "sentence": answer.sentence, "retrain": answer.retrain,
        "metric": target.metric, "direction": target.direction,
        "threshold": finite_or_none(target.threshold),
        "test_value": finite_or_none(answer.test_value),
        "live": {"value": finite_or_none(answer.window.value),
                 "window_start": _iso(quoted.window_start),
                 "window_end": _iso(quoted.window_end),
                 "when": window_words(quoted.window_start, quoted.window_end, today=today),
                 "labelled": quoted.labelled, "count": quoted.count} if quoted else None,
        "drift": {"window_start": _iso(drift.window_start), "window_end": _iso(drift.window_end),
                  "when": window_words(drift.window_start, drift.window_end, today=today),
                  "features": [f.as_dict() for f in drift.features]} if drift else None,
        "drifted": list(due.drifted),
        "production_url": production_url(answer.project),
    }


def _told(project: Project, answer: ProductionAnswer, facts: dict, *, below_bar: bool,
          drifted: list[str]) -> dict:
    """The subject and body of the one email telling these alerts."""
    target, live, drift = answer.target, facts["live"], facts["drift"]
    figures = email_texts.live_figures(
        metric=target.metric, definition=target.definition or None,
        direction=target.direction, threshold=target.threshold, judged_on=target.judged_on,
        value=live["value"], when=live["when"], labelled=live["labelled"],
        count=live["count"], cases=project.case_noun or "cases",
        test_value=facts["test_value"]) if live else []
    table = email_texts.drift_lines(
        features=[{**f, "feature": feature_words(f["feature"])} for f in drift["features"]],
        new=[feature_words(f) for f in drifted]) if drift else []
    return {
        "subject": email_texts.production_alert_subject(
            project=project.name, below_bar=below_bar, direction=target.direction,
            drifted=[feature_words(f) for f in drifted]),
        "body": email_texts.production_alert_body(
            below_bar=below_bar, drifted=bool(drifted), direction=target.direction,
            sentence=answer.sentence, figures=figures,
            drift_when=drift["when"] if drift else None, drift_table=table,
            production_url=facts["production_url"]),
    }


def _record(*, project: Project, answer: ProductionAnswer, due: Alerts,
            today: date) -> list[Alert]:
    """The alerts due, told in one email (below the bar leads), with a Delivery per
    recipient."""
    deployment = answer.deployment
    facts = _facts(answer, due, today)
    common = {"run": deployment.run, "deployment": deployment, "snapshot": facts}
    drifted = list(due.drifted)
    created: list[Alert] = []
    lead = None
    if due.below_bar:
        live = facts["live"]
        lead = create_alert(
            project=project, kind=AlertKind.BELOW_BAR,
            key=_key(deployment.pk, live["window_start"], live["window_end"]),
            **_told(project, answer, facts, below_bar=True, drifted=drifted), **common)
        if lead:
            created.append(lead)
    if drifted:
        drift = facts["drift"]
        alert = create_alert(
            project=project, kind=AlertKind.DRIFT,
            key=_key(deployment.pk, drift["window_start"], drift["window_end"],
                     ",".join(sorted(drifted))),
            sent_with=lead, **_told(project, answer, facts, below_bar=lead is not None,
                                    drifted=drifted), **common)
        if alert:
            created.append(alert)
    address_emails(project=project, alerts=created)
    return created
