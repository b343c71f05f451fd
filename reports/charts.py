"""The plotly figures of a check-in report (pure: plain values in, figure dicts out).

Values of "out of 100" metrics are drawn as they are read (0.85 is drawn at 85), so an
axis says the same as the sentences next to it. Axes follow reports/axes.py, the rule the
web UI's charts share: fitted to the runs and the agreed bar, a baseline far below named at
the edge, runs that ended within a minute drawn in order. Markers are never clipped at an
edge. Every figure is sized for the A4 page and uses the report's font; pdf.py turns them
into SVG.
"""

from datetime import UTC, datetime
from html import escape

import plotly.graph_objects as go

from reports import axes

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
WIDTH = 760

INK = "#1d2733"
TEST = "#1f4e79"
VALIDATION = "#8db3d9"
THRESHOLD = "#2e7d32"
BASELINE = "#555555"
CHECKIN = "#9aa3ad"
PERIOD = "#eef3f8"
LAGGING = "#d9822b"
SLICE = "#9db7d1"
LIVE = "#7b3294"
PALETTE = ["#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f",
           "#ff7f0e"]
NAMED_TICKS = 10  # runs drawn in order are named under the axis up to this many


def _layout(*, height: int, y_title: str, x_title: str | None = None, **extra) -> dict:
    return dict(
        width=WIDTH, height=height, template="plotly_white",
        font=dict(family=FONT, size=13, color=INK),
        margin=dict(l=64, r=24, t=44, b=44),
        paper_bgcolor="white", plot_bgcolor="white",
        legend=dict(orientation="h", x=0, y=1.02, xanchor="left", yanchor="bottom",
                    font=dict(size=12)),
        yaxis=dict(title=dict(text=y_title, font=dict(size=12)), gridcolor="#e6e9ed",
                   zeroline=False),
        xaxis=dict(title=dict(text=x_title or "", font=dict(size=12)), gridcolor="#f0f2f4",
                   showline=True, linecolor="#c7ccd1"),
        showlegend=True,
        **extra,
    )


def _axis_title(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


def _scaled_bounds(bounds: tuple[float, float] | None, scale: float):
    return (bounds[0] * scale, bounds[1] * scale) if bounds else None


def _seconds(moment: str | datetime) -> float:
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def _hline(y: float, *, color: str, dash: str, text: str, xanchor: str = "right") -> tuple:
    shape = dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y,
                 line=dict(color=color, width=2, dash=dash))
    note = dict(xref="paper", x=1 if xanchor == "right" else 0, xanchor=xanchor, yref="y",
                y=y, yanchor="bottom", text=text, showarrow=False,
                font=dict(size=12, color=color))
    return shape, note


def _off_scale_notes(axis: axes.ValueAxis, *, left: bool = False) -> list[dict]:
    """What the axis leaves off (a baseline far below), named in the band the axis keeps
    free at the edge it lies beyond (on the left where the right holds the period's label)."""
    return [dict(xref="paper", x=0 if left else 1, xanchor="left" if left else "right",
                 yref="paper",
                 y=0 if off.side == "below" else 1,
                 yanchor="bottom" if off.side == "below" else "top",
                 text=f"{'▼' if off.side == 'below' else '▲'} {off.label}: {_short(off.value)}"
                      f" ({off.side} this chart)",
                 showarrow=False, font=dict(size=12, color=BASELINE))
            for off in axis.off_scale]


def _order_axis(names: list[str], title: str) -> dict:
    """An x axis of things drawn in order, 1..n, named when there are few."""
    axis = dict(range=axes.padded_range(1, max(1, len(names))), title=dict(text=title),
                tickmode="array", tickvals=list(range(1, len(names) + 1)),
                showgrid=False)
    axis["ticktext"] = ([_wrap(n, 16) for n in names] if len(names) <= NAMED_TICKS
                        else [str(i) for i in axis["tickvals"]])
    return axis


