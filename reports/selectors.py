"""Reads for check-in reports: progress over time, a period's activity, recipients.

The winner rules themselves live in tracker.winner_rules; the history here replays them over
the runs in the order they finished, so the chart's "best so far" is the winner the
project would have had at each moment, under today's target and guardrails, with the values
as they are stored now.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from reports.models import (
    CheckIn,
    Delivery,
    Report,
    ReportKind,
    ReportStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)
from tracker import hot_sql
from tracker.models import (
    Experiment,
    Membership,
    MetricSummary,
    Project,
    RevealedTestResults,
    Role,
    Run,
    RunStatus,
    Target,
    TargetChange,
)
from tracker.selectors.winner import BestSoFar, best_so_far, guardrail_rules
from tracker.winner_rules import Candidate, guardrail_failures, usable


@dataclass(frozen=True)
class ProgressPoint:
    """The moment a run became the best model so far."""

    at: datetime
    run_id: str
    run_name: str
    selection_value: float  # best so far on the selection split
    judged_value: float | None  # that run's value on the judged split; None if not evaluated
    baseline: bool = False  # the run is a baseline: the status quo, not a state of the model


@dataclass(frozen=True)
class RunResult:
    """A finished run of the period, on the selection split."""

    run_id: str
    name: str
    experiment: str
    ended_at: datetime
    value: float | None
    baseline: bool
    passes_guardrails: bool


@dataclass
class ExperimentSummary:
    """An experiment worked on during the period."""

    name: str
    hypothesis: str
    finished: int = 0
    failed: int = 0  # failed or killed
    best_run: str | None = None
    best_value: float | None = None
    # The guardrails the best run fails, as dicts of metric, split, op, value, actual.
    best_fails: list[dict] = field(default_factory=list)


@dataclass
class PeriodActivity:
    """What happened in a period: runs that ended, by status, and the experiments worked on."""

    finished: int = 0
    failed: int = 0
    killed: int = 0
    runs: list[RunResult] = field(default_factory=list)
    experiments: list[ExperimentSummary] = field(default_factory=list)


def _values(runs, wanted: set[tuple[str, str]]) -> dict:
    """(run_id, key, split) -> value at the run's best step (NaN for a logged NaN)."""
    if not wanted:
        return {}
    rows = MetricSummary.objects.filter(
        run__in=runs, key__in={k for k, _ in wanted}, split__in={s for _, s in wanted},
    ).values_list("run_id", "key", "split", "best_value")
    return {(run_id, key, split): (math.nan if value is None else value)
            for run_id, key, split, value in rows if (key, split) in wanted}


def _better(a: float, b: float, direction: str) -> bool:
    return a > b if direction == "maximize" else a < b


def progress_history(*, project: Project, target: Target, until: datetime,
                     progress: BestSoFar | None = None) -> list[ProgressPoint]:
    """Each moment the best model changed, up to `until`, oldest first.

    The winner rules replayed in finishing order, as the dashboard's best-so-far line
    replays them (tracker.selectors.winner.best_so_far: guardrails checked in the database; a tie
    goes to the run that finished first). The judged value is read only to be quoted, for
    the runs that became the best model, never to choose. `progress`: best_so_far's answer
    (without `until`) when the caller has it; the replay up to `until` is its beginning.
    """
    if progress is None:
        progress = best_so_far(project=project, keep=0, until=until)
    improvements = [p for p in progress.improvements if p.ended_at <= until]
    ids = [p.run_id for p in improvements]
    judged = _values(ids, {(target.metric, target.judged_on)})
    return [ProgressPoint(at=p.ended_at, run_id=str(p.run_id),
                          run_name=progress.names.get(p.run_id, ""), selection_value=p.value,
                          judged_value=judged.get((p.run_id, target.metric, target.judged_on)),
                          baseline=p.run_id in progress.baselines)
            for p in improvements]


