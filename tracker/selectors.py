"""Reads from the tracking domain: access, winners, leaderboards, metric history."""

import math
import uuid
from collections import Counter, deque
from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)

from tracker import limits, phrasing, points
from tracker.errors import InvalidInput, NotFound
from tracker.models import (
    LIVE_RUNS,
    Experiment,
    Guardrail,
    Membership,
    MetricSummary,
    Project,
    RevealedTestResults,
    Run,
    RunStatus,
    Target,
    TargetChange,
)
from tracker.numbers import finite_or_none
from tracker.winner_rules import Candidate, GuardrailRule, Ranked, choose, lift, met, rank, usable

# --- Access ---------------------------------------------------------------------

def projects_for_user(*, user) -> QuerySet[Project]:
    """Projects the user is a member of, in any role."""
    return Project.objects.filter(memberships__user=user).select_related("target").distinct()


def role_of(*, user, project: Project) -> str | None:
    if not user or not user.is_authenticated:
        return None
    return (Membership.objects.filter(project=project, user=user)
            .values_list("role", flat=True).first())


def project_for_user(*, user, slug: str) -> tuple[Project, str]:
    """The project and the user's role in it; NotFound for outsiders (they learn nothing)."""
    project = Project.objects.select_related("target").filter(slug=slug).first()
    role = role_of(user=user, project=project) if project else None
    if project is None or role is None:
        raise NotFound(f"no project {slug!r}", field="project")
    return project, role


def run_for_user(*, user, run_id: str, include_deleted: bool = False) -> tuple[Run, str]:
    """The run and the user's role in its project; NotFound for outsiders and unknown ids."""
    try:
        pk = uuid.UUID(str(run_id))
    except ValueError:
        raise NotFound(f"no run {run_id!r}", field="run") from None
    run = Run.objects.select_related("project", "experiment").filter(pk=pk).first()
    role = role_of(user=user, project=run.project) if run else None
    if run is None or role is None or (run.deleted_at and not include_deleted):
        raise NotFound(f"no run {run_id!r}", field="run")
    return run, role


def experiment_for_user(*, user, experiment_id: int) -> tuple[Experiment, str]:
    """The experiment and the user's role in its project; NotFound for outsiders."""
    experiment = Experiment.objects.select_related("project").filter(pk=experiment_id).first()
    role = role_of(user=user, project=experiment.project) if experiment else None
    if experiment is None or role is None or experiment.deleted_at is not None:
        raise NotFound(f"no experiment {experiment_id}", field="experiment")
    return experiment, role


def values_where_chosen(*, target: Target | None, run_ids) -> dict:
    """Each run's value of the target metric on the selection split at its best step, by run
    id (runs without one are left out; no target, no values)."""
    run_ids = {pk for pk in run_ids if pk is not None}
    if target is None or not run_ids:
        return {}
    return dict(MetricSummary.objects.filter(run_id__in=run_ids, key=target.metric,
                                             split=target.selected_on)
                .values_list("run_id", "best_value"))


# --- Winner and leaderboard ---------------------------------------------------------

@dataclass(frozen=True)
class Standing:
    """Where the project stands against its target: the winner endpoint's answer."""

    target: Target | None
    winner: Run | None
    winner_ranked: Ranked | None
    judged_value: float | None
    baseline: Run | None
    baseline_selection_value: float | None
    baseline_judged_value: float | None
    lift: float | None
    met: bool | None
    guardrails: list[dict]
    sentence: str


def guardrail_rules(*, project: Project) -> list[GuardrailRule]:
    """The project's guardrails as winner_rules checks them."""
    return [GuardrailRule(g.metric, g.split, g.op, g.value)
            for g in Guardrail.objects.filter(project=project)]