def _set_x_axis(fig, timeline: axes.TimeAxis | None, *, names: list[str], what: str,
                moments: list[float]) -> None:
    """Times, or (`timeline` None) the things drawn in order, named."""
    if timeline is None:
        fig.update_xaxes(**_order_axis(names, axes.order_title(what, moments)))
        return
    fig.update_xaxes(range=[_iso(timeline.low), _iso(timeline.high)], type="date")
    if timeline.tickformat:
        fig.update_xaxes(tickformat=timeline.tickformat, dtick=timeline.dtick_s * 1000)


def progress_figure(*, points: list[dict], threshold: float, scale: float, label: str,
                    unit: str, judged_split: str, selected_split: str,
                    period_start: datetime, period_end: datetime,
                    checkins: list[datetime],
                    thresholds: list[tuple[str, float]] | None = None,
                    bounds: tuple[float, float] | None = None) -> dict:
    """Best so far on the selection split and the best model's judged value over time.

    `points` are the moments the best model changed (at, run_name, baseline,
    selection_value, judged_value), oldest first. The threshold is a line (a step line when
    the bar moved: `thresholds` are (since, value) pairs); earlier check-ins are dotted
    verticals; this period is shaded. When every change came within a minute, the changes
    are drawn in order, named by run.
    """
    moments = [_seconds(p["at"]) for p in points]
    end = _seconds(period_end)
    first = min([_seconds(period_start)] + moments)
    timeline = axes.time_axis(moments + [end], window=(first, end))
    if timeline is None:
        xs, x_end = list(range(1, len(points) + 1)), len(points) + 0.5
    else:
        xs, x_end = [_iso(m) for m in moments], _iso(end)
    moved = thresholds is not None and len(thresholds) > 1 and timeline is not None
    axis = _progress_axis(points, threshold, thresholds if moved else None, scale, bounds)
    fig = go.Figure()
    selection = [p["selection_value"] * scale for p in points]
    fig.add_trace(go.Scatter(
        x=xs + [x_end], y=selection + selection[-1:], mode="lines",
        line=dict(shape="hv", color=VALIDATION, width=3),
        name=f"Best so far on the {selected_split} set",
    ))
    _add_judged(fig, points, xs, x_end, scale, axis, judged_split)
    shapes, notes, period_starts_in_view = [], [], False
    if timeline is not None:
        shown_from = max(_seconds(period_start), timeline.low)  # "this period" stays in view
        period_starts_in_view = shown_from > timeline.low
        shapes, notes = _period_marks(_iso(shown_from), x_end, checkins)
        if checkins:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="Check-ins",
                                     line=dict(color=CHECKIN, width=1.5, dash="dot")))
    # The note on what lies off the scale keeps clear of "this period" at the bottom.
    notes += _off_scale_notes(axis, left=period_starts_in_view)
    _add_bar(fig, shapes, notes, threshold * scale,
             [(max(_seconds(at), first), v * scale) for at, v in thresholds] if moved else None,
             x_end)
    layout = _layout(height=280, y_title=_axis_title(label, unit))
    layout["margin"]["b"] = 30 if timeline is not None else 64
    fig.update_layout(**layout, shapes=shapes, annotations=notes)
    fig.update_yaxes(range=axis.range)
    _set_x_axis(fig, timeline, names=[p.get("run_name", "") for p in points], moments=moments,
                what="each time the best model changed, in order")
    return fig.to_dict()


def _progress_axis(points, threshold, thresholds, scale, bounds) -> axes.ValueAxis:
    """The value axis: the best models and the bar(s); the baseline as context."""
    def values(of_baseline: bool) -> list:
        chosen = [p for p in points if bool(p.get("baseline")) == of_baseline]
        return ([p["selection_value"] * scale for p in chosen]
                + [p["judged_value"] * scale for p in chosen if p["judged_value"] is not None])
    bars = [v * scale for _, v in thresholds] if thresholds else []
    return axes.value_axis(values(False) + bars, bar=threshold * scale,
                           context={"Baseline": values(True)},
                           bounds=_scaled_bounds(bounds, scale))