def best_as_of(history: list[ProgressPoint], moment: datetime) -> ProgressPoint | None:
    """The best model at `moment` (the last change at or before it)."""
    found = None
    for point in history:
        if point.at <= moment:
            found = point
    return found


def newest_idea(*, project: Project, until: datetime) -> str:
    """The hypothesis of the newest experiment created by `until` ("" when it has none),
    leaving out experiments that hold a baseline run: the status quo is not a next step."""
    newest = (Experiment.objects.live().filter(project=project, created_at__lte=until)
              .exclude(runs__baseline=True).order_by("-created_at", "-id").first())
    return newest.hypothesis if newest else ""


def period_activity(*, project: Project, target: Target | None, start: datetime,
                    end: datetime) -> PeriodActivity:
    """Runs that ended in (start, end], and the experiments they belong to."""
    ended = (Run.objects.live().filter(project=project, ended_at__gt=start, ended_at__lte=end)
             .select_related("experiment").order_by("ended_at", "id"))
    activity = PeriodActivity()
    rules = guardrail_rules(project=project)
    runs = list(ended)
    values = {}
    if target is not None:
        wanted = {(target.metric, target.selected_on)} | {(r.metric, r.split) for r in rules}
        values = _values([r.id for r in runs], wanted)
    experiments: dict[int, ExperimentSummary] = {}
    for run in runs:
        summary = experiments.setdefault(run.experiment_id, ExperimentSummary(
            name=run.experiment.name, hypothesis=run.experiment.hypothesis))
        if run.status == RunStatus.FINISHED:
            activity.finished += 1
            summary.finished += 1
        elif run.status == RunStatus.FAILED:
            activity.failed += 1
            summary.failed += 1
        elif run.status == RunStatus.KILLED:
            activity.killed += 1
            summary.failed += 1
        if run.status != RunStatus.FINISHED or target is None:
            continue
        value = values.get((run.id, target.metric, target.selected_on))
        candidate = Candidate(run.id, run.name, run.ended_at, value, {
            (r.metric, r.split): values.get((run.id, r.metric, r.split)) for r in rules})
        activity.runs.append(RunResult(
            run_id=str(run.id), name=run.name, experiment=run.experiment.name,
            ended_at=run.ended_at, value=value if usable(value) else None,
            baseline=run.baseline, passes_guardrails=not guardrail_failures(candidate, rules),
        ))
        if usable(value) and (summary.best_value is None
                              or _better(value, summary.best_value, target.direction)):
            summary.best_value, summary.best_run = value, run.name
            summary.best_fails = [
                {"metric": r.metric, "split": r.split, "op": r.op, "value": r.value,
                 "actual": candidate.guardrail_values.get((r.metric, r.split))}
                for r in rules if guardrail_failures(candidate, [r])]
    # Experiments created in the period with no run that ended yet were still tried.
    fresh = (Experiment.objects.live().filter(project=project, created_at__gt=start,
                                              created_at__lte=end)
             .exclude(id__in=experiments.keys()))
    for experiment in fresh:
        experiments[experiment.id] = ExperimentSummary(name=experiment.name,
                                                       hypothesis=experiment.hypothesis)
    activity.experiments = list(experiments.values())
    return activity


def runs_finished(*, project: Project, start: datetime, end: datetime) -> int:
    """How many runs finished in (start, end]: `period_activity(...).finished`, counted alone."""
    return Run.objects.live().filter(project=project, status=RunStatus.FINISHED,
                                     ended_at__gt=start, ended_at__lte=end).count()


def judged_slices(*, run: Run, target: Target) -> list[tuple[str, float]]:
    """The run's target metric on each slice of the judged split ("test/long_texts")."""
    rows = (MetricSummary.objects.filter(run=run, key=target.metric,
                                         split__startswith=f"{target.judged_on}/")
            .order_by("split").values_list("split", "best_value"))
    return [(split, value) for split, value in rows if value is not None]