def _candidates(project: Project, target: Target, rules: list[GuardrailRule],
                runs: QuerySet[Run] | None = None) -> list[Candidate]:
    """Finished runs with their selection value and guardrail values, never the judged split."""
    runs = runs if runs is not None else Run.objects.live().filter(
        project=project, status=RunStatus.FINISHED)
    wanted = {(target.metric, target.selected_on)} | {(r.metric, r.split) for r in rules}
    values: dict = {}
    summaries = MetricSummary.objects.filter(run__in=runs, key__in={k for k, _ in wanted},
                                             split__in={s for _, s in wanted})
    for run_id, key, split, value in summaries.values_list("run_id", "key", "split",
                                                           "best_value"):
        if (key, split) in wanted:
            values[(run_id, key, split)] = math.nan if value is None else value
    candidates = []
    for run_id, name, ended_at, baseline in runs.values_list("id", "name", "ended_at",
                                                             "baseline"):
        candidates.append(Candidate(
            run_id=run_id, name=name, ended_at=ended_at, baseline=baseline,
            selection_value=values.get((run_id, target.metric, target.selected_on)),
            guardrail_values={(r.metric, r.split): values.get((run_id, r.metric, r.split))
                              for r in rules},
        ))
    return candidates


def _top_ranked(project: Project, target: Target, rules: list[GuardrailRule], *,
                wanted: int, need_passing: bool) -> list[Ranked]:
    """The head of `rank()` over every finished run, reading only the best candidates.

    Fetches the candidates whose selection value is at least as good as the `wanted`-th
    best (ties at that value included), so no run left out could rank before one kept:
    the head is exactly the head of the full ranking. With `need_passing`, widens the head
    until it holds a run that passes every guardrail (or holds every candidate).
    """
    finished = Run.objects.live().filter(project=project, status=RunStatus.FINISHED)
    selection = MetricSummary.objects.filter(run__in=finished, key=target.metric,
                                             split=target.selected_on, best_value__isnull=False)
    maximize = target.direction == "maximize"
    size = max(1, wanted)
    while True:
        cutoff = list(selection.order_by("-best_value" if maximize else "best_value")
                      .values_list("best_value", flat=True)[size - 1:size])
        if cutoff:
            bound = {"best_value__gte" if maximize else "best_value__lte": cutoff[0]}
            ids = list(selection.filter(**bound).values_list("run_id", flat=True))
            runs = finished.filter(id__in=ids)
        else:
            runs = finished  # fewer candidates than asked for: rank them all
        ranked = rank(_candidates(project, target, rules, runs=runs),
                      direction=target.direction, rules=rules)
        if not cutoff or not need_passing or choose(ranked) is not None:
            return ranked
        size *= 4


def leaderboard(*, project: Project, limit: int = 20) -> list[Ranked]:
    """Finished runs ranked on the selection split, guardrail failures included with reasons.

    The best baseline is always included, even when it ranks below `limit`. Reads only the
    top `limit` candidates by selection value (see `_top_ranked`), so it stays fast at tens
    of thousands of runs.
    """
    target = Target.objects.filter(project=project).first()
    if target is None:
        return []
    rules = guardrail_rules(project=project)
    top = _top_ranked(project, target, rules, wanted=limit, need_passing=False)[:limit]
    if not any(r.candidate.baseline for r in top):
        baselines = Run.objects.live().filter(project=project, status=RunStatus.FINISHED,
                                              baseline=True)
        top += rank(_candidates(project, target, rules, runs=baselines),
                    direction=target.direction, rules=rules)[:1]
    return top


def pick_winner(*, project: Project) -> Run | None:
    """Best finished run on the target's selection split that passes every guardrail.

    Never reads the judging (test) split: choosing on test would make the
    number we quote to stakeholders optimistic.
    """
    target = Target.objects.filter(project=project).first()
    if target is None:
        return None
    rules = guardrail_rules(project=project)
    chosen = choose(_top_ranked(project, target, rules, wanted=1, need_passing=True))
    return Run.objects.get(pk=chosen.candidate.run_id) if chosen else None


