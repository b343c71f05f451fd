"""Metric series: a run's history of one series (whole or in buckets), several series
downsampled for overlaid charts, and the summaries of many runs at once."""

import math
from bisect import bisect_left
from dataclasses import dataclass

from django.db.models import QuerySet

from tracker import limits, points
from tracker.errors import InvalidInput, NotFound
from tracker.models import MetricSummary, Project, Run
from tracker.numbers import finite_or_none


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


@dataclass(frozen=True, slots=True)
class _Bucket:
    """The points of one step range: its steps and times, lowest and highest value (NaN is
    never an extreme: None when every value is NaN), how many, and the last point's value."""

    step_min: int
    step_max: int
    t_min: int
    t_max: int
    low: float | None
    high: float | None
    count: int
    last: float


def _extremes(values) -> tuple[float | None, float | None]:
    """Lowest and highest value, NaN left out; min() and max() run at C speed, and the sum
    tells whether a NaN is there (or both infinities, which the slow path handles too)."""
    if not math.isnan(sum(values)):
        return min(values), max(values)
    numbers = [v for v in values if v == v]
    return (min(numbers), max(numbers)) if numbers else (None, None)


def _buckets(columns: tuple, buckets: int) -> list[_Bucket]:
    """The series (columns of steps, timestamps and values in step then time order) cut into
    `buckets` equal ranges of its steps; ranges without points are left out. Each range is
    found by bisection and summed up by slices, never point by point."""
    steps, timestamps, values = columns
    lo, hi = steps[0], steps[-1]
    width = max(1, math.ceil((hi - lo + 1) / buckets))
    out: list[_Bucket] = []
    start, size = 0, len(steps)
    while start < size:
        end = bisect_left(steps, lo + ((steps[start] - lo) // width + 1) * width, start)
        low, high = _extremes(values[start:end])
        times = timestamps[start:end]
        out.append(_Bucket(steps[start], steps[end - 1], min(times), max(times), low, high,
                           end - start, values[end - 1]))
        start = end
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
    columns = points.series_columns([summary.id]).get(summary.id)
    if not columns:
        return []
    return [{"step_min": b.step_min, "step_max": b.step_max, "count": b.count,
             "min": _nan(b.low), "max": _nan(b.high), "last": b.last}
            for b in _buckets(columns, buckets)]


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


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
    found = points.series_columns(out)
    for sid, columns in found.items():
        series = out[sid]
        if len(columns[0]) <= buckets:
            series["step"], series["time"] = list(columns[0]), list(columns[1])
            series["value"] = [finite_or_none(value) for value in columns[2]]
            continue
        # Each series is cut over its own step range, so a short run next to a long one
        # keeps its detail.
        series["bucketed"] = True
        previous = None
        for bucket in _buckets(columns, buckets):
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
