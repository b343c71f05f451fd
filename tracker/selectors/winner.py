"""The winner and where the project stands: the leaderboard, the winning run, its judged
value against the target and the baseline, and the best-so-far line.

Winners are picked on the selection split by the pure rules of tracker.winner_rules; the
judged (test) split is read only for the run already chosen.
"""

import math
from collections import deque
from dataclasses import dataclass

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value

from tracker import winner_sentences
from tracker.models import MetricSummary, Project, Run, RunStatus, Target
from tracker.selectors.targets import Criteria, read_criteria
from tracker.winner_rules import (
    Candidate,
    GuardrailRule,
    Ranked,
    choose,
    lift,
    met,
    rank,
    usable,
)


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
    # The step the winner's judged value was read at: its best step when the judged split
    # was logged there, else the step of its last value there (a test set evaluated once).
    judged_step: int | None = None


def guardrail_rules(*, project: Project) -> list[GuardrailRule]:
    """The project's guardrails as winner_rules checks them (see `Criteria.rules`)."""
    return list(read_criteria(project=project).rules)


def values_where_chosen(*, target: Target | None, run_ids) -> dict:
    """Each run's value of the target metric on the selection split at its best step, by run
    id (runs without one are left out; no target, no values)."""
    run_ids = {pk for pk in run_ids if pk is not None}
    if target is None or not run_ids:
        return {}
    return dict(MetricSummary.objects.filter(run_id__in=run_ids, key=target.metric,
                                             split=target.selected_on)
                .values_list("run_id", "best_value"))


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


def leaderboard(*, project: Project, limit: int = 20,
                criteria: Criteria | None = None) -> list[Ranked]:
    """Finished runs ranked on the selection split, guardrail failures included with reasons.

    The best baseline is always included, even when it ranks below `limit`. Reads only the
    top `limit` candidates by selection value (see `_top_ranked`), so it stays fast at tens
    of thousands of runs. `criteria`: the target and guardrails, when the caller read them.
    """
    criteria = criteria or read_criteria(project=project)
    target, rules = criteria.target, list(criteria.rules)
    if target is None:
        return []
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
    criteria = read_criteria(project=project)
    if criteria.target is None:
        return None
    chosen = choose(_top_ranked(project, criteria.target, list(criteria.rules), wanted=1,
                                need_passing=True))
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


def _judged(run: Run, target: Target) -> tuple[float | None, int | None]:
    """The run's value on the judged split (None when never logged, NaN when it logged NaN)
    and the step it was read at."""
    row = (MetricSummary.objects.filter(run=run, key=target.metric, split=target.judged_on)
           .values_list("best_value", "best_step")[:1])
    if not row:
        return None, None
    value, step = row[0]
    return (math.nan if value is None else value), step


def judged_value(run: Run, target: Target) -> float | None:
    """The run's value of the target metric on the judged split (None when never logged)."""
    return _judged(run, target)[0]


def standing(*, project: Project, criteria: Criteria | None = None) -> Standing:
    """The winner, its judged value against the threshold, the baseline and the lift.

    The winner is found among the best candidates on the selection split (see
    `_top_ranked`), so every page can ask for it, even at tens of thousands of runs.
    `criteria`: the target and guardrails, when the caller read them.
    """
    criteria = criteria or read_criteria(project=project)
    target, rules = criteria.target, list(criteria.rules)
    if target is None:
        return Standing(None, None, None, None, None, None, None, None, None, [],
                        winner_sentences.no_target_sentence())
    ranked = _top_ranked(project, target, rules, wanted=1, need_passing=True)
    chosen = choose(ranked)
    baseline, baseline_selection = _best_baseline(project, target)
    baseline_judged = judged_value(baseline, target) if baseline else None
    if chosen is None:
        if not Run.objects.live().filter(project=project, status=RunStatus.FINISHED).exists():
            reason = "no_finished_runs"
        elif not ranked:
            reason = "no_selection_metric"
        else:
            reason = "all_fail_guardrails"
        sentence = winner_sentences.no_winner_sentence(reason=reason, metric=target.metric,
                                               selected_split=target.selected_on)
        return Standing(target, None, None, None, baseline, baseline_selection,
                        baseline_judged, None, None, [], sentence)
    winner = Run.objects.select_related("experiment").get(pk=chosen.candidate.run_id)
    judged, judged_step = _judged(winner, target)
    is_met = met(judged, threshold=target.threshold, direction=target.direction)
    gain = lift(judged, baseline_judged, direction=target.direction) if baseline else None
    guardrails = [
        {"metric": r.metric, "split": r.split, "op": r.op, "value": r.value,
         "actual": chosen.candidate.guardrail_values.get((r.metric, r.split)), "passed": True}
        for r in rules
    ]
    sentence = winner_sentences.winner_sentence(
        metric=target.metric, direction=target.direction, threshold=target.threshold,
        judged_split=target.judged_on, judged_value=judged if usable(judged) else None,
        met=is_met, baseline_value=baseline_judged if baseline else None, lift=gain,
        run_name=winner.name, definition=target.definition or None,
    )
    return Standing(target, winner, chosen, judged, baseline, baseline_selection,
                    baseline_judged, gain, is_met, guardrails, sentence, judged_step)


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
    names: dict  # run id -> name, for the runs shown (those that set a new best, the latest)
    baselines: frozenset = frozenset()  # the ids of the baseline runs among those shown

    @property
    def last_ended_at(self):
        return self.latest[-1].ended_at if self.latest else None


_SQL_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def best_so_far(*, project: Project, keep: int = 2000, until=None,
                criteria: Criteria | None = None) -> BestSoFar:
    """Finished runs in the order they ended (up to `until`), with the best selection value
    so far.

    "Best so far" follows the winner rules (guardrails must pass, and a missing or NaN
    guardrail value fails, as in `winner_rules.guardrail_failures`; NaN never counts; a tie
    keeps the earlier run), so its last value is the winner's selection value. Reads the
    selection split and the guardrails' splits only, in one query over every finished run
    (the guardrails are checked in the database); names and baseline flags are read for the
    runs shown. `criteria`: the target and guardrails, when the caller read them.
    """
    criteria = criteria or read_criteria(project=project)
    target = criteria.target
    if target is None:
        return BestSoFar([], [], 0, {})
    rows = MetricSummary.objects.of_live_runs().filter(
        run__project=project, run__status=RunStatus.FINISHED, run__ended_at__isnull=False,
        key=target.metric, split=target.selected_on, best_value__isnull=False)
    if until is not None:
        rows = rows.filter(run__ended_at__lte=until)
    passes = Q()
    for rule in criteria.rules:
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
        id__in=improved | {r[0] for r in latest}).values_list("id", "ended_at", "name",
                                                               "baseline")}
    names = {run_id: row[1] for run_id, row in shown.items()}
    baselines = frozenset(run_id for run_id, row in shown.items() if row[2])
    return BestSoFar([ProgressPoint(r, shown[r][0], v, bool(p), b, i)
                      for r, v, p, b, i in improvements],
                     [ProgressPoint(r, shown[r][0], v, bool(p), b, i)
                      for r, v, p, b, i in latest], total, names, baselines)