def _add_judged(fig, points, xs, x_end, scale, axis, judged_split) -> None:
    """The best model's judged value: a line held to the end, with a marker where it
    changed (left out where off the scale: the chart names it at its edge)."""
    tested = [(x, p["judged_value"] * scale) for x, p in zip(xs, points, strict=True)
              if p["judged_value"] is not None]
    if not tested:
        return
    fig.add_trace(go.Scatter(
        x=[x for x, _ in tested] + [x_end], y=[y for _, y in tested] + [tested[-1][1]],
        mode="lines", line=dict(shape="hv", color=TEST, width=3), legendgroup="judged",
        name=f"Best model on the {judged_split} set (the figure we quote)"))
    shown = [(x, y) for x, y in tested if axis.low <= y <= axis.high]
    if shown:
        fig.add_trace(go.Scatter(
            x=[x for x, _ in shown], y=[y for _, y in shown], mode="markers",
            marker=dict(size=8, color=TEST), cliponaxis=False, showlegend=False,
            legendgroup="judged"))


def _add_bar(fig, shapes, notes, bar: float, moved: list | None, x_end) -> None:
    """The agreed bar: a dashed line, or a step line from when it moved."""
    if moved:
        fig.add_trace(go.Scatter(
            x=[_iso(at) for at, _ in moved] + [x_end], y=[v for _, v in moved] + [moved[-1][1]],
            mode="lines", showlegend=False,
            line=dict(shape="hv", color=THRESHOLD, width=2, dash="dash")))
        notes.append(dict(xref="paper", x=1, xanchor="right", yref="y", y=bar,
                          yanchor="bottom", text=f"Agreed bar: {_short(bar)} (moved)",
                          showarrow=False, font=dict(size=12, color=THRESHOLD)))
        return
    shape, note = _hline(bar, color=THRESHOLD, dash="dash", text=f"Agreed bar: {_short(bar)}",
                         xanchor="left")
    shapes.append(shape)
    notes.append(note)


def _period_marks(start: str, end: str, checkins: list[datetime]) -> tuple[list, list]:
    """(shapes, notes): this period shaded and labelled, earlier check-ins dotted."""
    shapes = [dict(type="rect", xref="x", x0=start, x1=end, yref="paper", y0=0, y1=1,
                   fillcolor=PERIOD, line=dict(width=0), layer="below")]
    notes = [dict(xref="x", x=start, xanchor="left", yref="paper", y=0.02, yanchor="bottom",
                  text=" this period", showarrow=False, font=dict(size=11, color="#6b7785"))]
    shapes += [dict(type="line", yref="paper", y0=0, y1=1, xref="x", x0=at.isoformat(),
                    x1=at.isoformat(), line=dict(color=CHECKIN, width=1.5, dash="dot"))
               for at in checkins]
    return shapes, notes


def runs_figure(*, runs: list[dict], baseline: float | None, threshold: float,
                scale: float, label: str, unit: str, selected_split: str,
                winner_id: str | None, period_start: datetime, period_end: datetime,
                bounds: tuple[float, float] | None = None) -> dict:
    """This period's finished runs on the selection split, one colour per experiment.

    `baseline` (the best baseline run's value) is a dashed line, baseline runs are
    diamonds, runs that fail a guardrail are crosses (they cannot win), and the best model
    is ringed. Runs that all ended within a minute are drawn in the order they ended.
    """
    runs = [dict(r) for r in sorted(runs, key=lambda r: _seconds(r["ended_at"]))]
    moments = [_seconds(r["ended_at"]) for r in runs]
    timeline = axes.time_axis(moments, window=(_seconds(period_start), _seconds(period_end)))
    for i, r in enumerate(runs):
        r["x"] = i + 1 if timeline is None else _iso(moments[i])
    axis = axes.value_axis(
        [r["value"] * scale for r in runs if r["value"] is not None and not r["baseline"]],
        bar=threshold * scale, bounds=_scaled_bounds(bounds, scale),
        context={"Baseline": [r["value"] * scale for r in runs
                              if r["value"] is not None and r["baseline"]]
                 + ([baseline * scale] if baseline is not None else [])})
    fig = go.Figure(data=_run_traces(runs, scale=scale, winner_id=winner_id, axis=axis))
    shapes, notes = [], _off_scale_notes(axis)
    if baseline is not None and axis.low <= baseline * scale <= axis.high:
        shape, note = _hline(baseline * scale, color=BASELINE, dash="dash",
                             text=f"Baseline: {_short(baseline * scale)}", xanchor="left")
        shapes.append(shape)
        notes.append(note)
    shape, note = _hline(threshold * scale, color=THRESHOLD, dash="dot",
                         text=f"Agreed bar (judged on the test set): {_short(threshold * scale)}")
    shapes.append(shape)
    notes.append(note)
    layout = _layout(height=290 if timeline else 320, y_title=_axis_title(
        f"{label} on the {selected_split} set", unit))
    fig.update_layout(**layout, shapes=shapes, annotations=notes)
    fig.update_yaxes(range=axis.range)
    _set_x_axis(fig, timeline, names=[r.get("name", "") for r in runs], moments=moments,
                what="runs in the order they ended")
    return fig.to_dict()


