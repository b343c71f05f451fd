"""The upkeep of metric summaries: each series' count, last, min and max, and its value at
the run's best step (the step where the target metric was best on the selection split).

After tracker.ingest stored a batch, refresh_summaries folds the new points in and moves
the run's best step when the selection series got a better one; refresh_project_best_steps
recomputes a whole project when its target changes. The same statements serve PostgreSQL
and SQLite.
"""

import math
from collections import defaultdict

import orjson
from django.db import connection

from tracker import hot_sql
from tracker import points as points_module
from tracker.models import MetricSummary, Run, Target
from tracker.points import Columns
from tracker.winner_rules import best_index, usable

RUN_TABLE = Run._meta.db_table
SUMMARY_TABLE = MetricSummary._meta.db_table


def _db_value(value: float) -> float | None:
    return None if math.isnan(value) else value



def _array_text(values, *, floats: bool = False) -> str:
    """A PostgreSQL array literal of integers or floats (None and NaN as NULL).

    orjson writes a list of numbers as "[1,2.5,null]" in microseconds, which is an
    array literal once its brackets are braces; it writes ±inf as null, so a column
    holding an infinity is written out value by value.
    """
    if floats and (math.inf in values or -math.inf in values):
        return "{" + ",".join("NULL" if v is None or v != v else
                              "Infinity" if v == math.inf else
                              "-Infinity" if v == -math.inf else repr(v)
                              for v in values) + "}"
    return "{" + orjson.dumps(values)[1:-1].decode() + "}"


def _best_of(step_values: dict[int, float], direction: str) -> int | None:
    steps = sorted(step_values)
    index = best_index([step_values[s] for s in steps], direction=direction)
    return None if index is None else steps[index]


def refresh_summaries(*, run: Run, target: Target | None, new: dict[int, Columns],
                      summaries: dict[int, MetricSummary], past_last: bool = False) -> None:
    """Bring the run's summaries up to date after the `new` points were stored.

    last/min/max/count are updated from the new points alone. The run's best
    step moves only when the selection series got a better step (or the point
    at the current best step was superseded, which needs a rescan); when it
    moves, every summary of the run re-reads its value at the new best step.
    `summaries` is every summary of the run by id. `past_last` says that each new
    point is the latest at its step (the batch went past the series' last stored
    point), so the values at those steps need not be read back.
    """
    for sid, columns in new.items():
        _fold_points(summaries[sid], *columns, in_order=past_last)
    changed: set[int] = set(new)
    old_best_step = run.best_step
    new_best_step = _best_step_after(run, target, new, summaries, past_last=past_last)
    known = _new_values_at(new, new_best_step) if past_last else {}
    if new_best_step != old_best_step:
        run.best_step = new_best_step
        hot_sql.execute(f"UPDATE {RUN_TABLE} SET best_step = %s WHERE id = %s",
                        [new_best_step, run.pk])
        _set_best_values(summaries.values(), new_best_step, known=known)
        changed = set(summaries)
    else:
        touched_at_best = [summaries[sid] for sid, (steps, _, _) in new.items()
                           if new_best_step is None or new_best_step in steps
                           or summaries[sid].best_step != new_best_step]
        _set_best_values(touched_at_best, new_best_step, known=known)

    if changed:
        _save_summaries(run, [summaries[sid] for sid in changed])


def _best_step_after(run: Run, target: Target | None, new: dict[int, Columns],
                     summaries: dict[int, MetricSummary], *, past_last: bool) -> int | None:
    """The run's best step once the `new` points are stored (None without a selection series)."""
    selection = None
    if target is not None:
        selection = next((s for s in summaries.values()
                          if s.key == target.metric and s.split == target.selected_on), None)
    if selection is None:
        return None
    if run.best_step is None:
        return _best_of(points_module.step_values(selection.id), target.direction)
    if selection.id not in new:
        return run.best_step
    steps, _, values = new[selection.id]
    if past_last:
        candidates = dict(zip(steps, values, strict=True))  # the latest at a step wins
    else:
        touched = set(steps)
        candidates = {step: value for step, value in points_module.step_values(
            selection.id, (min(touched), max(touched))).items() if step in touched}
    if run.best_step in candidates and not _at_least_as_good(
            candidates[run.best_step], selection.best_value, target.direction):
        # The best step's value was superseded by a worse one (MLflow scripts log
        # every epoch at step 0): another step may now be best, so rescan.
        return _best_of(points_module.step_values(selection.id), target.direction)
    candidates.setdefault(run.best_step, selection.best_value)
    return _best_of(candidates, target.direction)


def _new_values_at(new: dict[int, Columns], best_step: int | None) -> dict[int, float | None]:
    """Each series' new point at the best step, by summary id, for a batch past the series'
    last points: that point is the latest there, so its value need not be read back."""
    known: dict[int, float | None] = {}
    if best_step is None:
        return known
    for sid, (steps, _, values) in new.items():
        if steps[0] <= best_step <= steps[-1]:
            for step, value in zip(steps, values, strict=True):
                if step == best_step:
                    known[sid] = _db_value(value)
    return known


_SUMMARY_FIELDS = ("count", "last_value", "last_step", "last_timestamp", "min_value",
                   "max_value", "best_value", "best_step")


