"""Logging to a run: metric points (append-only, each stored once), params (write-once)
and tags (last write wins), in one transaction per batch."""

import time
from collections.abc import Callable

from django.utils import timezone

from tracker import hot_sql, limits, signals, step_placement, telemetry
from tracker.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from tracker.ingest import LockGuard, insert_points, lock_run_for_logging, save_run_fields
from tracker.models import MetricSummary, Run
from tracker.points import Columns
from tracker.services.runs import check_not_deleted
from tracker.summaries import refresh_summaries
from tracker.validation import check_key, check_split, clean_params, clean_tags, to_float, to_int

_MISSING = object()
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def clean_points(metrics: object, *, now_ms: int | None = None, by_name: bool = False,
                 timestamp_required: bool = False) -> dict[tuple[str, str] | str, Columns]:
    """Validate metric points; returns each series' (steps, timestamps, values) by (key, split).

    A point without a timestamp gets the server's clock (clients that retry send
    their own, so a replay is recognised), unless `timestamp_required`. Without a
    step it is at step 0 here (log_batch may place it: tracker.step_placement).
    `by_name`: the points carry a client's own names
    (MLflow's "val_f1") and no split; they are grouped by that name, which the
    caller checked and resolves to a series later.
    """
    if not isinstance(metrics, list):
        raise InvalidInput("metrics must be a list of points", field="metrics")
    if len(metrics) > limits.MAX_POINTS_PER_BATCH:
        raise LimitExceeded(
            f"{len(metrics)} metric points in one request; the limit is "
            f"{limits.MAX_POINTS_PER_BATCH}: split the batch", field="metrics")
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    batch: dict[tuple[str, str], Columns] = {}
    # The loop runs for every point of every batch: well-formed points take the fast
    # path, and the name of a field ("metrics[7].step") is only made for an error.
    for i, point in enumerate(metrics):
        if type(point) is not dict and not isinstance(point, dict):
            raise InvalidInput(f"metrics[{i}] must be an object with key, split, step, "
                               "value", field=f"metrics[{i}]")
        series = point["key"] if by_name else (point.get("key"), point.get("split") or "train")
        try:
            columns = batch.get(series)
        except TypeError:  # a key or split that is not even hashable
            columns = None
        if columns is None:  # each series is validated once
            if not by_name:
                check_key(series[0], field=f"metrics[{i}].key")
                check_split(series[1], field=f"metrics[{i}].split")
            columns = batch[series] = ([], [], [])
        step, ts, value = point.get("step"), point.get("timestamp"), point.get("value", _MISSING)
        if type(step) is str:  # MLflow's JSON carries int64 as strings
            try:
                step = int(step)
            except ValueError:
                to_int(step, field=f"metrics[{i}].step")  # raises, naming the field
        if type(ts) is str:
            try:
                ts = int(ts)
            except ValueError:
                to_int(ts, field=f"metrics[{i}].timestamp")
        if type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = 0 if step is None else to_int(step, field=f"metrics[{i}].step")
        if type(ts) is not int or not _INT64_MIN <= ts <= _INT64_MAX:
            if ts is None and timestamp_required:
                raise InvalidInput(f"metrics[{i}].timestamp is required",
                                   field=f"metrics[{i}].timestamp")
            ts = now_ms if ts is None else to_int(ts, field=f"metrics[{i}].timestamp")
        if type(value) is not float:
            if value is _MISSING or (value is None and timestamp_required):
                raise InvalidInput(f"metrics[{i}].value is required", field=f"metrics[{i}].value")
            value = to_float(value, field=f"metrics[{i}].value")
        columns[0].append(step)
        columns[1].append(ts)
        columns[2].append(value)
    return batch


# Resolves a batch's point names to series from the run's summaries (see log_batch).
SeriesResolver = Callable[[list[str], list[MetricSummary]], dict[str, tuple[str, str]]]