def _run_traces(runs: list[dict], *, scale: float, winner_id: str | None,
                axis: axes.ValueAxis) -> list:
    """A trace per experiment (runs that can win), then the runs that fail a guardrail,
    the baseline runs and the ring around the best model. Runs off the scale are left out
    (the chart names them at its edge)."""
    def markers(chosen: list[dict], name: str, **marker) -> go.Scatter:
        return go.Scatter(x=[r["x"] for r in chosen], y=[r["value"] * scale for r in chosen],
                          mode="markers", name=name, marker=marker, cliponaxis=False)

    traces = []
    shown = [r for r in runs if r["value"] is not None
             and axis.low <= r["value"] * scale <= axis.high]
    experiments = list(dict.fromkeys(r["experiment"] for r in runs))
    for i, experiment in enumerate(experiments):
        chosen = [r for r in shown if r["experiment"] == experiment
                  and r["passes_guardrails"] and not r["baseline"]]
        if chosen:
            traces.append(markers(chosen, _text(experiment), size=11,
                                  color=PALETTE[i % len(PALETTE)], opacity=0.9,
                                  line=dict(color="white", width=1)))
    failing = [r for r in shown if not r["passes_guardrails"]]
    if failing:
        traces.append(markers(failing, "Fails a guardrail (cannot win)", size=11, symbol="x",
                              color="#b23b3b"))
    baseline_runs = [r for r in shown if r["baseline"]]
    if baseline_runs:
        traces.append(markers(baseline_runs, "Baseline run", size=12, symbol="diamond",
                              color=BASELINE))
    winner = [r for r in shown if r["run_id"] == winner_id]
    if winner:
        traces.append(markers(winner[:1], "Best model", size=22, symbol="circle-open",
                              color=TEST, line=dict(width=3)))
    return traces


def _bar_range(values: list[float], lines: list[float], bounds) -> list[float]:
    """A bar chart's value axis: from zero, through the bars and the lines drawn on it."""
    return axes.value_axis(values + lines, from_zero=True, bounds=bounds).range


def _text_places(values: list[float], value_range: list[float]) -> list[str]:
    """Each bar's value inside its end, or after it when the bar is too short to hold it
    (a bar at 0 still says "0")."""
    span = value_range[1] - value_range[0]
    return ["inside" if abs(v) >= span * 0.12 else "outside" for v in values]


