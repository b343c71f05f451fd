"""Storage of metric points and the upkeep of their summaries.

A batch is stored under its run's row lock in a handful of statements: the lock
(which also records the heartbeat and reads the target), the run's summaries,
one INSERT of a block per series (tracker.points), one UPDATE of the summaries it
changed. The summaries tell whether a batch can hold a replayed point: when each
series' points rise past its last stored (step, timestamp), none can, and no point
is read; otherwise the stored points of the batch's step range are read and the
replays skipped, so every point is stored once. The same statements serve
PostgreSQL and SQLite.
"""

import math
from collections import defaultdict
from typing import NamedTuple

import orjson
from django.db import connection

from tracker import hot_sql
from tracker import points as points_module
from tracker.models import MetricSummary, Run, Target
from tracker.points import Columns
from tracker.winner_rules import best_index, usable

RUN_TABLE = Run._meta.db_table
SUMMARY_TABLE = MetricSummary._meta.db_table
TARGET_TABLE = Target._meta.db_table


def _db_value(value: float) -> float | None:
    return None if math.isnan(value) else value


class Locked(NamedTuple):
    """A run locked for logging, with what storing a batch needs to know."""

    run: Run  # id, project, status, deletion, params, tags, best step
    target: Target | None  # the project's target (metric, direction, selection split only)
    summaries: list[MetricSummary]  # every summary of the run


class LockGuard(NamedTuple):
    """A further condition the run's row must meet for a batch to take its lock: SQL that may
    refer to the run's columns by the run table's name, and its parameters. A caller checks
    its permission this way, in the lock's own statement, instead of with a query before the
    batch's transaction."""

    sql: str
    params: list


def lock_run_for_logging(run_id, *, now, guard: LockGuard | None = None) -> Locked | None:
    """Lock the run for a batch, record its heartbeat and read its summaries.

    Returns None when there is no such run, or it does not meet the `guard`. The lock
    is held until the transaction ends, so batches of one run are stored one after
    another and see each other's summaries. The summaries are read after the lock;
    inside the caller's hot_sql.atomic_pipeline() both statements share one round trip
    to the database.
    """
    if guard is None:
        lock = hot_sql.send(_LOCK_RUN.format(guard=""), [now, run_id])
    else:
        lock = hot_sql.send(_LOCK_RUN.format(guard=f" AND ({guard.sql})"),
                            [now, run_id, *guard.params])
    summaries = hot_sql.send(_RUN_SUMMARIES, [run_id])
    row = lock.fetch_one()
    summary_rows = summaries.fetch_all()
    if row is None:
        return None
    *columns, metric, direction, selected_on = row
    run = hot_sql.instance(Run, columns)
    target = None if metric is None else Target(
        project_id=run.project_id, metric=metric, direction=direction, selected_on=selected_on)
    return Locked(run, target, [hot_sql.instance(MetricSummary, r) for r in summary_rows])


def save_run_fields(run: Run, fields: list[str]) -> None:
    """Write some of a locked run's fields back (a plain UPDATE: it needs no answer, so it
    can be pipelined, unlike Model.save, which reads the count of changed rows)."""
    columns = [Run._meta.get_field(name) for name in fields]
    hot_sql.execute(
        f"UPDATE {RUN_TABLE} SET {', '.join(f'{c.column} = %s' for c in columns)} WHERE id = %s",
        [c.get_db_prep_save(getattr(run, c.attname), connection) for c in columns] + [run.pk])


_LOCK_RUN = (  # SQLite's RETURNING takes unqualified columns; {guard}: a LockGuard's condition
    f"UPDATE {RUN_TABLE} SET last_heartbeat = %s WHERE id = %s{{guard}} "
    f"RETURNING {hot_sql.columns(Run)}, "
    + ", ".join(f"(SELECT t.{column} FROM {TARGET_TABLE} AS t "
                f"WHERE t.project_id = {RUN_TABLE}.project_id)"
                for column in ("metric", "direction", "selected_on")))


_RUN_SUMMARIES = f"SELECT {hot_sql.columns(MetricSummary)} FROM {SUMMARY_TABLE} WHERE run_id = %s"


def run_summaries(run_id) -> list[MetricSummary]:
    """Every summary of a run (one plain query)."""
    return [hot_sql.instance(MetricSummary, row)
            for row in hot_sql.fetch_all(_RUN_SUMMARIES, [run_id])]


def summaries_for(*, run: Run, series: set[tuple[str, str]], existing: list[MetricSummary],
                  source_keys: dict[tuple[str, str], str] | None = None,
                  ) -> dict[tuple[str, str], MetricSummary]:
    """Every summary of the run by (key, split) from the `existing` ones, creating the
    missing ones of `series`."""
    existing = {(s.key, s.split): s for s in existing}
    missing = sorted(series - existing.keys())
    if not missing:
        return existing
    sources = [(source_keys or {}).get(series, "") for series in missing]
    if connection.vendor == "postgresql":
        keys, splits = zip(*missing, strict=True)
        created = hot_sql.fetch_all(_CREATE_SUMMARIES, [run.pk, list(keys), list(splits), sources])
        for row in created:
            summary = hot_sql.instance(MetricSummary, row)
            existing[summary.key, summary.split] = summary
        if len(created) == len(missing):
            return existing
    else:
        MetricSummary.objects.bulk_create(
            [MetricSummary(run=run, key=k, split=s, source_key=source)
             for (k, s), source in zip(missing, sources, strict=True)], ignore_conflicts=True)
    return {(s.key, s.split): s for s in run_summaries(run.pk)}  # some were made meanwhile