_SUMMARY_TYPES = {"count": "bigint", "last_value": "double precision", "last_step": "bigint",
                  "last_timestamp": "bigint", "min_value": "double precision",
                  "max_value": "double precision", "best_value": "double precision",
                  "best_step": "bigint"}
_UPDATE_SUMMARIES = (
    f"UPDATE {SUMMARY_TABLE} AS s SET "
    + ", ".join(f"{f} = v.{f}" for f in _SUMMARY_FIELDS)
    + " FROM unnest(%s::bigint[], "
    + ", ".join(f"%s::{_SUMMARY_TYPES[f]}[]" for f in _SUMMARY_FIELDS)
    + f") AS v(id, {', '.join(_SUMMARY_FIELDS)}) WHERE s.id = v.id AND s.run_id = %s"
)


def _save_summaries(run: Run, rows: list[MetricSummary]) -> None:
    """Write a run's summaries' figures back; one UPDATE … FROM unnest(…) on PostgreSQL.

    Naming the run lets PostgreSQL find the rows through one_summary_per_series whatever
    its statistics say: the prepared statement's generic plan otherwise guesses the
    arrays' length and may scan every summary of every run (seen on a young database).
    """
    if connection.vendor != "postgresql":  # one prepared UPDATE per row (bulk_update's
        # CASE WHEN … statements grow with the rows: 10,000 series took half a minute)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {SUMMARY_TABLE} SET {', '.join(f'{f} = %s' for f in _SUMMARY_FIELDS)} "
                "WHERE id = %s",
                [[getattr(r, f) for f in _SUMMARY_FIELDS] + [r.id] for r in rows])
        return
    params = [_array_text([r.id for r in rows])]
    for field in _SUMMARY_FIELDS:
        column = [getattr(r, field) for r in rows]
        params.append(_array_text(column, floats=_SUMMARY_TYPES[field] == "double precision"))
    hot_sql.execute(_UPDATE_SUMMARIES, [*params, run.pk])


def _at_least_as_good(value: float | None, best: float | None, direction: str) -> bool:
    if not usable(value):
        return False
    if not usable(best):
        return True
    return value >= best if direction == "maximize" else value <= best


def _fold_points(summary: MetricSummary, steps: list[int], stamps: list[int],
                 values: list[float], *, in_order: bool = False) -> None:
    """Update count/last/min/max with new points (NaN counts but never is a min or max)."""
    if not steps:
        return
    summary.count += len(steps)
    latest = (len(steps) - 1 if in_order
              else max(zip(steps, stamps, range(len(steps)), strict=True))[2])
    step, ts = steps[latest], stamps[latest]
    if summary.last_step is None or (step, ts) >= (summary.last_step, summary.last_timestamp):
        summary.last_step, summary.last_timestamp = step, ts
        summary.last_value = _db_value(values[latest])
    finite = [v for v in values if v == v]  # not NaN
    if finite:
        low, high = min(finite), max(finite)
        if summary.min_value is None or low < summary.min_value:
            summary.min_value = low
        if summary.max_value is None or high > summary.max_value:
            summary.max_value = high


def _set_best_values(summaries, best_step: int | None,
                     known: dict[int, float | None] | None = None) -> None:
    """Each summary's value at the run's best step, or its last value when it has none there.

    `known` holds values at the best step the caller knows without reading (by summary id).
    """
    summaries = list(summaries)
    at_best: dict[int, float | None] = dict(known or {})
    unknown = [s.id for s in summaries if s.id not in at_best]
    if best_step is not None and unknown:
        for sid, value in points_module.values_at(unknown, best_step).items():
            at_best[sid] = _db_value(value)
    for summary in summaries:
        if summary.id in at_best:
            summary.best_value, summary.best_step = at_best[summary.id], best_step
        else:
            summary.best_value, summary.best_step = summary.last_value, summary.last_step


def refresh_project_best_steps(*, project_id: int, target: Target | None) -> None:
    """Recompute every run's best step and every summary's best value in a project.

    Needed when the target's metric, direction or selection split changes. A
    handful of queries whatever the number of runs; counts, minima, maxima and
    last values do not depend on the target and are left alone.
    """
    runs = Run.objects.filter(project_id=project_id)
    best_steps: dict = {}
    if target is not None:
        selection = dict(MetricSummary.objects.filter(
            run__project_id=project_id, key=target.metric, split=target.selected_on,
        ).values_list("id", "run_id"))
        found = points_module.series_points(selection)
        for sid, run_id in selection.items():
            step_values = {step: value for step, _, value in found.get(sid, [])}
            best_steps[run_id] = _best_of(step_values, target.direction)
    run_rows = list(runs.only("id", "best_step"))
    for run in run_rows:
        run.best_step = best_steps.get(run.id)
    Run.objects.bulk_update(run_rows, ["best_step"], batch_size=1000)

    summaries = list(MetricSummary.objects.filter(run__project_id=project_id)
                     .select_related(None).only("id", "run_id", "last_value", "last_step"))
    by_best_step: dict[int, list[MetricSummary]] = defaultdict(list)
    for summary in summaries:
        summary.best_value, summary.best_step = summary.last_value, summary.last_step
        if best_steps.get(summary.run_id) is not None:
            by_best_step[best_steps[summary.run_id]].append(summary)
    for best_step, group in by_best_step.items():
        _set_best_values(group, best_step)
    MetricSummary.objects.bulk_update(summaries, ["best_value", "best_step"], batch_size=1000)