def target_changes(*, project: Project, start: datetime, end: datetime) -> list[TargetChange]:
    """Changes of the target or guardrails recorded in (start, end], oldest first."""
    return list(TargetChange.objects.filter(project=project, changed_at__gt=start,
                                            changed_at__lte=end)
                .select_related("changed_by").order_by("changed_at", "id"))


def threshold_history(*, project: Project, target: Target,
                      until: datetime) -> list[tuple[datetime, float]]:
    """(since when, threshold) for the current target's metric, oldest first, up to `until`.

    Only changes that kept the metric, direction and judged split count: a bar moved from
    80 to 85 is the same target, raised; a different metric is a different chart.
    """
    same = (target.metric, target.direction, target.judged_on)
    steps: list[tuple[datetime, float]] = []
    for change in TargetChange.objects.filter(project=project, what="target",
                                              changed_at__lte=until).order_by("changed_at",
                                                                              "id"):
        new = change.new or {}
        if (new.get("metric"), new.get("direction"), new.get("judged_on")) != same:
            steps = []  # an earlier, different target: start again
            continue
        if not steps or steps[-1][1] != new.get("threshold"):
            steps.append((change.changed_at, new["threshold"]))
    return steps


def test_reveals(*, project: Project, start: datetime, end: datetime) -> tuple[int, int]:
    """(looks, distinct runs): how often test results of non-winning runs were shown."""
    rows = RevealedTestResults.objects.filter(project=project, revealed_at__gt=start,
                                              revealed_at__lte=end).values_list("run_ids",
                                                                                flat=True)
    runs: set[str] = set()
    looks = 0
    for run_ids in rows:
        looks += 1
        runs.update(str(r) for r in run_ids or [])
    return looks, len(runs)


def previous_checkin(*, project: Project, before: datetime,
                     exclude_id: int | None = None) -> Report | None:
    """The last check-in report (scheduled or "send now") whose period ended by `before`."""
    reports = Report.objects.filter(project=project, period_end__lte=before,
                                    kind__in=[ReportKind.SCHEDULED, ReportKind.MANUAL])
    if exclude_id is not None:
        reports = reports.exclude(id=exclude_id)
    return reports.order_by("-period_end", "-id").first()


def checkin_dates(*, project: Project, until: datetime) -> list[datetime]:
    """When earlier check-ins happened (the end of their periods), for the progress chart."""
    return list(Report.objects.filter(project=project, period_end__lte=until,
                                      kind__in=[ReportKind.SCHEDULED, ReportKind.MANUAL])
                .order_by("period_end").values_list("period_end", flat=True))


def resolve_recipients(*, checkin: CheckIn) -> tuple[list[str], list[str]]:
    """(email addresses, problems) for a check-in's recipients.

    Entries with an "@" are addresses; others are usernames of project members, whose
    address is read now so a changed address is followed. A member who left, or who has
    no address, is a problem (shown in the admin and the command's output), not an error.
    """
    emails: list[str] = []
    problems: list[str] = []
    usernames = [r for r in checkin.recipients if "@" not in r]
    members = dict(Membership.objects.filter(project_id=checkin.project_id,
                                             user__username__in=usernames)
                   .values_list("user__username", "user__email"))
    for entry in checkin.recipients:
        if "@" in entry:
            emails.append(entry.strip())
        elif entry not in members:
            problems.append(f"{entry} is no longer a member of the project")
        elif not members[entry]:
            problems.append(f"{entry} has no email address")
        else:
            emails.append(members[entry])
    return _unique(emails), problems


def alert_recipients(*, project: Project) -> list[str]:
    """Owners with an email address, and the check-in's recipients."""
    owners = list(Membership.objects.filter(project=project, role=Role.OWNER)
                  .exclude(Q(user__email="") | Q(user__email__isnull=True))
                  .order_by("id").values_list("user__email", flat=True))
    checkin = CheckIn.objects.filter(project=project).first()
    others = resolve_recipients(checkin=checkin)[0] if checkin else []
    return _unique(owners + others)