_CREATE_SUMMARIES = (
    f"INSERT INTO {SUMMARY_TABLE} (run_id, key, split, source_key, count) "
    "SELECT %s, k, s, src, 0 FROM unnest(%s::text[], %s::text[], %s::text[]) AS x(k, s, src) "
    f"ON CONFLICT (run_id, key, split) DO NOTHING RETURNING {hot_sql.columns(MetricSummary)}"
)


class Inserted(NamedTuple):
    """What insert_points stored, for refresh_summaries."""

    new: dict[int, Columns]  # the new points of each series, by summary id
    summaries: dict[int, MetricSummary]  # every summary of the run, by id
    # Each series' new points rose past its last stored (step, timestamp): they are the
    # latest points at their steps.
    past_last: bool

    @property
    def stored(self) -> int:
        """How many points were new."""
        return sum(len(steps) for steps, _, _ in self.new.values())


def insert_points(*, locked: Locked, batch: dict[tuple[str, str], Columns],
                  source_keys: dict[tuple[str, str], str] | None = None) -> Inserted:
    """Store a batch's points, by (key, split), in the run the caller locked.

    A point is stored once: one its series already has at the same step and
    timestamp (a replayed batch) is skipped, and of repeats inside a batch the last
    value is kept. A batch whose points rise by (step, timestamp) in each series,
    past the series' last stored point (what training does, including MLflow's
    every-epoch-at-step-0), cannot hold a replay and is stored without reading any
    point; any other batch first reads the stored points of its step range.
    """
    by_series = summaries_for(run=locked.run, series=set(batch), existing=locked.summaries,
                              source_keys=source_keys)
    summaries = {summary.id: summary for summary in by_series.values()}
    new: dict[int, Columns] = {}
    past_last = True
    for series, columns in batch.items():
        summary = by_series[series]
        steps, stamps, _ = columns
        if past_last and not (
                (not summary.count
                 or (steps[0], stamps[0]) > (summary.last_step, summary.last_timestamp))
                and points_module.in_order(steps, stamps)):
            past_last = False
        new[summary.id] = columns
    if not past_last:
        new = _without_replays(new)
    points_module.append(new, ordered=past_last)
    return Inserted(new, summaries, past_last)


def _without_replays(batch: dict[int, Columns]) -> dict[int, Columns]:
    """The batch without the points stored already (and with one point per step and time)."""
    low = min(min(steps) for steps, _, _ in batch.values())
    high = max(max(steps) for steps, _, _ in batch.values())
    stored = points_module.stored_keys(batch.keys(), (low, high))
    new = {}
    for sid, (steps, stamps, values) in batch.items():
        unique = {}
        for step, ts, value in zip(steps, stamps, values, strict=True):
            if (sid, step, ts) not in stored:
                unique[step, ts] = value  # a repeat inside the batch: its last value counts
        if unique:
            new[sid] = ([step for step, _ in unique], [ts for _, ts in unique],
                        list(unique.values()))
    return new


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

    selection = None
    if target is not None:
        selection = next((s for s in summaries.values()
                          if s.key == target.metric and s.split == target.selected_on), None)
    old_best_step = run.best_step
    if selection is None:
        new_best_step = None
    elif old_best_step is None:
        new_best_step = _best_of(points_module.step_values(selection.id), target.direction)
    elif selection.id in new:
        steps, _, values = new[selection.id]
        if past_last:
            candidates = dict(zip(steps, values, strict=True))  # the latest at a step wins
        else:
            touched = set(steps)
            candidates = {step: value for step, value in points_module.step_values(
                selection.id, (min(touched), max(touched))).items() if step in touched}
        if old_best_step in candidates and not _at_least_as_good(
                candidates[old_best_step], selection.best_value, target.direction):
            # The best step's value was superseded by a worse one (MLflow scripts log
            # every epoch at step 0): another step may now be best, so rescan.
            new_best_step = _best_of(points_module.step_values(selection.id), target.direction)
        else:
            candidates.setdefault(old_best_step, selection.best_value)
            new_best_step = _best_of(candidates, target.direction)
    else:
        new_best_step = old_best_step

    # Past the last points, a series' new point at the best step, if the batch has one, is
    # the latest there: its value need not be read back.
    known = {}
    if past_last and new_best_step is not None:
        for sid, (steps, _, values) in new.items():
            if steps[0] <= new_best_step <= steps[-1]:
                for step, value in zip(steps, values, strict=True):
                    if step == new_best_step:
                        known[sid] = _db_value(value)
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
