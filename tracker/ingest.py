"""Bulk storage of metric points and the upkeep of their summaries.

A batch is stored under its run's row lock in a handful of statements: the lock
(which also records the heartbeat and reads the target), the run's summaries,
one INSERT of every point, one UPDATE of the summaries it changed. Points go in
as INSERT … SELECT FROM unnest(…) on PostgreSQL: plainly when the summaries show
that no point can be a replay (each series' steps rise past its last stored
step), else with ON CONFLICT DO NOTHING, so a replayed point is skipped by the
(summary, step, timestamp) key and only genuinely new points update the
summaries. SQLite, the zero-set-up default, inserts row by row inside one
transaction, which is fast in-process.
"""

import math
from collections import defaultdict
from operator import itemgetter
from typing import NamedTuple

import orjson
from django.db import connection
from django.db.models import F

from tracker import hot_sql
from tracker.models import MetricPoint, MetricSummary, Run, Target
from tracker.selection import best_index, usable

POINT_TABLE = MetricPoint._meta.db_table
RUN_TABLE = Run._meta.db_table
SUMMARY_TABLE = MetricSummary._meta.db_table
TARGET_TABLE = Target._meta.db_table


def _db_value(value: float) -> float | None:
    return None if math.isnan(value) else value


def _py_value(value: float | None) -> float:
    return math.nan if value is None else value


def lock_run_for_logging(run_id, *, now) -> tuple[Run, Target | None] | None:
    """Lock the run for a batch and record its heartbeat, in one statement.

    Returns the run (id, project, status, deletion, params, tags, best step) and
    its project's target (metric, direction, selection split only), or None when
    there is no such run. The lock is held until the transaction ends, so batches
    of one run are stored one after another and see each other's summaries.
    """
    row = hot_sql.fetch_one(_LOCK_RUN, [now, run_id])
    if row is None:
        return None
    *columns, metric, direction, selected_on = row
    run = hot_sql.instance(Run, columns)
    if metric is None:
        return run, None
    return run, Target(project_id=run.project_id, metric=metric, direction=direction,
                       selected_on=selected_on)


_LOCK_RUN = (  # SQLite's RETURNING takes unqualified columns
    f"UPDATE {RUN_TABLE} SET last_heartbeat = %s WHERE id = %s RETURNING {hot_sql.columns(Run)}, "
    + ", ".join(f"(SELECT t.{column} FROM {TARGET_TABLE} AS t "
                f"WHERE t.project_id = {RUN_TABLE}.project_id)"
                for column in ("metric", "direction", "selected_on")))


def run_summaries(run_id) -> list[MetricSummary]:
    """Every summary of a run (one plain query: this is read for every batch)."""
    rows = hot_sql.fetch_all(f"SELECT {hot_sql.columns(MetricSummary)} FROM {SUMMARY_TABLE} "
                             "WHERE run_id = %s", [run_id])
    return [hot_sql.instance(MetricSummary, row) for row in rows]


def summaries_for(*, run: Run, series: set[tuple[str, str]],
                  source_keys: dict[tuple[str, str], str] | None = None,
                  ) -> dict[tuple[str, str], MetricSummary]:
    """Every summary of the run by (key, split), creating the missing ones of `series`."""
    existing = {(s.key, s.split): s for s in run_summaries(run.pk)}
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

    stored: int  # how many points were new
    # The new points as (summary_id, step, timestamp, value), or None when only some
    # were new and which ones is unknown (the affected summaries are then recounted).
    new: list[tuple] | None
    affected: set[int]  # the summaries the batch touched
    summaries: dict[int, MetricSummary]  # every summary of the run, by id
    new_steps: bool  # every point went past its series' last stored step


