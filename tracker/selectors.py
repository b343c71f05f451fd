"""Reads from the tracking domain: access, winners, leaderboards, metric history."""

import math
import uuid
from dataclasses import dataclass

from django.db.models import Count, F, Max, Min, QuerySet

from tracker import limits, phrasing
from tracker.errors import InvalidInput, NotFound
from tracker.models import (
    Guardrail,
    Membership,
    MetricPoint,
    MetricSummary,
    Project,
    Role,
    Run,
    RunStatus,
    Target,
)
from tracker.selection import Candidate, GuardrailRule, Ranked, choose, lift, met, rank, usable

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


def can_write(role: str | None) -> bool:
    return role in (Role.OWNER, Role.MEMBER)


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


def _guardrail_rules(project: Project) -> list[GuardrailRule]:
    return [GuardrailRule(g.metric, g.split, g.op, g.value)
            for g in Guardrail.objects.filter(project=project)]


def _candidates(project: Project, target: Target, rules: list[GuardrailRule],
                runs: QuerySet[Run] | None = None) -> list[Candidate]:
    """Finished runs with their selection value and guardrail values, never the judged split."""
    runs = runs if runs is not None else Run.objects.filter(
        project=project, status=RunStatus.FINISHED, deleted_at__isnull=True)
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


def leaderboard(*, project: Project, limit: int = 20) -> list[Ranked]:
    """Finished runs ranked on the selection split, guardrail failures included with reasons.

    The best baseline is always included, even when it ranks below `limit`.
    """
    target = Target.objects.filter(project=project).first()
    if target is None:
        return []
    rules = _guardrail_rules(project)
    ranked = rank(_candidates(project, target, rules), direction=target.direction, rules=rules)
    top = ranked[:limit]
    if not any(r.candidate.baseline for r in top):
        top += [r for r in ranked[limit:] if r.candidate.baseline][:1]
    return top


def pick_winner(*, project: Project) -> Run | None:
    """Best finished run on the target's selection split that passes every guardrail.

    Never reads the judging (test) split: choosing on test would make the
    number we quote to stakeholders optimistic.
    """
    target = Target.objects.filter(project=project).first()
    if target is None:
        return None
    rules = _guardrail_rules(project)
    chosen = choose(rank(_candidates(project, target, rules), direction=target.direction,
                         rules=rules))
    return Run.objects.get(pk=chosen.candidate.run_id) if chosen else None


def _best_baseline(project: Project, target: Target) -> tuple[Run | None, float | None]:
    """The strongest finished baseline on the selection split (the status quo to beat)."""
    baselines = Run.objects.filter(project=project, status=RunStatus.FINISHED,
                                   deleted_at__isnull=True, baseline=True)
    ranked = rank(_candidates(project, target, [], runs=baselines), direction=target.direction,
                  rules=[])
    if ranked:
        best = ranked[0].candidate
        return Run.objects.get(pk=best.run_id), best.selection_value
    latest = baselines.order_by("-ended_at").first()
    return latest, None


def _judged_value(run: Run, target: Target) -> float | None:
    value = (MetricSummary.objects.filter(run=run, key=target.metric, split=target.judged_on)
             .values_list("best_value", flat=True).first())
    exists = MetricSummary.objects.filter(run=run, key=target.metric,
                                          split=target.judged_on).exists()
    if not exists:
        return None
    return math.nan if value is None else value


def standing(*, project: Project) -> Standing:
    """The winner, its judged value against the threshold, the baseline and the lift."""
    target = Target.objects.filter(project=project).first()
    if target is None:
        return Standing(None, None, None, None, None, None, None, None, None, [],
                        phrasing.no_target_sentence())
    rules = _guardrail_rules(project)
    candidates = _candidates(project, target, rules)
    ranked = rank(candidates, direction=target.direction, rules=rules)
    chosen = choose(ranked)
    baseline, baseline_selection = _best_baseline(project, target)
    baseline_judged = _judged_value(baseline, target) if baseline else None
    if chosen is None:
        if not candidates:
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

def metric_history(*, run: Run, key: str, split: str) -> list[tuple[int, float, int]]:
    """Every point of one series as (step, value, timestamp), in step then time order."""
    summary = MetricSummary.objects.filter(run=run, key=key, split=split).first()
    if summary is None:
        raise NotFound(f"run has no metric {key!r} on split {split!r}", field="key")
    rows = (MetricPoint.objects.filter(summary=summary).order_by("step", "timestamp")
            .values_list("step", "value", "timestamp"))
    return [(s, math.nan if v is None else v, t) for s, v, t in rows]


def metric_history_buckets(*, run: Run, key: str, split: str, buckets: int) -> list[dict]:
    """The series cut into `buckets` equal step ranges, each with its min, max and last value.

    Keeping min and max per bucket means a spike at a single step survives any
    downsampling, unlike sampling every n-th point.
    """
    if buckets < 1 or buckets > limits.MAX_HISTORY_BUCKETS:
        raise InvalidInput(f"buckets must be between 1 and {limits.MAX_HISTORY_BUCKETS}",
                           field="buckets")
    summary = MetricSummary.objects.filter(run=run, key=key, split=split).first()
    if summary is None:
        raise NotFound(f"run has no metric {key!r} on split {split!r}", field="key")
    points = MetricPoint.objects.filter(summary=summary)
    bounds = points.aggregate(lo=Min("step"), hi=Max("step"))
    if bounds["lo"] is None:
        return []
    lo, hi = bounds["lo"], bounds["hi"]
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    # Aggregated in the database: both PostgreSQL and SQLite divide integers exactly.
    grouped = (points.annotate(bucket=(F("step") - lo) / width).values("bucket")
               .annotate(step_min=Min("step"), step_max=Max("step"), min=Min("value"),
                         max=Max("value"), count=Count("id"))
               .order_by("bucket"))
    rows = list(grouped)
    last_at: dict[int, float | None] = {}
    for step, value in (points.filter(step__in=[r["step_max"] for r in rows])
                        .order_by("step", "timestamp").values_list("step", "value")):
        last_at[step] = value  # the latest point at the bucket's last step
    return [
        {"step_min": r["step_min"], "step_max": r["step_max"], "count": r["count"],
         "min": _nan(r["min"]), "max": _nan(r["max"]), "last": _nan(last_at.get(r["step_max"]))}
        for r in rows
    ]


def _nan(value: float | None) -> float:
    return math.nan if value is None else value
