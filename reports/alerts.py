"""Alerts: an email when the target is met for the first time, or the best model changes.

"First time" and "previous best" come from replaying the winner rules over the runs in the
order they finished (selectors.progress_history), not from earlier alerts, so a project that
had a best model before alerts existed is told the right story. Each event has a unique key,
taken in the database: two workers checking at once send one.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from reports import emails as email_texts
from reports import narrative, selectors
from reports.models import Alert, AlertKind, Delivery
from reports.selectors import ProgressPoint
from tracker.models import Project, Run
from tracker.numbers import finite_or_none
from tracker.selectors.winner import Standing, standing
from tracker.winner_rules import met


@dataclass(frozen=True)
class _News:
    """What a check found worth telling, with the key that makes each event happen once."""

    first_met: bool
    met_key: str
    new_winner: bool
    winner_key: str
    previous: ProgressPoint | None  # the best model before the current one


def check_alerts(*, project_id: int, run_id: str | None = None,
                 now: datetime | None = None) -> list[Alert]:
    """Alert owners and recipients when the target is met for the first time, or when the
    best model changes because of run `run_id`; each event once. Without `run_id` (the
    target or the guardrails changed, no run did) only a target met for the first time is
    news: a best model that changed because the rules did is told by the next report, with
    the change of rules beside it.

    Returns the alerts created; those with no `sent_with` have Delivery rows waiting, for
    `reports.delivery.deliver_alert`.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return []
    current = standing(project=project)
    if current.target is None or current.winner is None:
        return []
    news = _find_news(project=project, current=current, run_id=run_id,
                      now=now or timezone.now())
    if not news.new_winner and not news.first_met:
        return []
    return _record(project=project, current=current, news=news)


def _target_key(target: dict) -> str:
    return "|".join(str(target[k]) for k in ("metric", "direction", "threshold", "judged_on",
                                             "selected_on"))


def _find_news(*, project: Project, current: Standing, run_id: str | None,
               now: datetime) -> _News:
    target = current.target
    winner = current.winner
    history = selectors.progress_history(project=project, target=target, until=now)
    in_step = bool(history) and history[-1].run_id == str(winner.pk)
    previous = history[-2] if in_step and len(history) > 1 else None
    previous_id = previous.run_id if previous else None
    winner_key = f"{previous_id or '-'}->{winner.pk}"
    new_winner = (in_step and run_id is not None and run_id in {str(winner.pk), previous_id}
                  and not Alert.objects.filter(project=project, kind=AlertKind.WINNER_CHANGED,
                                               key=winner_key).exists())
    met_key = _target_key(target.as_dict())
    met_before = in_step and any(
        met(p.judged_value, threshold=target.threshold, direction=target.direction)
        for p in history[:-1])
    first_met = (bool(current.met) and not met_before and not Alert.objects.filter(
        project=project, kind=AlertKind.TARGET_MET, key=met_key).exists())
    return _News(first_met=first_met, met_key=met_key, new_winner=new_winner,
                 winner_key=winner_key, previous=previous)


def _record(*, project: Project, current: Standing, news: _News) -> list[Alert]:
    """The alerts of `news`, told in one email, with a Delivery per recipient."""
    winner, previous = current.winner, news.previous
    target = current.target.as_dict()
    winner_words = (email_texts.new_winner_sentence(
        run=winner.name, experiment=winner.experiment.name,
        previous=previous.run_name if previous else None) if news.new_winner else None)
    previous_id = previous.run_id if previous else None
    told = {
        "subject": email_texts.alert_subject(project=project.name, target_met=news.first_met),
        "body": email_texts.alert_body(
            project=project.name, target_met=news.first_met, new_winner=winner_words,
            winner_sentence=current.sentence,
            target_sentence=narrative.target_sentence(narrative.TargetFacts.from_dict(target))),
        "snapshot": {"run_id": str(winner.pk), "run_name": winner.name,
                     "experiment": winner.experiment.name,
                     "previous_run_id": previous_id,
                     "previous_run_name": previous.run_name if previous else None,
                     "sentence": current.sentence, "news": winner_words, "target": target,
                     "judged_value": finite_or_none(current.judged_value),
                     "met": current.met},
        "run": winner,
        # The snapshot keeps the id; the link goes if that run has been deleted since.
        "previous_run_id": (previous_id if previous_id
                            and Run.objects.filter(pk=previous_id).exists() else None),
    }
    created: list[Alert] = []
    with transaction.atomic():
        lead = None
        if news.first_met:
            lead = create_alert(project=project, kind=AlertKind.TARGET_MET,
                                 key=news.met_key, **told)
            if lead:
                created.append(lead)
        if news.new_winner:
            alert = create_alert(project=project, kind=AlertKind.WINNER_CHANGED,
                                  key=news.winner_key, sent_with=lead, **told)
            if alert:
                created.append(alert)
        address_emails(project=project, alerts=created)
    return created


def create_alert(*, project: Project, kind: str, key: str, **fields) -> Alert | None:
    """The alert of this event, or None when it has been recorded already (its key)."""
    try:
        with transaction.atomic():
            return Alert.objects.create(project=project, kind=kind, key=key, **fields)
    except IntegrityError:
        return None  # another worker recorded the same event first


def address_emails(*, project: Project, alerts: list[Alert]) -> None:
    """A Delivery per recipient for each alert with an email of its own (not told inside
    another one's). Email goes to projects with a check-in switched on; webhooks listen on
    their own."""
    emails = (selectors.alert_recipients(project=project)
              if selectors.emails_alerts(project_id=project.pk) else [])
    for alert in alerts:
        if alert.sent_with_id is None:
            Delivery.objects.bulk_create(Delivery(alert=alert, email=e) for e in emails)
