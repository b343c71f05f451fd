"""Storage of metric points, under their run's row lock.

A batch is stored in a handful of statements: the lock (which also records the
heartbeat and reads the target), the run's summaries, one INSERT of a block per
series (tracker.points); tracker.summaries then updates the summaries it changed.
The summaries tell whether a batch can hold a replayed point: when each series'
points rise past its last stored (step, timestamp), none can, and no point is
read; otherwise the stored points of the batch's step range are read and the
replays skipped, so every point is stored once. The same statements serve
PostgreSQL and SQLite.
"""

from typing import NamedTuple

from django.db import connection

from tracker import hot_sql
from tracker import points as points_module
from tracker.models import MetricSummary, Run, Target
from tracker.points import Columns

RUN_TABLE = Run._meta.db_table
SUMMARY_TABLE = MetricSummary._meta.db_table
TARGET_TABLE = Target._meta.db_table


class Locked(NamedTuple):
    """A run locked for logging, with what storing a batch needs to know."""

    run: Run  # id, project, status, deletion, params, tags, best step
    target: Target | None  # the project's target (metric, direction, selection and judged splits)
    summaries: list[MetricSummary]  # every summary of the run
    judged_on: str  # the split results are judged on (the target's, else "test")


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
    *columns, metric, direction, selected_on, judged_on = row
    run = hot_sql.instance(Run, columns)
    target = None if metric is None else Target(
        project_id=run.project_id, metric=metric, direction=direction, selected_on=selected_on,
        judged_on=judged_on)
    return Locked(run, target, [hot_sql.instance(MetricSummary, r) for r in summary_rows],
                  judged_on or Target._meta.get_field("judged_on").default)


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
                for column in ("metric", "direction", "selected_on", "judged_on")))


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
