"""Bulk storage of metric points and the upkeep of their summaries.

Points go in with one statement per batch on PostgreSQL (INSERT … SELECT FROM
unnest … ON CONFLICT DO NOTHING RETURNING), so a replayed point is skipped by
the unique index and only genuinely new points update the summaries. SQLite,
the zero-set-up default, inserts row by row inside one transaction, which is
fast in-process.
"""

import math
from collections import defaultdict

from django.db import connection
from django.db.models import F

from tracker.models import MetricPoint, MetricSummary, Run, Target
from tracker.selection import best_index, usable

POINT_TABLE = MetricPoint._meta.db_table


def _db_value(value: float) -> float | None:
    return None if math.isnan(value) else value


def _py_value(value: float | None) -> float:
    return math.nan if value is None else value


def summaries_for(*, run: Run, series: set[tuple[str, str]],
                  source_keys: dict[tuple[str, str], str] | None = None,
                  ) -> dict[tuple[str, str], MetricSummary]:
    """Every summary of the run by (key, split), creating the missing ones of `series`."""
    existing = {(s.key, s.split): s for s in MetricSummary.objects.filter(run=run)}
    missing = series - existing.keys()
    if missing:
        MetricSummary.objects.bulk_create(
            [MetricSummary(run=run, key=k, split=s, source_key=(source_keys or {}).get((k, s), ""))
             for k, s in missing],
            ignore_conflicts=True,
        )
        existing = {(s.key, s.split): s for s in MetricSummary.objects.filter(run=run)}
    return existing


def insert_points(*, run: Run, points: list[tuple],
                  source_keys: dict[tuple[str, str], str] | None = None,
                  ) -> tuple[int, list[tuple] | None, set[int], dict[int, MetricSummary]]:
    """Insert (key, split, step, timestamp, value) points.

    Returns (stored, new, summary_ids, summaries): how many points were new; the
    new points as (summary_id, step, timestamp, value) tuples, or None when only
    some were new and which ones is unknown (the caller then recounts
    `summary_ids` from the stored points); the summaries the batch touched; and
    every summary of the run by id, for `refresh_summaries`.
    """
    by_series = summaries_for(run=run, series={(p[0], p[1]) for p in points},
                              source_keys=source_keys)
    ids = {series: summary.id for series, summary in by_series.items()}
    summaries = {summary.id: summary for summary in by_series.values()}
    # Duplicates inside one batch are dropped here; the index drops replays.
    unique = {(ids[(k, s)], step, ts): v for k, s, step, ts, v in points}
    rows = [(sid, step, ts, v) for (sid, step, ts), v in unique.items()]
    affected = {r[0] for r in rows}
    if connection.vendor != "postgresql":
        new = _insert_row_by_row(rows)
        return len(new), new, affected, summaries
    inserted = _insert_postgresql(rows)
    if inserted == len(rows):
        return inserted, rows, affected, summaries  # the usual case: every point is new
    if inserted == 0:
        return 0, [], affected, summaries  # a replay of a stored batch
    return inserted, None, affected, summaries


def _array_text(values, *, floats: bool = False) -> str:
    """A PostgreSQL array literal; far faster to build than adapting 10,000 elements one by one."""
    if not floats:
        return "{" + ",".join(map(str, values)) + "}"
    out = []
    for v in values:
        if v is None or v != v:
            out.append("NULL")
        elif v in (math.inf, -math.inf):
            out.append("Infinity" if v > 0 else "-Infinity")
        else:
            out.append(repr(v))
    return "{" + ",".join(out) + "}"


def _insert_postgresql(rows: list[tuple]) -> int:
    """One INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING; returns how many were new."""
    sql = (
        f"WITH inserted AS (INSERT INTO {POINT_TABLE} (summary_id, step, timestamp, value) "
        "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::double precision[]) "
        "ON CONFLICT (summary_id, step, timestamp) DO NOTHING RETURNING 1) "
        "SELECT count(*) FROM inserted"
    )
    import psycopg

    summary_ids, steps, stamps, values = zip(*rows, strict=True)
    params = [_array_text(summary_ids), _array_text(steps), _array_text(stamps),
              _array_text(values, floats=True)]
    connection.ensure_connection()
    # Django's psycopg cursors bind client-side, escaping the arrays into the SQL
    # text; a server-side-binding cursor on the same connection (so in the same
    # transaction) sends them as parameters, which is several times faster.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


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


def _selection_summary(run: Run, target: Target | None) -> MetricSummary | None:
    if target is None:
        return None
    return MetricSummary.objects.filter(run=run, key=target.metric,
                                        split=target.selected_on).first()


