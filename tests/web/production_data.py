"""Eight weeks in production for the demo project, built through the services: the best
model deployed, its weekly live F1 easing to just under the bar (one week with too few checked
tickets), weekly input profiles where the ticket length drifts while the channel and the
hour stay put, the predictions' classes, and one A/B test of first-contact resolution."""

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from tracker.selectors import winner as winner_selectors
from tracker.services import deployments as deployment_services
from tracker.services import impact as impact_services
from tracker.services import production as production_services

WEEK = timedelta(days=7)
WEEKS = 8
WEEKLY_F1 = [0.862, 0.859, 0.857, 0.860, 0.855, 0.853, 0.851, 0.847]
LABELLED = [312, 298, 64, 305, 321, 290, 308, 315]  # the third week had too few checked
LENGTH_EDGES = [0, 50, 100, 200, 400, 800, 2000]
LENGTH_REFERENCE = [1200, 2600, 3000, 1900, 1000, 300]
LENGTH_LAST_WEEK = [400, 1500, 2600, 2700, 2000, 800]  # longer tickets: significant drift
CHANNEL = {"email": 5200, "chat": 3100, "phone": 1200, "other": 500}
HOUR_EDGES = [0, 6, 9, 12, 15, 18, 24]
HOUR = [400, 1500, 3100, 2900, 1600, 500]
PREDICTIONS = {"billing": 3900, "technical": 3300, "account": 1900, "sales": 900}


def _live_length(week: int) -> list[int]:
    """The ticket length's counts in week `week`, moving linearly to LENGTH_LAST_WEEK."""
    share = week / (WEEKS - 1)
    return [round(a + (b - a) * share) for a, b in zip(LENGTH_REFERENCE, LENGTH_LAST_WEEK,
                                                       strict=True)]


def _profile(length: list[int], *, count: int = 10_000, predictions=None) -> dict:
    return {"count": count, "features": {
        "ticket length": {"kind": "numeric", "edges": LENGTH_EDGES, "counts": length},
        "channel": {"kind": "categorical", "counts": dict(CHANNEL)},
        "hour": {"kind": "numeric", "edges": HOUR_EDGES, "counts": list(HOUR)},
        "prediction": {"kind": "categorical", "counts": predictions or dict(PREDICTIONS)}}}


def last_monday() -> datetime:
    """Midnight UTC of this week's Monday: the end of the latest live window."""
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)


def seed_production(project, owner):
    """Deploy the demo project's best model eight weeks ago and record its weeks; returns
    the deployment."""
    project.case_noun = "tickets"
    project.save(update_fields=["case_noun"])
    winner = winner_selectors.standing(project=project).winner
    production_services.record_run_profile(run=winner, profile=_profile(LENGTH_REFERENCE))
    first = last_monday() - WEEKS * WEEK
    deployment = deployment_services.start_deployment(
        project=project, user=owner, environment="production", run_id=str(winner.id),
        started_at=first - timedelta(hours=15), note="agreed at the review")
    for week in range(WEEKS):
        start = first + week * WEEK
        deployment_services.record_live_result(
            deployment=deployment, window_start=start, window_end=start + WEEK,
            metrics={"f1": WEEKLY_F1[week]}, count=1240, labelled=LABELLED[week])
        predictions = dict(PREDICTIONS, technical=3300 + 60 * week, sales=900 - 30 * week)
        production_services.record_live_profile(
            deployment=deployment, window_start=start, window_end=start + WEEK,
            profile=_profile(_live_length(week), predictions=predictions))
    impact_services.record_impact(
        project=project, user=owner, kind="ab_test", metric="first-contact resolution",
        direction="maximize", control={"successes": 4402, "n": 6200},
        treatment={"successes": 4712, "n": 6200}, deployment_id=deployment.pk,
        started_at=first, ended_at=first + 2 * WEEK)
    return deployment
