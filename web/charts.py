"""The data of the web UI's charts, with their axes worked out here (pure: no queries).

Axes follow reports/axes.py, the rule the report's figures share: a value axis fitted to
the runs and the agreed bar, a baseline far from them named at the edge instead of
flattening the chart; runs that ended within a minute drawn in order; a wall-time axis only
when the points are at least a second apart. web/static/web/charts.js draws what this says.
"""

from reports import axes
from tracker import phrasing
from tracker.numbers import finite_or_none
from web import presenters


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def _value_axis(values, *, bar, context, bounds) -> dict:
    axis = axes.value_axis(values, bar=bar, context=context, bounds=bounds)
    if axis is None:
        return {"range": None, "off_scale": []}
    return {"range": axis.range,
            "off_scale": [{"side": off.side,
                           "text": f"{'▼' if off.side == 'below' else '▲'} {off.label}: "
                                   f"{presenters.number(off.value)} ({off.side} the chart)"}
                          for off in axis.off_scale]}


NAMED_TICKS = 10  # runs drawn in order are named under the axis up to this many


def _tick(name: str, width: int = 20) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


def _x_positions(points, end, names: dict) -> tuple[dict, dict]:
    """x of each run (by id) and the x axis: times in ms, or 1..n in the order the runs
    ended (named when there are few) when they all ended within a minute."""
    runs = sorted({(p.ended_at, str(p.run_id), p.run_id) for p in points})
    moments = [at.timestamp() for at, _, _ in runs] + ([end.timestamp()] if end else [])
    timeline = axes.time_axis(moments)
    if timeline is None:
        order = {run_id: i for i, (_, run_id, _) in enumerate(runs, start=1)}
        return order, {"type": "order", "range": axes.padded_range(1, max(1, len(runs))),
                       "title": axes.order_title("runs in the order they ended", moments),
                       "names": ([_tick(names.get(key, "")) for _, _, key in runs]
                                 if len(runs) <= NAMED_TICKS else [])}
    return ({run_id: _ms(at) for at, run_id, _ in runs},
            {"type": "date", "range": [timeline.low * 1000, timeline.high * 1000], "title": ""})


def progress_chart(*, target, progress, judged: float | None, winner) -> dict:
    """The dashboard's best-so-far chart: every finished run as a dot (the latest ones), the
    steps of the best so far, the agreed bar, and the best model's judged value (a star).

    `progress` is tracker.selectors.winner.best_so_far's answer. Baseline runs are context
    on the value axis: drawn when they fit, named at the edge when far below or above.
    """
    dots, steps = progress.latest, progress.improvements
    x_of, x_axis = _x_positions(list(dots) + list(steps), progress.last_ended_at,
                                progress.names)
    judged = finite_or_none(judged)
    star = winner if winner and str(winner.id) in x_of and judged is not None else None

    def is_baseline(point) -> bool:
        return point.run_id in progress.baselines

    core = [p.value for p in dots if not is_baseline(p)] + [
        p.best_so_far for p in steps if not is_baseline(p)] + ([judged] if star else [])
    context = [p.value for p in dots if is_baseline(p)] + [
        p.best_so_far for p in steps if is_baseline(p)]
    return {
        "metric": phrasing.metric_label(target.metric),
        "selected_on": target.selected_on,
        "judged_on": target.judged_on,
        "threshold": target.threshold,
        "direction": target.direction,
        "x_axis": x_axis,
        "y_axis": _value_axis(core, bar=target.threshold, context={"baseline": context},
                              bounds=axes.metric_bounds(target.metric, target.definition or None)),
        "dots": {"x": [x_of[str(p.run_id)] for p in dots],
                 "y": [finite_or_none(p.value) for p in dots],
                 "passes": [p.passes for p in dots]},
        "best": {"x": [x_of[str(p.run_id)] for p in steps],
                 "y": [finite_or_none(p.best_so_far) for p in steps],
                 "name": [progress.names.get(p.run_id, "") for p in steps]},
        "end": x_of[str(dots[-1].run_id)] if dots else None,
        "winner": ({"x": x_of[str(star.id)], "y": judged, "name": star.name}
                   if star else None),
        "dots_note": (f"latest {len(dots):,} of {progress.total:,} finished runs shown as "
                      "dots" if progress.total > len(dots) else ""),
    }


def curve_axes(traces: list[dict], *, bar: float | None, bar_text: str,
               bounds: tuple[float, float] | None, baselines: set[str]) -> dict:
    """The axes of one curve chart (curves.json): values fitted to the curves and the
    agreed bar (baseline runs' curves as context); steps with a margin so end markers show
    whole; wall time when some curve spans at least a second, else None (drawn by step,
    and `time_note` says why)."""
    core = [v for t in traces if t["run"] not in baselines for v in t["value"]]
    context: dict[str, list] = {}
    for t in traces:
        if t["run"] in baselines:
            context.setdefault(f"{t['name']} (baseline)", []).extend(t["value"])
    steps = [s for t in traces for s in t["step"]]
    series = [[ms / 1000 for ms in t["time"] if ms is not None] for t in traces]
    times = [moment for one in series for moment in one]
    timeline = axes.curves_time_axis(series)
    return {
        "y": _value_axis(core, bar=bar, context=context, bounds=bounds),
        "step_range": axes.padded_range(min(steps), max(steps)) if steps else None,
        "time_range": ([timeline.low * 1000, timeline.high * 1000] if timeline else None),
        "time_note": ("" if timeline or not times else
                      "wall time cannot spread these curves (each was logged "
                      f"{axes.within_words(max(max(s) - min(s) for s in series if s))}): "
                      "drawn by step"),
        "bar": {"y": bar, "text": bar_text} if bar is not None else None,
    }