def insert_points(*, run: Run, points: list[tuple],
                  source_keys: dict[tuple[str, str], str] | None = None,
                  trust_summaries: bool = True) -> Inserted:
    """Insert (key, split, step, timestamp, value) points; the caller holds the run's lock.

    A batch whose steps rise strictly in each series, past the series' last stored
    step, cannot hold a replayed point: it goes in with a plain INSERT, which is
    cheaper than one that looks for conflicts. The summaries tell the last stored
    step; should a point exist anyway (`trust_summaries=False` is then the retry),
    the plain INSERT fails with IntegrityError and stores nothing.
    """
    by_series = summaries_for(run=run, series={(p[0], p[1]) for p in points},
                              source_keys=source_keys)
    ids = {series: summary.id for series, summary in by_series.items()}
    summaries = {summary.id: summary for summary in by_series.values()}
    last_step = {summary.id: summary.last_step for summary in summaries.values()
                 if summary.count}
    fresh = trust_summaries
    rows = []
    for key, split, step, ts, value in points:
        sid = ids[key, split]
        if fresh:
            before = last_step.get(sid)
            if before is not None and step <= before:
                fresh = False
            last_step[sid] = step
        rows.append((sid, step, ts, value))
    if not fresh:  # duplicates inside one batch are dropped here; the index drops replays
        unique = {(sid, step, ts): v for sid, step, ts, v in rows}
        rows = [(sid, step, ts, v) for (sid, step, ts), v in unique.items()]
    affected = {r[0] for r in rows}
    if connection.vendor != "postgresql":
        new = _insert_row_by_row(rows)
        if 0 < len(new) < len(rows):  # recount, as on PostgreSQL: the summaries may lag
            return Inserted(len(new), None, affected, summaries, False)
        return Inserted(len(new), new, affected, summaries, fresh and len(new) == len(rows))
    stored = _insert_postgresql(rows, replays_possible=not fresh)
    if stored == len(rows):  # the usual case: every point is new
        return Inserted(stored, rows, affected, summaries, fresh)
    if stored == 0:  # a replay of a stored batch
        return Inserted(0, [], affected, summaries, False)
    return Inserted(stored, None, affected, summaries, False)


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


_INSERT = (f"INSERT INTO {POINT_TABLE} (summary_id, step, timestamp, value) "
           "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], "
           "%s::double precision[])")
_INSERT_NEW_ONLY = (f"WITH inserted AS ({_INSERT} ON CONFLICT (summary_id, step, timestamp) "
                    "DO NOTHING RETURNING 1) SELECT count(*) FROM inserted")


def _insert_postgresql(rows: list[tuple], *, replays_possible: bool = True) -> int:
    """One INSERT … SELECT FROM unnest (… ON CONFLICT DO NOTHING when points may be stored
    already); returns how many were new.

    The columns go as four array literals bound server-side: far cheaper than
    adapting thousands of values one by one, or escaping them into the SQL text.
    """
    summary_ids, steps, stamps, values = zip(*rows, strict=True)
    params = [_array_text(summary_ids), _array_text(steps), _array_text(stamps),
              _array_text(values, floats=True)]
    if not replays_possible:
        return hot_sql.execute(_INSERT, params)
    return hot_sql.fetch_one(_INSERT_NEW_ONLY, params)[0]


def _insert_row_by_row(rows: list[tuple]) -> list[tuple]:
    sql = (f"INSERT OR IGNORE INTO {POINT_TABLE} (summary_id, step, timestamp, value) "
           "VALUES (%s, %s, %s, %s)")
    new = []
    with connection.cursor() as cursor:
        for sid, step, ts, value in rows:
            cursor.execute(sql, [sid, step, ts, _db_value(value)])
            if cursor.rowcount:
                new.append((sid, step, ts, value))
    return new


def _step_values(summary_id: int, steps: tuple[int, int] | None = None) -> dict[int, float]:
    """The value of each step of a series (the latest point at it), optionally in a step range."""
    query = MetricPoint.objects.filter(summary_id=summary_id)
    if steps is not None:
        query = query.filter(step__gte=steps[0], step__lte=steps[1])
    values: dict[int, float] = {}
    for step, value in query.order_by("step", "timestamp").values_list("step", "value"):
        values[step] = _py_value(value)  # later timestamps overwrite earlier ones
    return values


def _best_of(step_values: dict[int, float], direction: str) -> int | None:
    steps = sorted(step_values)
    index = best_index([step_values[s] for s in steps], direction=direction)
    return None if index is None else steps[index]