def _best_baseline(project: Project, target: Target) -> tuple[Run | None, float | None]:
    """The strongest finished baseline on the selection split (the status quo to beat)."""
    baselines = Run.objects.live().filter(project=project, status=RunStatus.FINISHED, baseline=True)
    ranked = rank(_candidates(project, target, [], runs=baselines), direction=target.direction,
                  rules=[])
    if ranked:
        best = ranked[0].candidate
        return Run.objects.get(pk=best.run_id), best.selection_value
    latest = baselines.order_by("-ended_at").first()
    return latest, None


def _judged_value(run: Run, target: Target) -> float | None:
    """The run's value on the judged split: None when never logged, NaN when it logged NaN."""
    row = (MetricSummary.objects.filter(run=run, key=target.metric, split=target.judged_on)
           .values_list("best_value", flat=True)[:1])
    if not row:
        return None
    return math.nan if row[0] is None else row[0]


def standing(*, project: Project) -> Standing:
    """The winner, its judged value against the threshold, the baseline and the lift.

    The winner is found among the best candidates on the selection split (see
    `_top_ranked`), so every page can ask for it, even at tens of thousands of runs.
    """
    target = Target.objects.filter(project=project).first()
    if target is None:
        return Standing(None, None, None, None, None, None, None, None, None, [],
                        phrasing.no_target_sentence())
    rules = guardrail_rules(project=project)
    ranked = _top_ranked(project, target, rules, wanted=1, need_passing=True)
    chosen = choose(ranked)
    baseline, baseline_selection = _best_baseline(project, target)
    baseline_judged = _judged_value(baseline, target) if baseline else None
    if chosen is None:
        if not Run.objects.live().filter(project=project, status=RunStatus.FINISHED).exists():
            reason = "no_finished_runs"
        elif not ranked:
            reason = "no_selection_metric"
        else:
            reason = "all_fail_guardrails"
        sentence = phrasing.no_winner_sentence(reason=reason, metric=target.metric,
                                               selected_split=target.selected_on)
        return Standing(target, None, None, None, baseline, baseline_selection,
                        baseline_judged, None, None, [], sentence)
    winner = Run.objects.select_related("experiment").get(pk=chosen.candidate.run_id)
    judged = _judged_value(winner, target)
    is_met = met(judged, threshold=target.threshold, direction=target.direction)
    gain = lift(judged, baseline_judged, direction=target.direction) if baseline else None
    guardrails = [
        {"metric": r.metric, "split": r.split, "op": r.op, "value": r.value,
         "actual": chosen.candidate.guardrail_values.get((r.metric, r.split)), "passed": True}
        for r in rules
    ]
    sentence = phrasing.winner_sentence(
        metric=target.metric, direction=target.direction, threshold=target.threshold,
        judged_split=target.judged_on, judged_value=judged if usable(judged) else None,
        met=is_met, baseline_value=baseline_judged if baseline else None, lift=gain,
        run_name=winner.name, definition=target.definition or None,
    )
    return Standing(target, winner, chosen, judged, baseline, baseline_selection,
                    baseline_judged, gain, is_met, guardrails, sentence)


# --- Metric history -----------------------------------------------------------------

def _series(*, run: Run, key: str, split: str) -> MetricSummary:
    summary = MetricSummary.objects.filter(run=run, key=key, split=split).first()
    if summary is None:
        raise NotFound(f"run has no metric {key!r} on split {split!r}", field="key")
    return summary


def metric_history(*, run: Run, key: str, split: str) -> list[tuple[int, float, int]]:
    """Every point of one series as (step, value, timestamp), in step then time order."""
    summary = _series(run=run, key=key, split=split)
    found = points.series_points([summary.id]).get(summary.id, [])
    return [(step, value, ts) for step, ts, value in found]


