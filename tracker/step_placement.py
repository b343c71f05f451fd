"""Where a result logged without a step goes: at the run's last step, on the judged split.

A test set is usually evaluated once, after training, and logged without a step. Stored at
step 0 it would be drawn beside the first epoch, and read as the run's value at its best
step when validation peaked at step 0, though it was measured on the final weights. So a
point of the judged split (or a slice of it) logged without a step goes to the run's last
step: the highest step any metric of the run has reached, counting the batch it came in (0
before any). Points of other splits stay where the client put them (the SDK's next step of
the series, else 0).

What counts as "without a step" depends on the client: a v1 point with no `step` (or null),
or one whose step the client counted itself (`"auto_step": true`, as the SDK sends a call
without a step); for MLflow's client, step 0, which it sends when the script gives none
(the two cannot be told apart), unless the batch holds the series at other steps too (a
curve logged at once).

Placing is replay-safe: a point whose series already holds one with the same timestamp and
value is the same point sent again, and goes where its first copy went even if the run has
moved on since. A point whose place holds another value at the same timestamp stays at its
own step, so nothing is overwritten.
"""

import math
from typing import NamedTuple

from tracker import points as points_module
from tracker.models import MetricSummary
from tracker.points import Columns

Series = tuple[str, str]


class StepLess(NamedTuple):
    """How a batch tells its points sent without a step: by the v1 points as they were sent
    (`metrics`), or by MLflow's step 0 (`zero_step_is_none`)."""

    metrics: list[dict] | None
    zero_step_is_none: bool = False

    def place(self, batch: dict[Series, Columns], *, summaries: list[MetricSummary],
              judged_on: str) -> None:
        """Move the batch's judged points sent without a step to the run's last step."""
        judged = {series for series in batch if on_judged_split(series[1], judged_on)}
        if not judged:
            return
        if self.zero_step_is_none:
            found = zero_step_points(batch, judged_on)
        elif self.metrics:
            found = stepless_points(self.metrics, judged)
        else:
            return
        place(batch, summaries=summaries, judged_on=judged_on, stepless=found)


def on_judged_split(split: str, judged_on: str) -> bool:
    """Whether a split is the judged split or a slice of it (test/long_texts of test)."""
    return split == judged_on or split.startswith(judged_on + "/")


def stepless_points(metrics: list[dict], series: set[Series]) -> dict[Series, list[int]]:
    """The v1 points of these series sent without a step (none, null, or counted by the
    client: `auto_step`), by their index in their series' columns as clean_points built
    them (in the order they came)."""
    seen = dict.fromkeys(series, 0)
    found: dict[Series, list[int]] = {}
    for point in metrics:
        key = (point["key"], point.get("split") or "train")
        index = seen.get(key)
        if index is None:
            continue
        seen[key] = index + 1
        if point.get("step") is None or point.get("auto_step") is True:
            found.setdefault(key, []).append(index)
    return found


def zero_step_points(batch: dict[Series, Columns], judged_on: str) -> dict[Series, list[int]]:
    """The points an MLflow client logged at step 0 on the judged split, which may have come
    without a step: every point of a judged series whose batch holds it at step 0 only."""
    return {series: list(range(len(steps))) for series, (steps, _, _) in batch.items()
            if on_judged_split(series[1], judged_on) and not any(steps)}


def place(batch: dict[Series, Columns], *, summaries: list[MetricSummary], judged_on: str,
          stepless: dict[Series, list[int]]) -> None:
    """Move the `stepless` points of the batch's judged series to the run's last step (their
    steps are changed in the batch). `summaries`: every stored summary of the run."""
    moving = {series: indices for series, indices in stepless.items()
              if indices and on_judged_split(series[1], judged_on)}
    if not moving:
        return
    last = _last_step(batch, summaries, moving)
    stored_series = {(s.key, s.split): s for s in summaries if s.count}
    stored = points_module.series_points([stored_series[s].id for s in moving
                                          if s in stored_series])
    for series, indices in moving.items():
        summary = stored_series.get(series)
        _place_series(batch[series], indices, last, stored.get(summary.id, []) if summary else [])


def _last_step(batch: dict[Series, Columns], summaries: list[MetricSummary],
               moving: dict[Series, list[int]]) -> int:
    """The highest step of the run's stored points and of the batch's points that stay."""
    highest = [s.last_step for s in summaries if s.count and s.last_step is not None]
    for series, (steps, _, _) in batch.items():
        if series in moving:
            leaving = set(moving[series])
            steps = [step for i, step in enumerate(steps) if i not in leaving]
        if steps:
            highest.append(max(steps))
    return max(highest, default=0)


def _place_series(columns: Columns, indices: list[int], last: int,
                  stored: list[tuple[int, int, float]]) -> None:
    steps, stamps, values = columns
    leaving = set(indices)
    taken = {(step, ts): value for step, ts, value in stored}
    taken.update({(steps[i], stamps[i]): values[i] for i in range(len(steps))
                  if i not in leaving})
    first_copies = {(ts, _key(value)): step for step, ts, value in stored}
    for i in indices:
        ts, value = stamps[i], values[i]
        step = first_copies.get((ts, _key(value)))
        if step is None:
            held = taken.get((last, ts), value)
            if not _same(held, value):
                continue  # another value holds that place at that time: keep the point's own
            step = last
        steps[i] = step
        taken[(step, ts)] = value


def _key(value: float) -> float | str:
    return "NaN" if math.isnan(value) else value


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))