def refresh_summaries(*, run: Run, target: Target | None, new_points: list[tuple] = (),
                      recount: set[int] = frozenset(),
                      summaries: dict[int, MetricSummary] | None = None,
                      new_steps: bool = False) -> None:
    """Bring the run's summaries up to date after `new_points` were stored.

    last/min/max/count are updated from the new points alone. The run's best
    step moves only when the selection series got a better step (or the point
    at the current best step was superseded, which needs a rescan); when it
    moves, every summary of the run re-reads its value at the new best step.
    `recount` names summaries whose new points are unknown: they are recounted
    from the stored points. `summaries` (every summary of the run by id) saves
    reading them again when the caller has them. `new_steps` says that no other
    point shares a step with a new point of its series (the batch went past the
    last stored step), so the values at those steps need not be read back.
    """
    by_summary: dict[int, list[tuple]] = defaultdict(list)
    for sid, step, ts, value in new_points:
        by_summary[sid].append((step, ts, value))

    if summaries is None:
        summaries = {s.id: s for s in MetricSummary.objects.filter(run=run)}
    changed: set[int] = set(recount)
    for sid, pts in by_summary.items():
        _fold_points(summaries[sid], pts)
        changed.add(sid)
    _recount(summaries[sid] for sid in recount)

    selection = None
    if target is not None:
        selection = next((s for s in summaries.values()
                          if s.key == target.metric and s.split == target.selected_on), None)
    old_best_step = run.best_step
    if selection is None:
        new_best_step = None
    elif old_best_step is None or selection.id in recount:
        new_best_step = _best_of(_step_values(selection.id), target.direction)
    elif selection.id in by_summary:
        if new_steps:
            candidates = {step: value for step, _, value in by_summary[selection.id]}
        else:
            touched = {step for step, _, _ in by_summary[selection.id]}
            candidates = {step: value for step, value in
                          _step_values(selection.id, (min(touched), max(touched))).items()
                          if step in touched}
        if old_best_step in candidates and not _at_least_as_good(
                candidates[old_best_step], selection.best_value, target.direction):
            # The best step's value was superseded by a worse one (MLflow scripts log
            # every epoch at step 0): another step may now be best, so rescan.
            new_best_step = _best_of(_step_values(selection.id), target.direction)
        else:
            candidates.setdefault(old_best_step, selection.best_value)
            new_best_step = _best_of(candidates, target.direction)
    else:
        new_best_step = old_best_step

    # With new steps, a series' point at the best step, if the batch has one, is its only
    # point there: its value need not be read back.
    known = ({sid: _db_value(value) for sid, pts in by_summary.items()
              for step, _, value in pts if step == new_best_step}
             if new_steps and new_best_step is not None else {})
    if new_best_step != old_best_step:
        run.best_step = new_best_step
        hot_sql.execute(f"UPDATE {RUN_TABLE} SET best_step = %s WHERE id = %s",
                        [new_best_step, run.pk])
        _set_best_values(summaries.values(), new_best_step, known=known)
        changed = set(summaries)
    else:
        touched_at_best = [summaries[sid] for sid, pts in by_summary.items()
                           if new_best_step is None
                           or any(step == new_best_step for step, _, _ in pts)
                           or summaries[sid].best_step != new_best_step]
        _set_best_values(touched_at_best + [summaries[sid] for sid in recount], new_best_step,
                         known=known)

    if changed:
        _save_summaries([summaries[sid] for sid in changed])


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
    + f") AS v(id, {', '.join(_SUMMARY_FIELDS)}) WHERE s.id = v.id"
)


def _save_summaries(rows: list[MetricSummary]) -> None:
    """Write the summaries' figures back; one UPDATE … FROM unnest(…) on PostgreSQL."""
    if connection.vendor != "postgresql":
        MetricSummary.objects.bulk_update(rows, list(_SUMMARY_FIELDS))
        return
    params = [_array_text([r.id for r in rows])]
    for field in _SUMMARY_FIELDS:
        column = [getattr(r, field) for r in rows]
        params.append(_array_text(column, floats=_SUMMARY_TYPES[field] == "double precision"))
    hot_sql.execute(_UPDATE_SUMMARIES, params)


def _at_least_as_good(value: float | None, best: float | None, direction: str) -> bool:
    if not usable(value):
        return False
    if not usable(best):
        return True
    return value >= best if direction == "maximize" else value <= best


_STEP_AND_TIME = itemgetter(0, 1)


