"""Three projects whose check-in page 1 docs/reports.md shows and a test pins, word for word.

- `first_checkin`: every run came in on one day (a baseline at 60, the best model at 84 out
  of 100 against a bar of 85, answering in 41 ms against a 50 ms limit): too early for a pace.
- `six_weeks`: the sample project (reports/sample.py), six weeks of steady progress.
- `met_then_new_winner`: the target was met, then a new best model took over this week.
- `in_production`: the best model has been live for eight weeks; its live accuracy held
  above the bar, then slipped under it; the length of the tickets drifted from the training
  data; an A/B test against the old rules ended this week.

Each builder takes the moment of its check-in and returns the project and the period its
report covers, so the sentences (and their dates) are the same whenever they are rendered.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reports.checkins import save_checkin
from reports.sample import (
    add_run,
    alerts_muted,
    archive_weekly_checkins,
    build_sample_project,
    sample_user,
)
from tracker.models import Experiment, Project, Run, TargetChange
from tracker.services import deployments as deployment_services
from tracker.services import impact as impact_services
from tracker.services import production as production_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services
from tracker.services import targets as target_services

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class SampleCheckin:
    project: Project
    start: datetime
    end: datetime
    time_zone: str = "Europe/Paris"


def _experiment_ideas(project: Project, hypotheses: dict[str, str],
                      created: dict[str, datetime]) -> None:
    for experiment in Experiment.objects.filter(project=project):
        Experiment.objects.filter(pk=experiment.pk).update(
            hypothesis=hypotheses.get(experiment.name, ""),
            created_at=created.get(experiment.name, experiment.created_at))


def _weekly_checkin(project: Project, now: datetime, recipients: list[str]):
    return save_checkin(project=project, now=now, data={
        "cadence": "weekly", "weekday": "monday", "local_time": "09:00",
        "time_zone": "Europe/Paris", "recipients": recipients})


def _weekly_history(project: Project, ideas: dict[str, str], now: datetime, recipient: str,
                    *, weeks: int) -> SampleCheckin:
    """Each experiment's idea, dated by its first run; a weekly check-in with `weeks` earlier
    ones archived; the week before `now` as the period."""
    _experiment_ideas(project, ideas, {
        name: Run.objects.filter(project=project, experiment__name=name)
        .order_by("started_at").first().started_at for name in ideas})
    checkin = _weekly_checkin(project, now, [recipient])
    archive_weekly_checkins(project, checkin, now, weeks=weeks)
    return SampleCheckin(project, now - timedelta(days=7), now)


FIRST_CHECKIN_IDEAS = {
    "current routing rules": "Today's keyword rules: the status quo to beat.",
    "tf-idf + logistic regression": "Counting words is enough to tell the request types apart.",
    "distilled transformer": "A small pretrained language model understands phrasing that "
                             "word counts miss.",
    "large transformer": "A bigger language model is more accurate, if it stays fast enough.",
    "distilled transformer + last quarter's emails": "Training on last quarter's 4,000 "
                                                     "labelled emails as well closes the last "
                                                     "point.",
}


def _accuracy_project(user, *, slug: str, name: str, description: str, agreed_by: str,
                      agreed_on: datetime) -> Project:
    """A project whose target is an accuracy of at least 85 on test, answering within 50 ms."""
    return project_services.create_project(
        user=user, slug=slug, name=name, description=description,
        target={"metric": "accuracy", "direction": "maximize", "threshold": 0.85,
                "agreed_by": agreed_by, "agreed_on": agreed_on.date().isoformat()},
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}])


def first_checkin(now: datetime = datetime(2026, 12, 7, 17, 0, tzinfo=PARIS)) -> SampleCheckin:
    """A first check-in whose runs all came in on its last day; the target was recorded by
    an account without a full name."""
    Project.objects.filter(slug="email-triage").delete()
    account = sample_user("bar-reports", "bar-reports@example.com")
    day = now.replace(hour=0, minute=0)
    with alerts_muted():
        project = _accuracy_project(
            account, slug="email-triage", name="Customer email triage",
            description="Send each customer email to the team that can answer it.",
            agreed_by="Head of Customer Support", agreed_on=day)
        TargetChange.objects.filter(project=project).update(changed_at=day + timedelta(hours=8))
        runs = [  # hour it ended, experiment, run, validation by epoch, test, ms, baseline
            (9.5, "current routing rules", "rules-2026-11", [0.61], 0.60, 1, True),
            (11, "tf-idf + logistic regression", "tfidf-lr", [0.74, 0.77], 0.76, 4, False),
            (13.5, "distilled transformer", "distilbert-base-ft", [0.80, 0.84, 0.855], 0.84,
             41, False),
            (15, "large transformer", "roberta-large-ft", [0.83, 0.87], 0.86, 130, False),
        ]
        for hour, experiment, name, validation, test, latency, baseline in runs:
            add_run(project, account, experiment=experiment, name=name,
                    ended=day + timedelta(hours=hour), validation=validation, test=test,
                    latency=latency, status="finished", baseline=baseline, slices={},
                    metric="accuracy")
        run_services.create_run(project=project, user=account, name="distilbert-more-data",
                                experiment="distilled transformer + last quarter's emails",
                                started_at=day + timedelta(hours=16))
    _experiment_ideas(project, FIRST_CHECKIN_IDEAS, {
        name: day + timedelta(hours=7 + i) for i, name in enumerate(FIRST_CHECKIN_IDEAS)})
    _weekly_checkin(project, now, ["head-of-support@example.com"])
    return SampleCheckin(project, now - timedelta(days=7), now)


def six_weeks(now: datetime = datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)) -> SampleCheckin:
    """The sample project (reports/sample.py): five weekly check-ins of steady progress."""
    project = build_sample_project(slug="support-tickets", now=now)
    return SampleCheckin(project, now - timedelta(days=7), now)


MET_IDEAS = {
    "current rules": "Today's hand-written fraud rules: the status quo to beat.",
    "gradient boosting": "Trees over the payment's amount, place and time catch most fraud.",
    "gradient boosting + merchant history": "A merchant's past disputes say a lot about the "
                                            "next payment.",
    "linked cards": "Cards that share a device or an address give fraud away.",
    "cost-weighted training": "Weighting costly frauds more keeps the model sharp where the "
                              "money is.",
}


def met_then_new_winner(now: datetime = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS),
                        ) -> SampleCheckin:
    """The target was met two check-ins ago; this week the bar went up and a new best model
    (better on validation, a little worse on test) took over. No guardrails were agreed."""
    Project.objects.filter(slug="fraud-screening").delete()
    priya = sample_user("priya", "priya@example.com", "Priya", "Nair")
    start = now - timedelta(days=35)
    target = {"metric": "recall", "direction": "maximize", "threshold": 0.88,
              "agreed_by": "Tom Becker, Finance Director",
              "agreed_on": start.date().isoformat()}
    with alerts_muted():
        project = project_services.create_project(
            user=priya, slug="fraud-screening", name="Card fraud screening",
            description="Hold suspicious card payments for review.", target=target)
        TargetChange.objects.filter(project=project).update(changed_at=start)
        runs = [  # days ago, experiment, run, validation, test, status, baseline
            (30, "current rules", "rules-v7", [0.70], 0.72, "finished", True),
            (23, "gradient boosting", "gbm-500", [0.80, 0.84], 0.86, "finished", False),
            (12, "gradient boosting + merchant history", "gbm-merchant", [0.86, 0.90], 0.91,
             "finished", False),
            (3, "linked cards", "gbm-linked-cards", [0.88, 0.915], 0.905, "finished", False),
            (1, "cost-weighted training", "gbm-cost-weighted", [0.85], None, "failed", False),
        ]
        for days_ago, experiment, name, validation, test, status, baseline in runs:
            add_run(project, priya, experiment=experiment, name=name,
                    ended=now - timedelta(days=days_ago, hours=2), validation=validation,
                    test=test, latency=None, status=status, baseline=baseline, slices={},
                    metric="recall")
        raised_on = now - timedelta(days=5)
        target_services.set_target(project=project, user=priya, target={
            **target, "threshold": 0.90, "agreed_on": raised_on.date().isoformat()})
        TargetChange.objects.filter(project=project, changed_at__gt=start).update(
            changed_at=raised_on)
    return _weekly_history(project, MET_IDEAS, now, "tom@example.com", weeks=4)


# Each week: live accuracy, checked tickets (week 3 had too few to count).
LIVE_WEEKS = [(0.88, 320), (0.876, 305), (0.87, 80), (0.872, 298), (0.866, 310), (0.861, 290),
              (0.846, 315), (0.834, 302)]
EDGES = [0, 50, 120, 300, 2000]


def _profile(week: int | None) -> dict:
    """The inputs' profile: the training data (`week` None), or a live week in which tickets
    grow longer week after week; the channel stays as it was; the answers shift a little."""
    shift = 0 if week is None else week + 2
    length = [250 - 18 * shift, 250 - 7 * shift, 250 + 5 * shift, 250 + 20 * shift]
    return {"count": 1000, "features": {
        "ticket_length": {"kind": "numeric", "edges": EDGES, "counts": length},
        "channel": {"kind": "categorical",
                    "counts": {"email": 600 - shift, "chat": 300 + shift, "phone": 100}},
        "language": {"kind": "categorical", "counts": {"en": 700, "fr": 200, "de": 100}},
        "prediction": {"kind": "categorical",
                       "counts": {"billing": 400 - 6 * shift, "technical": 350 + 8 * shift,
                                  "account": 250 - 2 * shift}}}}


PRODUCTION_IDEAS = {
    "current routing rules": "Today's keyword rules: the status quo to beat.",
    "tf-idf + logistic regression": "Counting words is enough to tell the request types apart.",
    "distilled transformer": "A small pretrained language model understands phrasing that "
                             "word counts miss.",
    "distilled transformer + recent tickets": "Training on the last two months of tickets "
                                              "brings it back above the bar.",
}


def in_production(now: datetime = datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)) -> SampleCheckin:
    """The weekly check-in of a project whose best model has been live for eight weeks."""
    Project.objects.filter(slug="ticket-routing").delete()
    owner = sample_user("olivia", "olivia@example.com", "Olivia", "Chen")
    start = now - timedelta(days=100)
    live_from = (now - timedelta(weeks=8)).replace(hour=0)
    with alerts_muted():
        project = _accuracy_project(
            owner, slug="ticket-routing", name="Support ticket routing",
            description="Route incoming support tickets to the right team automatically.",
            agreed_by="Dana Reyes (Head of Support)", agreed_on=start)
        Project.objects.filter(pk=project.pk).update(case_noun="tickets", created_at=start)
        project.refresh_from_db()
        TargetChange.objects.filter(project=project).update(changed_at=start)
        runs = [  # days ago, experiment, run, validation by epoch, test, ms, baseline
            (95, "current routing rules", "rules-2026-08", [0.71], 0.70, 1, True),
            (85, "tf-idf + logistic regression", "tfidf-lr", [0.78, 0.80], 0.79, 4, False),
            (70, "distilled transformer", "distilbert-ft", [0.84, 0.875], 0.87, 38, False),
        ]
        found = {}
        for days_ago, experiment, name, validation, test, latency, baseline in runs:
            found[name] = add_run(project, owner, experiment=experiment, name=name,
                                  ended=now - timedelta(days=days_ago), validation=validation,
                                  test=test, latency=latency, status="finished",
                                  baseline=baseline, slices={}, metric="accuracy")
        run_services.create_run(project=project, user=owner, name="distilbert-recent",
                                experiment="distilled transformer + recent tickets",
                                started_at=now - timedelta(days=2))
        winner = found["distilbert-ft"]
        production_services.record_run_profile(run=winner, profile=_profile(None))
        deployment = deployment_services.start_deployment(
            project=project, user=owner, environment="production", run_id=str(winner.pk),
            started_at=live_from)
        for week, (accuracy, labelled) in enumerate(LIVE_WEEKS):
            window = (live_from + timedelta(weeks=week), live_from + timedelta(weeks=week + 1))
            deployment_services.record_live_result(
                deployment=deployment, window_start=window[0], window_end=window[1],
                metrics={"accuracy": accuracy}, count=1200 + 10 * week, labelled=labelled)
            production_services.record_live_profile(
                deployment=deployment, window_start=window[0], window_end=window[1],
                profile=_profile(week))
        impact_services.record_impact(
            project=project, user=owner, kind="ab_test", metric="first-contact resolution",
            direction="maximize", deployment_id=str(deployment.pk),
            control={"successes": 4402, "n": 6200}, treatment={"successes": 4712, "n": 6200},
            started_at=now - timedelta(days=16), ended_at=now - timedelta(days=2))
    return _weekly_history(project, PRODUCTION_IDEAS, now, "dana@example.com", weeks=8)


FIRST_PAGES = {"first-check-in": first_checkin, "six-weeks": six_weeks,
               "met-then-new-winner": met_then_new_winner, "in-production": in_production}