def _unique(emails: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for email in emails:
        if email.lower() not in seen:
            seen.add(email.lower())
            out.append(email)
    return out


def latest_reports(*, project: Project, limit: int) -> list[Report]:
    """The project's last `limit` reports, newest first."""
    return list(Report.objects.filter(project=project).order_by("-id")[:limit])


def open_reports():
    """Reports whose rendering or emails are not finished."""
    return Report.objects.filter(status__in=[ReportStatus.PENDING, ReportStatus.RENDERED])


def delivery_counts() -> dict[tuple[str, str], int]:
    """How many emails there are in each state, by what they carry ("report" or "alert"),
    over every report and alert kept (a purged project's go with it). One query."""
    rows = (Delivery.objects.order_by().values("status")
            .annotate(report_emails=Count("id", filter=Q(report__isnull=False)),
                      alert_emails=Count("id", filter=Q(alert__isnull=False))))
    return {(kind, row["status"]): row[f"{kind}_emails"]
            for row in rows for kind in ("report", "alert")}


def webhook_delivery_counts() -> dict[tuple[str, str], int]:
    """How many webhook notifications there are in each state, by event. One query."""
    rows = (WebhookDelivery.objects.order_by().values("event", "status")
            .annotate(notifications=Count("id")))
    return {(row["event"], row["status"]): row["notifications"] for row in rows}


def emails_alerts(*, project_id: int) -> bool:
    """Whether the project's alerts are emailed: its check-in is switched on."""
    return CheckIn.objects.filter(project_id=project_id, enabled=True).exists()


ALERT_EVENTS = (WebhookEvent.TARGET_MET, WebhookEvent.WINNER_CHANGED)
PRODUCTION_EVENTS = (WebhookEvent.PRODUCTION_BELOW_BAR, WebhookEvent.PRODUCTION_DRIFT)


# Whether the project's check-in is switched on, with the events of each active webhook
# (one row with no events when there is none).
_LISTENERS = (
    f"SELECT EXISTS (SELECT 1 FROM {CheckIn._meta.db_table} AS c "
    "WHERE c.project_id = %s AND c.enabled), w.events "
    "FROM (SELECT 1) AS one "
    f"LEFT JOIN {Webhook._meta.db_table} AS w ON w.project_id = %s AND w.active")


def wants_alerts(*, project_id: int, events: tuple[str, ...] = ALERT_EVENTS) -> bool:
    """Whether anyone hears of the project's alerts: emailed (a check-in switched on), or
    an active webhook listening to one of `events` ("target_met" or "winner_changed"; the
    production alerts' are PRODUCTION_EVENTS).

    One plain query: every run that ends asks (reports.receivers), and a script that makes
    runs one after another waits for each end_run()."""
    rows = hot_sql.fetch_all(_LISTENERS, [project_id, project_id])
    if rows and rows[0][0]:
        return True
    for _, listened in rows:
        if isinstance(listened, str | bytes):  # the JSON as text (Django decodes its own)
            listened = json.loads(listened)
        if set(listened or ()) & set(events):
            return True
    return False


def project_webhooks(*, project: Project) -> list[Webhook]:
    """The project's webhooks, oldest first."""
    return list(Webhook.objects.filter(project=project).order_by("id"))


def webhook_deliveries(*, project: Project, webhook: Webhook | None = None,
                       limit: int = 50, before: int | None = None) -> list[WebhookDelivery]:
    """The delivery log: the latest notifications of one webhook (or of all the project's),
    newest first, each with its webhook and its attempts."""
    rows = (WebhookDelivery.objects.filter(webhook__project=project)
            .select_related("webhook").prefetch_related("attempt_log").order_by("-id"))
    if webhook is not None:
        rows = rows.filter(webhook=webhook)
    if before is not None:
        rows = rows.filter(id__lt=before)
    return list(rows[:limit])


def last_attempt(delivery: WebhookDelivery) -> WebhookAttempt | None:
    """The notification's latest attempt (from its prefetched log)."""
    attempts = list(delivery.attempt_log.all())
    return attempts[-1] if attempts else None
