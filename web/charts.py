"""The data of the web UI's charts, with their axes worked out here (pure: no queries).

Axes follow reports/axes.py, the rule the report's figures share: a value axis fitted to
the runs and the agreed bar, a baseline far from them named at the edge instead of
flattening the chart; runs that ended within a minute drawn in order; a wall-time axis only
when the points are at least a second apart. web/static/web/charts.js draws what this says.
"""

from datetime import UTC, datetime

from reports import axes
from tracker import days, drift, phrasing, production_rules
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


# --- the Production tab ----------------------------------------------------------------------


def _day_ms(day) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def window_text(start, end, *, today) -> str:
    """A live window's days: "from 3 to 9 November" (a datetime end is exclusive)."""
    return days.span_words(days.as_day(start), days.last_day(start, end), today=today)


def _window_text(start, end, *, today) -> str:
    text = window_text(start, end, today=today)
    return text[:1].upper() + text[1:]


def live_chart(*, answer, today) -> dict | None:
    """The target metric on each live window of the deployment in production (drawn on the
    window's last day), against its test figure and the agreed bar. Windows with too few
    labelled cases to count (production_rules.MIN_LABELLED) are drawn apart, hollow: the
    status ignores them. None without a target or a window that measured the metric."""
    target = answer.target
    windows = sorted((w for w in answer.windows if finite_or_none(w.value) is not None),
                     key=lambda w: (days.last_day(w.start, w.end), days.as_day(w.start)))
    if target is None or not windows:
        return None
    counted = {(w.start, w.end) for w in production_rules.counting(windows)}
    test_value = finite_or_none(answer.test_value)
    cases = answer.project.case_noun or "cases"

    def series(keep) -> dict:
        kept = [w for w in windows if keep(w)]
        return {"x": [_day_ms(days.last_day(w.start, w.end)) for w in kept],
                "y": [w.value for w in kept],
                "text": [f"{_window_text(w.start, w.end, today=today)}: "
                         f"{presenters.number(w.value)} on {w.labelled:,} checked {cases}"
                         for w in kept]}

    return {
        "metric": phrasing.metric_label(target.metric),
        "threshold": target.threshold,
        "test_value": test_value,
        "judged_on": target.judged_on,
        "min_labelled": production_rules.MIN_LABELLED,
        "counted": series(lambda w: (w.start, w.end) in counted),
        "too_few": series(lambda w: (w.start, w.end) not in counted),
        "y_axis": _value_axis([w.value for w in windows] + [test_value], bar=target.threshold,
                              context={},
                              bounds=axes.metric_bounds(target.metric,
                                                        target.definition or None)),
    }


def _edge_text(value: float, digits: int) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return presenters.number(int(value))
    return f"{value:.{digits}g}"


def _bin_labels(bins: list) -> list[str]:
    """Each bin named by its edges ("3.53–4.19") or its category, the edges with as few
    significant digits (from 3) as keep every edge apart, so ten bins fit under a chart."""
    edges = sorted({edge for one in bins if isinstance(one, tuple) for edge in one})
    digits = 3
    while digits < 8 and len({_edge_text(e, digits) for e in edges}) < len(edges):
        digits += 1
    return [f"{_edge_text(one[0], digits)}–{_edge_text(one[1], digits)}"
            if isinstance(one, tuple) else one for one in bins]


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [count / total if total else 0.0 for count in counts]


def feature_histograms(*, reference: dict, live: dict, readings, today) -> dict:
    """Per input feature of the latest window's drift (`live` is that window's profile): the
    reference and live shares per bin, the bins named by their edges or categories as the
    PSI compares them, and the feature's PSI on each live window (`readings`, from
    tracker.selectors.production.drift_readings)."""
    found = {}
    for name, live_feature in live["features"].items():
        reference_feature = reference["features"].get(name)
        if (name == drift.PREDICTION or reference_feature is None
                or not drift.comparable(reference_feature, live_feature)):
            continue
        bins, expected, actual = drift.bins(reference_feature, live_feature)
        over_windows = [(reading, item) for reading in readings
                        for item in reading.features if item.feature == name]
        found[name] = {
            "kind": reference_feature["kind"],
            "bins": _bin_labels(bins),
            "reference": _shares(expected),
            "live": _shares(actual),
            "psi": {"x": [_day_ms(days.last_day(r.window_start, r.window_end))
                          for r, _ in over_windows],
                    "y": [item.psi for _, item in over_windows],
                    "text": [_window_text(r.window_start, r.window_end, today=today)
                             for r, _ in over_windows]},
        }
    return {"features": found, "moderate_from": drift.MODERATE_FROM,
            "significant_above": drift.SIGNIFICANT_ABOVE}


def live_rows(*, answer, today) -> list[dict]:
    """The live results under the chart, the latest window first: when, the target metric's
    value (None when not measured), the cases checked and seen, and whether the window
    counts for the status."""
    if answer.target is None:
        return []
    counted = {(w.start, w.end) for w in production_rules.counting(answer.windows)}
    return [{"when": _window_text(r.window_start, r.window_end, today=today),
             "value": finite_or_none(r.metrics.get(answer.target.metric)),
             "labelled": r.labelled, "count": r.count,
             "counts": (r.window_start, r.window_end) in counted}
            for r in sorted(answer.results, key=lambda r: (r.window_end, r.window_start),
                            reverse=True)]