class _Bucket:
    """The points of one step range: its steps and times, lowest and highest value, last point."""

    __slots__ = ("step_min", "step_max", "t_min", "t_max", "low", "high", "count", "last")

    def __init__(self, step: int, ts: int, value: float):
        self.step_min = self.step_max = step
        self.t_min = self.t_max = ts
        self.low = self.high = value if value == value else None  # NaN is never an extreme
        self.count, self.last = 1, value

    def add(self, step: int, ts: int, value: float) -> None:
        self.count += 1
        self.step_max, self.last = step, value  # points come in step then time order
        self.t_min, self.t_max = min(self.t_min, ts), max(self.t_max, ts)
        if value == value:
            if self.low is None or value < self.low:
                self.low = value
            if self.high is None or value > self.high:
                self.high = value


def _buckets(series: list[points.Point], buckets: int) -> list[_Bucket]:
    """The series (in step then time order) cut into `buckets` equal ranges of its steps."""
    lo, hi = series[0][0], series[-1][0]
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    out: list[_Bucket] = []
    current, index = None, None
    for step, ts, value in series:
        at = (step - lo) // width
        if at != index:
            current, index = _Bucket(step, ts, value), at
            out.append(current)
        else:
            current.add(step, ts, value)
    return out


def metric_history_buckets(*, run: Run, key: str, split: str, buckets: int) -> list[dict]:
    """The series cut into `buckets` equal step ranges, each with its min, max and last value.

    Keeping min and max per bucket means a spike at a single step survives any
    downsampling, unlike sampling every n-th point.
    """
    if buckets < 1 or buckets > limits.MAX_HISTORY_BUCKETS:
        raise InvalidInput(f"buckets must be between 1 and {limits.MAX_HISTORY_BUCKETS}",
                           field="buckets")
    summary = _series(run=run, key=key, split=split)
    series = points.series_points([summary.id]).get(summary.id)
    if not series:
        return []
    return [{"step_min": b.step_min, "step_max": b.step_max, "count": b.count,
             "min": _nan(b.low), "max": _nan(b.high), "last": b.last}
            for b in _buckets(series, buckets)]


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


# --- Web UI reads ---------------------------------------------------------------------
# Appended for the web UI (web/); each answers one question a page asks.


@dataclass(frozen=True)
class ProgressPoint:
    """A finished run on the best-so-far chart: when it ended, its selection value, whether
    it passes every guardrail, and the best selection value of a passing run up to then."""

    run_id: object
    ended_at: object
    value: float
    passes: bool
    best_so_far: float | None
    best_run_id: object


@dataclass(frozen=True)
class BestSoFar:
    """The best-so-far line: every run that set a new best, the latest runs, the total."""

    improvements: list[ProgressPoint]  # in the order they ended
    latest: list[ProgressPoint]  # the last `keep` finished runs, in the order they ended
    total: int  # finished runs with a usable selection value
    names: dict  # run id -> name, for the runs that set a new best

    @property
    def last_ended_at(self):
        return self.latest[-1].ended_at if self.latest else None


