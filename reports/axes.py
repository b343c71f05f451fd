"""Where a chart's axes start and end: one rule for the report's figures and the web UI's
charts (pure: plain numbers in, plain numbers out).

A value axis is fitted to the values that matter and to the agreed bar, with a margin, so
how far the runs are from the bar is what the chart shows. It starts at a metric's natural
bound (0 for a fraction, 1 at the top) only when the values come near it, never because a
baseline sits there: a baseline (context) is drawn when it fits without flattening the
rest, and otherwise named at the edge it lies beyond. Bars start at zero, as a bar's length
is its value.

A time axis is fitted to the moments it shows; moments too close together for clock times
to read (a new project's first runs, logged within a minute) are drawn in the order they
happened instead, and the chart says so.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tracker import phrasing

PAD_SHARE = 0.06  # the margin on each side of a value axis, as a share of its span
MIN_SPAN_SHARE = 0.1  # the least span: a tenth of a bounded metric's range, else of its size
CONTEXT_STRETCH = 2.0  # context is drawn when the rest keeps at least 1/STRETCH of the height
NOTE_BAND_SHARE = 0.12  # room at an edge for the note naming what lies beyond it
TIME_PAD_SHARE = 0.04  # the margin on each side of a time axis
SPREAD_SHARE = 0.1  # moments over less of a window than this get an axis of their own
RUNS_MIN_SPAN_S = 60.0  # runs that ended closer together than this are drawn in order
CURVES_MIN_SPAN_S = 1.0  # points logged closer together than this are drawn by step
DAY_S = 86_400.0


@dataclass(frozen=True)
class OffScale:
    """Context left off the axis: its name, the value furthest out, on which side."""

    label: str
    value: float
    side: str  # "below" or "above"


@dataclass(frozen=True)
class ValueAxis:
    low: float
    high: float
    off_scale: tuple[OffScale, ...] = ()

    @property
    def range(self) -> list[float]:
        return [self.low, self.high]


def metric_bounds(metric: str, definition: str | None = None) -> tuple[float, float] | None:
    """The range every value of a metric lies in, when known (the metric table's: 0-1 for
    fractions such as accuracy and F1, never negative for errors and latency, at most 1 for
    R²). Axes stop there only when values come near it, and never cut a value."""
    return phrasing.phrasing_for(metric, definition).bounds


def _finite(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _min_span(low: float, high: float, bounds: tuple[float, float] | None) -> float:
    if bounds is not None and all(math.isfinite(b) for b in bounds):
        return (bounds[1] - bounds[0]) * MIN_SPAN_SHARE
    return (max(abs(low), abs(high)) * 2 * MIN_SPAN_SHARE) or 1.0


def _widened(low: float, high: float, bounds: tuple[float, float] | None) -> tuple[float, float]:
    """At least the least span, centred on the values, moved back inside the bounds the
    values are inside."""
    need = _min_span(low, high, bounds) - (high - low)
    if need <= 0:
        return low, high
    wide_low, wide_high = low - need / 2, high + need / 2
    if bounds is not None:
        if wide_low < bounds[0] <= low:
            return bounds[0], wide_high + (bounds[0] - wide_low)
        if wide_high > bounds[1] >= high:
            return wide_low - (wide_high - bounds[1]), bounds[1]
    return wide_low, wide_high


def _padded(low: float, high: float, data: tuple[float, float],
            bounds: tuple[float, float] | None) -> tuple[float, float]:
    """The margin added, stopping at a natural bound the values reach (never cutting one)."""
    pad = (high - low) * PAD_SHARE
    new_low, new_high = low - pad, high + pad
    if bounds is not None:
        if data[0] >= bounds[0] > new_low:
            new_low = bounds[0]
        if data[1] <= bounds[1] < new_high:
            new_high = bounds[1]
    return new_low, new_high


def value_axis(values: Iterable[float | None], *, bar: float | None = None,
               context: dict[str, Sequence[float | None]] | None = None,
               bounds: tuple[float, float] | None = None,
               from_zero: bool = False) -> ValueAxis | None:
    """The range of a value axis showing `values` and the `bar`.

    `context` (a baseline's values, by the name the chart gives them) is drawn when showing it
    needs at most CONTEXT_STRETCH times the span of the rest; otherwise it is left off and
    listed in `off_scale`. `bounds` are the metric's natural range (0-1 for a fraction, in
    the chart's scale), where the margin stops when the values reach them. `from_zero` (bar
    charts) keeps zero on the axis. None when there is nothing to show.
    """
    core = _finite(values) + _finite([bar])
    groups = {label: _finite(vs) for label, vs in (context or {}).items()}
    groups = {label: vs for label, vs in groups.items() if vs}
    if not core:  # only context: it is all there is to show
        core, groups = [v for vs in groups.values() for v in vs], {}
    if from_zero:
        core.append(0.0)
    if not core:
        return None
    low, high = _widened(min(core), max(core), bounds)
    span = high - low
    data_low, data_high = min(core), max(core)
    for group in groups.values():
        wider_low, wider_high = min(low, min(group)), max(high, max(group))
        if wider_high - wider_low <= CONTEXT_STRETCH * span:
            low, high = wider_low, wider_high
            data_low, data_high = min(data_low, min(group)), max(data_high, max(group))
    low, high = _padded(low, high, (data_low, data_high), bounds)
    off = tuple(OffScale(label, min(group), "below") if min(group) < low
                else OffScale(label, max(group), "above")
                for label, group in groups.items() if min(group) < low or max(group) > high)
    # A band at the edge something lies beyond, for the note that names it: no value of
    # the chart is drawn there, so the note covers nothing.
    band = (high - low) * NOTE_BAND_SHARE
    if any(o.side == "below" for o in off):
        low -= band
    if any(o.side == "above" for o in off):
        high += band
    return ValueAxis(low, high, off)


def padded_range(low: float, high: float, *, share: float = TIME_PAD_SHARE,
                 least: float = 0.5) -> list[float]:
    """[low, high] with a margin on each side (at least `least`), so that markers at the
    ends are drawn whole: a step axis, a time axis in seconds."""
    pad = max((high - low) * share, least)
    return [low - pad, high + pad]


@dataclass(frozen=True)
class TimeAxis:
    """A time axis in epoch seconds, or None for "draw these in order" (see time_axis)."""

    low: float
    high: float
    tickformat: str | None = None  # None: the chart library's own date ticks
    dtick_s: float | None = None


def time_axis(moments: Iterable[float | None], *, window: tuple[float, float] | None = None,
              min_span_s: float = RUNS_MIN_SPAN_S) -> TimeAxis | None:
    """A time axis (epoch seconds) for `moments`, or None when they are less than
    `min_span_s` apart from first to last: clock times that close do not read (a chart of
    seconds or milliseconds), so the caller draws the points in order and says so.

    With a `window` (a report's period), the axis spans the window when the moments are
    spread over it, and only the moments when they are bunched in a tenth of it.
    """
    found = _finite(moments)
    if not found or max(found) - min(found) < min_span_s:
        return None
    low, high = min(found), max(found)
    if window is not None and high - low >= (window[1] - window[0]) * SPREAD_SHARE:
        low, high = min(low, window[0]), max(high, window[1])
    low, high = padded_range(low, high, least=0.0)
    days = (high - low) / DAY_S
    if days < 2:
        return TimeAxis(low, high)
    return TimeAxis(low, high, tickformat="%-d %b", dtick_s=DAY_S * max(1, math.ceil(days / 8)))


def curves_time_axis(series: Iterable[Sequence[float | None]]) -> TimeAxis | None:
    """A wall-time axis for curves (each a sequence of epoch seconds), or None when no
    curve spans CURVES_MIN_SPAN_S: points logged that close together (a script that logs a
    whole run at once) would stand in vertical lines, so the caller draws them by step."""
    spans = [max(found) - min(found) for found in map(_finite, series) if found]
    if not spans or max(spans) < CURVES_MIN_SPAN_S:
        return None
    return time_axis([t for times in series for t in times], min_span_s=CURVES_MIN_SPAN_S)


def within_words(seconds: float) -> str:
    """How close together moments are, in words: "within 6 seconds", "within a second"."""
    if seconds < 1:
        return "within a second"
    if seconds < 90:
        whole = round(seconds)
        return f"within {whole} second{'s' if whole != 1 else ''}"
    return f"within {round(seconds / 60)} minutes"


def order_title(what: str, moments: Iterable[float | None]) -> str:
    """The title of an axis of things drawn in order: "runs in the order they ended (all
    within 6 seconds)"."""
    found = _finite(moments)
    span = max(found) - min(found) if found else 0.0
    if len(found) < 2:
        return what
    return f"{what} (all {within_words(span)})"