def log_batch(*, run: Run, metrics: list | None = None, params: dict | None = None,
              tags: dict | None = None, series_of: SeriesResolver | None = None,
              guard: LockGuard | None = None,
              points: dict[str, Columns] | None = None,
              zero_step_is_none: bool = False) -> dict:
    """Append metric points and set params and tags in one transaction.

    Points are append-only and a replayed point is stored once; params are
    write-once (the same value again is fine, another value is a conflict);
    tags are last-write-wins. A finished run still takes points (test
    evaluation often comes after training); a deleted run takes none.
    `series_of` resolves the metric names of an external client to series
    (MLflow's "val_f1" to ("f1", "validation")), given the run's summaries as
    they are under the run's lock: its points carry no split, each must have a
    timestamp and a value, and a new series records the name it was logged
    under. `guard`: a condition the run's row must meet for its lock (the caller's
    permission, checked by the lock's own statement); a run that does not meet it is
    NotFound, and nothing is written. `run` is then filled in from its locked row, so
    it may be a bare Run(pk=…). `points` instead of `metrics`: points by name that a
    client's own reader found valid, as clean_points(by_name=True) gives them (its
    steps and timestamps ints of 64 bits, its values floats). A point of the judged split
    sent without a step goes to the run's last step (tracker.step_placement); with
    `zero_step_is_none` (MLflow's client, which sends 0 for no step), so does one at step
    0. Returns how many points were new.
    """
    if points is not None:
        batch = points
    else:
        batch = clean_points(metrics or [], by_name=series_of is not None,
                             timestamp_required=series_of is not None)
    checked_params = clean_params(params or {})
    checked_tags = clean_tags(tags or {})
    stepless = step_placement.StepLess(
        metrics if points is None and series_of is None else None, zero_step_is_none)
    stored, locked = _log_batch(run, batch, checked_params, checked_tags, series_of, guard,
                                stepless)
    telemetry.count_points(stored)
    for field in Run._meta.concrete_fields:  # as stored, under the lock
        setattr(run, field.attname, getattr(locked, field.attname))
    signals.run_results_changed.send(sender=Run, run=run)
    return {"points_received": sum(len(steps) for steps, _, _ in batch.values()),
            "points_stored": stored, "params": len(checked_params), "tags": len(checked_tags)}


def _by_series(batch: dict[str, Columns], summaries: list[MetricSummary],
               series_of: SeriesResolver) -> tuple[dict[tuple[str, str], Columns], dict]:
    """A batch grouped by name, regrouped by the series each name resolves to; and the name
    each series was logged under (resolved names never share a series)."""
    resolved = series_of(list(batch), summaries)
    by_series, source_keys = {}, {}
    for name, columns in batch.items():
        series = resolved[name]
        check_key(series[0], field="metrics.key")
        check_split(series[1], field="metrics.split")
        by_series[series], source_keys[series] = columns, name
    return by_series, source_keys


def _log_batch(run: Run, batch: dict, params: dict, tags: dict,
               series_of: SeriesResolver | None, guard: LockGuard | None,
               stepless: step_placement.StepLess) -> tuple[int, Run]:
    """log_batch's transaction: lock the run, check and set params and tags, store points.

    In psycopg's pipeline mode the whole transaction takes two round trips to PostgreSQL
    (and the pipeline's closing sync): the lock with the read of the run's series, then the
    writes (params and tags, points, summaries) with the commit. Names are resolved to
    series under the lock, so two first batches cannot both claim one series.
    """
    with hot_sql.atomic_pipeline():
        lock = lock_run_for_logging(run.pk, now=timezone.now(), guard=guard)
        if lock is None:
            raise NotFound(f"run {run.pk} does not exist", field="run")
        locked, target = lock.run, lock.target
        check_not_deleted(locked)
        for key, value in params.items():
            if key in locked.params and locked.params[key] != value:
                raise Conflict(
                    f"param {key!r} is already {locked.params[key]!r}; params are write-once, "
                    f"so it cannot become {value!r} (start a new run to try another value)",
                    field=f"params.{key}")
        fields = []
        if params:
            locked.params = {**locked.params, **params}
            fields.append("params")
        if tags:
            locked.tags = {**locked.tags, **tags}
            fields.append("tags")
        if fields:
            save_run_fields(locked, fields)
        stored = 0
        if batch:
            source_keys = None
            if series_of is not None:
                batch, source_keys = _by_series(batch, lock.summaries, series_of)
            stepless.place(batch, summaries=lock.summaries, judged_on=lock.judged_on)
            inserted = insert_points(locked=lock, batch=batch, source_keys=source_keys)
            stored = inserted.stored
            if inserted.new:
                refresh_summaries(run=locked, target=target, new=inserted.new,
                                  summaries=inserted.summaries, past_last=inserted.past_last)
    return stored, locked