_SQL_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def best_so_far(*, project: Project, keep: int = 2000, until=None) -> BestSoFar:
    """Finished runs in the order they ended (up to `until`), with the best selection value
    so far.

    "Best so far" follows the winner rules (guardrails must pass, and a missing or NaN
    guardrail value fails, as in `selection.guardrail_failures`; NaN never counts; a tie
    keeps the earlier run), so its last value is the winner's selection value. Reads the
    selection split and the guardrails' splits only, in one query over every finished run
    (the guardrails are checked in the database); names are read for the runs that set a
    new best.
    """
    target = Target.objects.filter(project=project).first()
    if target is None:
        return BestSoFar([], [], 0, {})
    rows = MetricSummary.objects.of_live_runs().filter(
        run__project=project, run__status=RunStatus.FINISHED, run__ended_at__isnull=False,
        key=target.metric, split=target.selected_on, best_value__isnull=False)
    if until is not None:
        rows = rows.filter(run__ended_at__lte=until)
    passes = Q()
    for rule in Guardrail.objects.filter(project=project):
        passes &= Q(Exists(MetricSummary.objects.filter(
            run_id=OuterRef("run_id"), key=rule.metric, split=rule.split,
            **{f"best_value__{_SQL_OPS[rule.op]}": rule.value})))
    rows = rows.annotate(passes=ExpressionWrapper(passes, output_field=BooleanField()) if passes
                         else Value(True, output_field=BooleanField()))
    # Only the order of ending is needed to replay the runs; the times are read afterwards for
    # the runs that are shown (parsing 10,000 timestamps cost more than the query).
    values = rows.order_by("run__ended_at", "run_id").values_list(
        "run_id", "best_value", "passes")
    maximize = target.direction == "maximize"
    best_id, best_value = None, None
    improvements, latest, total = [], deque(maxlen=keep), 0
    for run_id, value, passed in values:
        total += 1
        if passed and (best_value is None or (value > best_value if maximize
                                              else value < best_value)):
            best_id, best_value = run_id, value
            improvements.append((run_id, value, True, value, run_id))
        latest.append((run_id, value, passed, best_value, best_id))
    improved = {r[0] for r in improvements}
    shown = {row[0]: row[1:] for row in Run.objects.filter(
        id__in=improved | {r[0] for r in latest}).values_list("id", "ended_at", "name")}
    names = {run_id: shown[run_id][1] for run_id in improved}
    return BestSoFar([ProgressPoint(r, shown[r][0], v, bool(p), b, i)
                      for r, v, p, b, i in improvements],
                     [ProgressPoint(r, shown[r][0], v, bool(p), b, i)
                      for r, v, p, b, i in latest], total, names)


def recent_runs(*, project: Project, limit: int = 10) -> list[Run]:
    """The project's latest runs by start time (deleted ones excluded)."""
    return list(Run.objects.live().filter(project=project)
                .select_related("experiment").order_by("-started_at", "id")[:limit])


def experiments_overview(*, project: Project) -> QuerySet:
    """The project's experiments with their hypotheses, run counts and last run start."""
    return (project.experiments.live()
            .annotate(run_count=Count("runs", filter=LIVE_RUNS),
                      last_run_at=Max("runs__started_at", filter=LIVE_RUNS))
            .order_by("-last_run_at", "name"))


def projects_overview(*, user) -> QuerySet[Project]:
    """Projects the user can see, with their run count and the start of their latest run."""
    return (Project.objects.filter(id__in=Membership.objects.filter(user=user)
                                   .values("project_id"))
            .select_related("target")
            .annotate(run_count=Count("runs", filter=LIVE_RUNS),
                      last_run_at=Max("runs__started_at", filter=LIVE_RUNS))
            .order_by("name", "slug"))


def run_fields(*, runs: list[Run]) -> dict:
    """What these runs carry, for a column chooser: param names, tag names and their
    (key, split) metric series, each sorted; the params whose values differ between the
    runs (what tells them apart); and how many of the runs have each series. One query
    (for the series) per call."""
    coverage = Counter(MetricSummary.objects.filter(run_id__in=[r.id for r in runs])
                       .values_list("key", "split"))
    params = sorted({k for r in runs for k in r.params})
    return {"params": params,
            "params_that_vary": [k for k in params
                                 if len({repr(r.params.get(k)) for r in runs}) > 1],
            "tags": sorted({k for r in runs for k in r.tags}),
            "metrics": sorted(coverage, key=lambda ks: (ks[0], split_order(ks[1]))),
            "metric_coverage": dict(coverage)}


def logged_summaries(*, project: Project) -> QuerySet[MetricSummary]:
    """The metric series of the project's runs (deleted runs left out)."""
    return MetricSummary.objects.of_live_runs().filter(run__project=project)


def project_series(*, project: Project, limit: int = 1000) -> set[tuple[str, str]]:
    """The (key, split) metric series the project's runs logged (at most `limit` of them),
    for the target and guardrail forms to offer."""
    return set(logged_summaries(project=project).order_by().values_list("key", "split")
               .distinct()[:limit])