def slices_figure(*, overall: float, slices: list[dict], threshold: float, scale: float,
                  label: str, unit: str, judged_split: str,
                  bounds: tuple[float, float] | None = None) -> dict:
    """The best model on each slice of the judged split, against the overall figure."""
    names = ["Overall"] + [_text(s["name"]) for s in slices]
    values = [overall * scale] + [s["value"] * scale for s in slices]
    value_range = _bar_range(values, [threshold * scale], _scaled_bounds(bounds, scale))
    colors = [TEST] + [LAGGING if s["lags"] else SLICE for s in slices]
    fig = go.Figure(go.Bar(
        y=names[::-1], x=values[::-1], orientation="h", marker=dict(color=colors[::-1]),
        text=[_short(v) for v in values[::-1]], cliponaxis=False,
        textposition=_text_places(values[::-1], value_range),
        insidetextanchor="end", showlegend=False,
        insidetextfont=dict(color=[INK if c == SLICE else "white" for c in colors][::-1]),
        outsidetextfont=dict(color=INK),
    ))
    shape = dict(type="line", yref="paper", y0=0, y1=1, xref="x", x0=threshold * scale,
                 x1=threshold * scale, line=dict(color=THRESHOLD, width=2, dash="dash"))
    note = dict(yref="paper", y=1, yanchor="bottom", xref="x", x=threshold * scale,
                xanchor="center", text=f"Agreed bar: {_short(threshold * scale)}",
                showarrow=False, font=dict(size=12, color=THRESHOLD))
    layout = _layout(height=90 + 34 * len(names), y_title="",
                     x_title=_axis_title(f"{label} on the {judged_split} set", unit))
    layout["margin"] = dict(l=150, r=90, t=36, b=48)
    layout["showlegend"] = False
    fig.update_layout(**layout, shapes=[shape], annotations=[note], bargap=0.35)
    fig.update_xaxes(range=value_range)
    return fig.to_dict()


def experiments_figure(*, experiments: list[dict], threshold: float,
                       baseline: float | None, scale: float, label: str, unit: str,
                       selected_split: str,
                       bounds: tuple[float, float] | None = None) -> dict:
    """Each experiment of the period at its best run on the selection split.

    An experiment whose best run fails a guardrail is drawn in grey and says so.
    """
    rows = [e for e in experiments if e["best_value"] is not None]
    names = [_wrap(e["name"]) + ("<br><i>fails a guardrail</i>"
                                 if not e.get("passes_guardrails", True) else "")
             for e in rows]
    values = [e["best_value"] * scale for e in rows]
    colors = [PALETTE[i % len(PALETTE)] if e.get("passes_guardrails", True) else "#c4c9ce"
              for i, e in enumerate(rows)]
    lines = [threshold * scale] + ([baseline * scale] if baseline is not None else [])
    value_range = _bar_range(values, lines, _scaled_bounds(bounds, scale))
    fig = go.Figure(go.Bar(
        y=names[::-1], x=values[::-1], orientation="h", marker=dict(color=colors[::-1]),
        text=[_short(v) for v in values[::-1]], cliponaxis=False,
        textposition=_text_places(values[::-1], value_range),
        insidetextanchor="end", showlegend=False, outsidetextfont=dict(color=INK),
        insidetextfont=dict(color=["white" if e.get("passes_guardrails", True) else INK
                                   for e in rows][::-1]),
    ))
    marks = [(threshold * scale, THRESHOLD, "dash", f"Agreed bar: {_short(threshold * scale)}",
              "left")]
    if baseline is not None:
        marks.append((baseline * scale, BASELINE, "dot", f"Baseline: {_short(baseline * scale)}",
                      "right"))
    shapes, notes = [], []
    for x, color, dash, text, anchor in marks:
        shapes.append(dict(type="line", yref="paper", y0=0, y1=1, xref="x", x0=x, x1=x,
                           line=dict(color=color, width=2, dash=dash)))
        notes.append(dict(yref="paper", y=1, yanchor="bottom", xref="x", x=x, xanchor=anchor,
                          text=text, showarrow=False, font=dict(size=12, color=color)))
    layout = _layout(height=90 + 40 * max(1, len(rows)), y_title="",
                     x_title=_axis_title(f"best {label} on the {selected_split} set", unit))
    layout["margin"] = dict(l=210, r=90, t=36, b=48)
    layout["showlegend"] = False
    fig.update_layout(**layout, shapes=shapes, annotations=notes, bargap=0.3)
    fig.update_xaxes(range=value_range)
    return fig.to_dict()