def _best_of(step_values: dict[int, float], direction: str) -> int | None:
    steps = sorted(step_values)
    index = best_index([step_values[s] for s in steps], direction=direction)
    return None if index is None else steps[index]


def refresh_summaries(*, run: Run, target: Target | None, new_points: list[tuple] = (),
                      recount: set[int] = frozenset(),
                      summaries: dict[int, MetricSummary] | None = None) -> None:
    """Bring the run's summaries up to date after `new_points` were stored.

    last/min/max/count are updated from the new points alone. The run's best
    step moves only when the selection series got a better step (or the point
    at the current best step was superseded, which needs a rescan); when it
    moves, every summary of the run re-reads its value at the new best step.
    `recount` names summaries whose new points are unknown: they are recounted
    from the stored points. `summaries` (every summary of the run by id) saves
    reading them again when the caller has them.
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

    if new_best_step != old_best_step:
        run.best_step = new_best_step
        Run.objects.filter(pk=run.pk).update(best_step=new_best_step)
        _set_best_values(summaries.values(), new_best_step)
        changed = set(summaries)
    else:
        touched_at_best = [summaries[sid] for sid, pts in by_summary.items()
                           if new_best_step is None
                           or any(step == new_best_step for step, _, _ in pts)
                           or summaries[sid].best_step != new_best_step]
        _set_best_values(touched_at_best + [summaries[sid] for sid in recount], new_best_step)

    if changed:
        _save_summaries([summaries[sid] for sid in changed])


_SUMMARY_FIELDS = ("count", "last_value", "last_step", "last_timestamp", "min_value",
                   "max_value", "best_value", "best_step")


def _save_summaries(rows: list[MetricSummary]) -> None:
    """Write the summaries' figures back; one UPDATE … FROM (VALUES …) on PostgreSQL."""
    if connection.vendor != "postgresql":
        MetricSummary.objects.bulk_update(rows, list(_SUMMARY_FIELDS))
        return
    import psycopg

    table = MetricSummary._meta.db_table
    types = ("bigint", "bigint", "double precision", "bigint", "bigint", "double precision",
             "double precision", "double precision", "bigint")
    values = ", ".join(
        "(" + ", ".join(f"%s::{t}" for t in types) + ")" for _ in rows)
    params = []
    for r in rows:
        params += [r.id, r.count, r.last_value, r.last_step, r.last_timestamp, r.min_value,
                   r.max_value, r.best_value, r.best_step]
    assignments = ", ".join(f"{f} = v.{f}" for f in _SUMMARY_FIELDS)
    sql = (f"UPDATE {table} AS s SET {assignments} FROM (VALUES {values}) "
           f"AS v(id, {', '.join(_SUMMARY_FIELDS)}) WHERE s.id = v.id")
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # server-side binding, as above
        cursor.execute(sql, params)


def _at_least_as_good(value: float | None, best: float | None, direction: str) -> bool:
    if not usable(value):
        return False
    if not usable(best):
        return True
    return value >= best if direction == "maximize" else value <= best


def _fold_points(summary: MetricSummary, points: list[tuple]) -> None:
    """Update count/last/min/max with new points (NaN counts but never is a min or max)."""
    summary.count += len(points)
    for step, ts, value in points:
        if summary.last_step is None or (step, ts) >= (summary.last_step, summary.last_timestamp):
            summary.last_step, summary.last_timestamp = step, ts
            summary.last_value = _db_value(value)
        if usable(value):
            if summary.min_value is None or value < summary.min_value:
                summary.min_value = value
            if summary.max_value is None or value > summary.max_value:
                summary.max_value = value


def _recount(summaries) -> None:
    for summary in summaries:
        summary.count, summary.last_step, summary.last_timestamp = 0, None, None
        summary.last_value = summary.min_value = summary.max_value = None
        pts = MetricPoint.objects.filter(summary=summary).values_list("step", "timestamp",
                                                                      "value")
        _fold_points(summary, [(s, t, _py_value(v)) for s, t, v in pts])


def _set_best_values(summaries, best_step: int | None) -> None:
    """Each summary's value at the run's best step, or its last value when it has none there."""
    summaries = list(summaries)
    at_best: dict[int, float | None] = {}
    if best_step is not None and summaries:
        rows = (MetricPoint.objects
                .filter(summary_id__in=[s.id for s in summaries], step=best_step)
                .order_by("summary_id", "timestamp")
                .values_list("summary_id", "value"))
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
