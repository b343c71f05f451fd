"""Alerts: an email when the target is met for the first time, or the best model changes."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from reports import narrative, selectors
from reports.models import Alert, AlertKind, Delivery
from tracker.models import Project, Run
from tracker.numbers import finite_or_none
from tracker.selectors import standing
from tracker.winner_rules import usable


def _target_key(target: dict) -> str:
    return "|".join(str(target[k]) for k in ("metric", "direction", "threshold", "judged_on",
                                             "selected_on"))


def check_alerts(*, project_id: int, run_id: str | None = None,
                 now: datetime | None = None) -> list[Alert]:
    """Alert owners and recipients when the target is met for the first time, or when the
    best model changes because of run `run_id`; each event once. Without `run_id` (the
    target or the guardrails changed, no run did) only a target met for the first time is
    news: a best model that changed because the rules did is told by the next report, with
    the change of rules beside it.

    "First time" and "previous best" come from replaying the winner rules over the runs
    in the order they finished (selectors.progress_history), not from earlier alerts, so a
    project that had a best model before alerts existed is told the right story. Each
    event has a unique key, taken in the database: two workers checking at once send one.

    Returns the alerts created; those with no `sent_with` have Delivery rows waiting, for
    `reports.delivery.deliver_alert`.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return []
    current = standing(project=project)
    if current.target is None or current.winner is None:
        return []
    now = now or timezone.now()
    target = current.target.as_dict()
    facts = narrative.TargetFacts.from_dict(target)
    winner = current.winner
    history = selectors.progress_history(project=project, target=current.target, until=now)
    in_step = bool(history) and history[-1].run_id == str(winner.pk)
    previous = history[-2] if in_step and len(history) > 1 else None
    previous_id = previous.run_id if previous else None
    winner_key = f"{previous_id or '-'}->{winner.pk}"
    new_winner = (in_step and run_id is not None and run_id in {str(winner.pk), previous_id}
                  and not Alert.objects.filter(project=project, kind=AlertKind.WINNER_CHANGED,
                                               key=winner_key).exists())
    met_key = _target_key(target)
    met_before = any(
        usable(p.judged_value) and (p.judged_value >= facts.threshold
                                    if facts.direction == "maximize"
                                    else p.judged_value <= facts.threshold)
        for p in history[:-1]) if in_step else False
    first_met = (bool(current.met) and not met_before and not Alert.objects.filter(
        project=project, kind=AlertKind.TARGET_MET, key=met_key).exists())
    if not new_winner and not first_met:
        return []
    winner_words = (narrative.new_winner_sentence(
        run=winner.name, experiment=winner.experiment.name,
        previous=previous.run_name if previous else None) if new_winner else None)
    snapshot = {"run_id": str(winner.pk), "run_name": winner.name,
                "previous_run_id": previous_id, "target": target,
                "judged_value": finite_or_none(current.judged_value), "met": current.met}
    body = narrative.alert_body(project=project.name, target_met=first_met,
                                new_winner=winner_words, winner_sentence=current.sentence,
                                target_sentence=narrative.target_sentence(facts))
    subject = narrative.alert_subject(project=project.name, target_met=first_met)
    if previous_id and not Run.objects.filter(pk=previous_id).exists():
        previous_id = None
    created: list[Alert] = []
    with transaction.atomic():
        lead = None
        if first_met:
            lead = _create_alert(project=project, kind=AlertKind.TARGET_MET, key=met_key,
                                 winner=winner, subject=subject, body=body, snapshot=snapshot,
                                 previous_id=previous_id)
            if lead:
                created.append(lead)
        if new_winner:
            told = _create_alert(project=project, kind=AlertKind.WINNER_CHANGED,
                                 key=winner_key, winner=winner, subject=subject, body=body,
                                 snapshot=snapshot, previous_id=previous_id, sent_with=lead)
            if told:
                created.append(told)
        emails = selectors.alert_recipients(project=project)
        for alert in created:
            if alert.sent_with_id is None:
                Delivery.objects.bulk_create(Delivery(alert=alert, email=e) for e in emails)
    return created


def _create_alert(*, project: Project, kind: str, key: str, winner, subject: str, body: str,
                  snapshot: dict, previous_id: str | None = None,
                  sent_with: Alert | None = None) -> Alert | None:
    try:
        with transaction.atomic():
            return Alert.objects.create(
                project=project, kind=kind, key=key, run=winner,
                previous_run_id=previous_id, subject=subject, body=body,
                snapshot=snapshot, sent_with=sent_with)
    except IntegrityError:
        return None  # another worker recorded the same event first