def split_order(split: str) -> tuple:
    """A sort key that puts splits in reading order: train, validation, test, then slices."""
    base, _, slice_name = split.partition("/")
    order = {"train": 0, "validation": 1, "test": 2}.get(base, 3)
    return (order, base, slice_name)


def summaries_by_run(*, run_ids, series: set[tuple[str, str]] | None = None) -> dict:
    """{run_id: {(key, split): MetricSummary}} for many runs in one query, optionally only
    some (key, split) series."""
    query = MetricSummary.objects.filter(run_id__in=list(run_ids))
    if series is not None:
        if not series:
            return {}
        query = query.filter(key__in={k for k, _ in series}, split__in={s for _, s in series})
    out: dict = {}
    for summary in query:
        if series is None or (summary.key, summary.split) in series:
            out.setdefault(summary.run_id, {})[(summary.key, summary.split)] = summary
    return out


def metric_curves(*, summaries: list[MetricSummary], buckets: int) -> dict[int, dict]:
    """Points of several series for overlaid charts, downsampled on the server.

    A series with at most `buckets` points comes back whole. A longer one is cut into
    `buckets` equal ranges of its own steps, and each range is drawn through its minimum
    and its maximum, so a spike at a single step survives, unlike sampling every n-th
    point. Returns
    {summary_id: {"bucketed": bool, "step": [...], "time": [...], "value": [...]}} with
    times in epoch ms and NaN/±inf as None (a gap in the line).
    """
    if buckets < 1 or buckets > limits.MAX_HISTORY_BUCKETS:
        raise InvalidInput(f"buckets must be between 1 and {limits.MAX_HISTORY_BUCKETS}",
                           field="buckets")
    out = {s.id: {"bucketed": False, "step": [], "time": [], "value": []} for s in summaries}
    found = points.series_points(out)
    for sid, series_points in found.items():
        series = out[sid]
        if len(series_points) <= buckets:
            series["step"] = [step for step, _, _ in series_points]
            series["time"] = [ts for _, ts, _ in series_points]
            series["value"] = [finite_or_none(value) for _, _, value in series_points]
            continue
        # Each series is cut over its own step range, so a short run next to a long one
        # keeps its detail.
        series["bucketed"] = True
        previous = None
        for bucket in _buckets(series_points, buckets):
            low, high = finite_or_none(bucket.low), finite_or_none(bucket.high)
            if low is None or high is None:
                # Only NaN (a gap) or an infinity the chart cannot draw: the finite extreme.
                pairs = [(bucket.step_min, bucket.t_min, high if low is None else low)]
            elif bucket.step_min == bucket.step_max:
                pairs = [(bucket.step_min, bucket.t_min, low)]
                if high != low:
                    pairs.append((bucket.step_max, bucket.t_max, high))
            else:
                # Draw the extreme nearer the previous value first: the line stays continuous
                # and both extremes of the range are on it.
                first, second = (high, low) if previous is not None and (
                    abs(previous - high) < abs(previous - low)) else (low, high)
                pairs = [(bucket.step_min, bucket.t_min, first),
                         (bucket.step_max, bucket.t_max, second)]
            for step, ts, value in pairs:
                series["step"].append(step)
                series["time"].append(ts)
                series["value"].append(value)
            previous = pairs[-1][2]
    return out


def revealed_run_ids(*, project: Project, user, reveal_ids) -> set:
    """Run ids whose test results the user revealed in the given RevealedTestResults rows
    (rows of other users or projects are ignored)."""
    ids: set = set()
    rows = RevealedTestResults.objects.filter(project=project, user=user,
                                              id__in=list(reveal_ids or []))
    for run_ids in rows.values_list("run_ids", flat=True):
        ids.update(str(r) for r in run_ids)
    return ids


def target_history(*, project: Project) -> QuerySet:
    """Every change of the project's target and guardrails, newest first, with who made it."""
    return (TargetChange.objects.filter(project=project).select_related("changed_by")
            .order_by("-changed_at", "-id"))