def _fold_points(summary: MetricSummary, points: list[tuple]) -> None:
    """Update count/last/min/max with new points (NaN counts but never is a min or max)."""
    if not points:
        return
    summary.count += len(points)
    # The latest (step, timestamp) is the last value; of equal ones, the later in the list.
    step, ts, value = max(reversed(points), key=_STEP_AND_TIME)
    if summary.last_step is None or (step, ts) >= (summary.last_step, summary.last_timestamp):
        summary.last_step, summary.last_timestamp = step, ts
        summary.last_value = _db_value(value)
    values = [v for _, _, v in points if v == v and v is not None]  # not NaN
    if values:
        low, high = min(values), max(values)
        if summary.min_value is None or low < summary.min_value:
            summary.min_value = low
        if summary.max_value is None or high > summary.max_value:
            summary.max_value = high


def _recount(summaries) -> None:
    for summary in summaries:
        summary.count, summary.last_step, summary.last_timestamp = 0, None, None
        summary.last_value = summary.min_value = summary.max_value = None
        pts = MetricPoint.objects.filter(summary=summary).values_list("step", "timestamp",
                                                                      "value")
        _fold_points(summary, [(s, t, _py_value(v)) for s, t, v in pts])


def _set_best_values(summaries, best_step: int | None,
                     known: dict[int, float | None] | None = None) -> None:
    """Each summary's value at the run's best step, or its last value when it has none there.

    `known` holds values at the best step the caller knows without reading (by summary id).
    """
    summaries = list(summaries)
    at_best: dict[int, float | None] = dict(known or {})
    unknown = [s.id for s in summaries if s.id not in at_best]
    if best_step is not None and unknown:
        in_summaries, params = hot_sql.any_of("summary_id", unknown, "bigint")
        rows = hot_sql.fetch_all(f"SELECT summary_id, value FROM {POINT_TABLE} WHERE "
                                 f"{in_summaries} AND step = %s ORDER BY summary_id, timestamp",
                                 params + [best_step])
        for sid, value in rows:
            at_best[sid] = value  # the latest timestamp at the step wins
    for summary in summaries:
        if summary.id in at_best:
            summary.best_value, summary.best_step = at_best[summary.id], best_step
        else:
            summary.best_value, summary.best_step = summary.last_value, summary.last_step


def refresh_project_best_steps(*, project_id: int, target: Target | None) -> None:
    """Recompute every run's best step and every summary's best value in a project.

    Needed when the target's metric, direction or selection split changes. Set
    based (a handful of queries whatever the number of runs); counts, minima,
    maxima and last values do not depend on the target and are left alone.
    """
    runs = Run.objects.filter(project_id=project_id)
    best_steps: dict = {}
    if target is not None:
        selection = dict(MetricSummary.objects.filter(
            run__project_id=project_id, key=target.metric, split=target.selected_on,
        ).values_list("id", "run_id"))
        step_values: dict[int, dict[int, float]] = defaultdict(dict)
        points = (MetricPoint.objects.filter(summary_id__in=selection)
                  .order_by("summary_id", "step", "timestamp")
                  .values_list("summary_id", "step", "value"))
        for sid, step, value in points.iterator(chunk_size=50_000):
            step_values[sid][step] = _py_value(value)  # the latest point at a step wins
        for sid, run_id in selection.items():
            best_steps[run_id] = _best_of(step_values.get(sid, {}), target.direction)
    run_rows = list(runs.only("id", "best_step"))
    for run in run_rows:
        run.best_step = best_steps.get(run.id)
    Run.objects.bulk_update(run_rows, ["best_step"], batch_size=1000)

    at_best: dict[int, float | None] = {}
    rows = (MetricPoint.objects
            .filter(summary__run__project_id=project_id, step=F("summary__run__best_step"))
            .order_by("summary_id", "timestamp").values_list("summary_id", "value"))
    for sid, value in rows.iterator(chunk_size=50_000):
        at_best[sid] = value
    summaries = list(MetricSummary.objects.filter(run__project_id=project_id)
                     .select_related(None).only("id", "run_id", "last_value", "last_step"))
    for summary in summaries:
        if summary.id in at_best:
            summary.best_value, summary.best_step = at_best[summary.id], best_steps[summary.run_id]
        else:
            summary.best_value, summary.best_step = summary.last_value, summary.last_step
    MetricSummary.objects.bulk_update(summaries, ["best_value", "best_step"], batch_size=1000)