def live_figure(*, windows: list[dict], threshold: float, test_value: float | None,
                scale: float, label: str, unit: str, judged_split: str,
                bounds: tuple[float, float] | None = None) -> dict:
    """The deployed model's live metric per window against its test figure and the bar.

    `windows` (start, end, value, labelled, counts), oldest first, are drawn at their end:
    a line through the windows that count, hollow grey markers for those on too few checked
    cases (`counts` False, as tracker.production_rules counts them). The test figure is a
    dotted line, the agreed bar a dashed one. Windows that all end within a minute are drawn
    in order, named by their end day.
    """
    rows = [w for w in sorted(windows, key=lambda w: _seconds(w["end"]))
            if w["value"] is not None]
    moments = [_seconds(w["end"]) for w in rows]
    timeline = axes.time_axis(moments)
    xs = ([_iso(m) for m in moments] if timeline is not None
          else list(range(1, len(rows) + 1)))
    test = test_value * scale if test_value is not None else None
    axis = axes.value_axis([w["value"] * scale for w in rows] + [test], bar=threshold * scale,
                           bounds=_scaled_bounds(bounds, scale))
    fig = go.Figure()
    for counts, name, marker, mode in (
            (True, "Live, on checked cases", dict(size=8, color=LIVE), "lines+markers"),
            (False, "Too few checked cases (not counted)",
             dict(size=8, color="white", line=dict(color=CHECKIN, width=2)), "markers")):
        chosen = [(x, w) for x, w in zip(xs, rows, strict=True) if w["counts"] == counts]
        if chosen:
            fig.add_trace(go.Scatter(
                x=[x for x, _ in chosen], y=[w["value"] * scale for _, w in chosen],
                mode=mode, name=name, marker=marker, line=dict(color=LIVE, width=2.5),
                cliponaxis=False))
    lines = [(threshold * scale, THRESHOLD, "dash", f"agreed bar {_short(threshold * scale)}")]
    if test is not None:
        lines.append((test, TEST, "dot", f"{judged_split} set {_short(test)}"))
    shapes, notes = [], []
    close = len(lines) == 2 and abs(lines[0][0] - lines[1][0]) < (axis.high - axis.low) * 0.12
    for y, color, dash, text in lines:
        shapes.append(dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y,
                           line=dict(color=color, width=2, dash=dash)))
        # Named in the right margin, where no window is drawn; two close lines' names are
        # pushed apart.
        higher = y >= max(v for v, *_ in lines)
        notes.append(dict(xref="paper", x=1, xanchor="left", yref="y", y=y, yanchor="middle",
                          xshift=4, yshift=(7 if higher else -7) if close else 0, text=text,
                          showarrow=False, font=dict(size=11, color=color)))
    layout = _layout(height=140, y_title="")
    layout["margin"] = dict(l=40, r=100, t=26, b=24 if timeline is not None else 40)
    fig.update_layout(**layout, shapes=shapes, annotations=notes)
    fig.update_yaxes(range=axis.range)
    _set_x_axis(fig, timeline, what="live results in order, by the end of their window",
                names=[f"{datetime.fromtimestamp(m, tz=UTC):%-d %b}" for m in moments],
                moments=moments)
    return fig.to_dict()


def _short(value: float) -> str:
    """A chart label: at most one decimal, no trailing zero."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def _text(text: str) -> str:
    """User text as plotly shows it: plotly reads a few HTML-like tags (<b>, <br>, <a>) in
    names and labels, so a name is shown as typed only with & < > written as entities."""
    return escape(text, quote=False)


def _wrap(name: str, width: int = 26) -> str:
    """Long names over two lines (plotly breaks lines on <br>), shown as typed."""
    if len(name) <= width:
        return _text(name)
    cut = name.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    rest = name[cut:].strip()
    return (_text(name[:cut]) + "<br>"
            + _text(rest if len(rest) <= width else rest[: width - 1] + "…"))
