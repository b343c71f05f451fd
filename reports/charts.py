"""The plotly figures of a check-in report (pure: plain values in, figure dicts out).

Values of "out of 100" metrics are drawn as they are read (0.85 is drawn at 85), so an
axis says the same as the sentences next to it. Every figure is sized for the A4 page
and uses the report's font; pdf.py turns them into SVG.
"""

from datetime import datetime
from html import escape

import plotly.graph_objects as go

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
PALETTE = ["#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f",
           "#ff7f0e"]


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


def _padded_range(values: list[float], pad_share: float = 0.12) -> list[float]:
    lo, hi = min(values), max(values)
    pad = (hi - lo) * pad_share or max(abs(hi) * 0.05, 1.0)
    return [lo - pad, hi + pad]


def _hline(y: float, *, color: str, dash: str, text: str, xanchor: str = "right") -> tuple:
    shape = dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=y, y1=y,
                 line=dict(color=color, width=2, dash=dash))
    note = dict(xref="paper", x=1 if xanchor == "right" else 0, xanchor=xanchor, yref="y",
                y=y, yanchor="bottom", text=text, showarrow=False,
                font=dict(size=12, color=color))
    return shape, note


def progress_figure(*, points: list[dict], threshold: float, scale: float, label: str,
                    unit: str, judged_split: str, selected_split: str,
                    period_start: datetime, period_end: datetime,
                    checkins: list[datetime],
                    thresholds: list[tuple[str, float]] | None = None) -> dict:
    """Best so far on the selection split and the best model's judged value over time.

    `points` are the moments the best model changed (at, selection_value, judged_value),
    oldest first. The threshold is a line (a step line when the bar moved: `thresholds`
    are (since, value) pairs); earlier check-ins are dotted verticals; this period is shaded.
    """
    xs = [p["at"] for p in points]
    selection = [p["selection_value"] * scale for p in points]
    tested = [(p["at"], p["judged_value"] * scale) for p in points
              if p["judged_value"] is not None]
    end = period_end.isoformat()
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=xs + [end], y=selection + selection[-1:], mode="lines",
        line=dict(shape="hv", color=VALIDATION, width=3),
        name=f"Best so far on the {selected_split} set",
    ))
    if tested:
        fig.add_trace(go.Scatter(
            x=[x for x, _ in tested] + [end], y=[y for _, y in tested] + [tested[-1][1]],
            mode="lines+markers", line=dict(shape="hv", color=TEST, width=3),
            marker=dict(size=8, color=TEST),
            name=f"Best model on the {judged_split} set (the figure we quote)",
        ))
    shapes, notes = _period_marks(period_start.isoformat(), end, checkins)
    if checkins:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="Check-ins",
                                 line=dict(color=CHECKIN, width=1.5, dash="dot")))
    first = min([period_start.isoformat()] + xs)
    moved = thresholds is not None and len(thresholds) > 1
    if moved:
        bars_x = [max(at, first) for at, _ in thresholds] + [end]
        bars_y = [value * scale for _, value in thresholds] + [thresholds[-1][1] * scale]
        fig.add_trace(go.Scatter(x=bars_x, y=bars_y, mode="lines", showlegend=False,
                                 line=dict(shape="hv", color=THRESHOLD, width=2, dash="dash")))
        notes.append(dict(xref="paper", x=1, xanchor="right", yref="y", y=threshold * scale,
                          yanchor="bottom", text=f"Agreed bar: {_short(threshold * scale)}"
                          " (moved)", showarrow=False, font=dict(size=12, color=THRESHOLD)))
    else:
        shape, note = _hline(threshold * scale, color=THRESHOLD, dash="dash",
                             text=f"Agreed bar: {_short(threshold * scale)}", xanchor="left")
        shapes.append(shape)
        notes.append(note)
    values = (selection + [y for _, y in tested] + [threshold * scale]
              + ([v * scale for _, v in thresholds] if moved else []))
    layout = _layout(height=280, y_title=_axis_title(label, unit))
    layout["margin"]["b"] = 30
    fig.update_layout(**layout, shapes=shapes, annotations=notes)
    fig.update_yaxes(range=_padded_range(values))
    fig.update_xaxes(range=[first, end], tickformat="%-d %b")
    return fig.to_dict()


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
                winner_id: str | None, period_start: datetime, period_end: datetime) -> dict:
    """This period's finished runs on the selection split, one colour per experiment.

    `baseline` (the best baseline run's value) is a dashed line, baseline runs are
    diamonds, runs that fail a guardrail are crosses (they cannot win), and the best model
    is ringed.
    """
    fig = go.Figure(data=_run_traces(runs, scale=scale, winner_id=winner_id))
    shapes, notes = [], []
    values = [r["value"] * scale for r in runs if r["value"] is not None]
    if baseline is not None:
        shape, note = _hline(baseline * scale, color=BASELINE, dash="dash",
                             text=f"Baseline: {_short(baseline * scale)}", xanchor="left")
        shapes.append(shape)
        notes.append(note)
        values.append(baseline * scale)
    shape, note = _hline(threshold * scale, color=THRESHOLD, dash="dot",
                         text=f"Agreed bar (judged on the test set): {_short(threshold * scale)}")
    shapes.append(shape)
    notes.append(note)
    values.append(threshold * scale)
    fig.update_layout(**_layout(height=290, y_title=_axis_title(
        f"{label} on the {selected_split} set", unit)), shapes=shapes, annotations=notes)
    fig.update_yaxes(range=_padded_range(values))
    days = max(1, (period_end - period_start).days)
    fig.update_xaxes(range=[period_start.isoformat(), period_end.isoformat()],
                     tickformat="%-d %b", dtick=86_400_000 * max(1, -(-days // 8)))
    return fig.to_dict()


def _run_traces(runs: list[dict], *, scale: float, winner_id: str | None) -> list:
    """A trace per experiment (runs that can win), then the runs that fail a guardrail,
    the baseline runs and the ring around the best model."""
    def markers(chosen: list[dict], name: str, **marker) -> go.Scatter:
        return go.Scatter(x=[r["ended_at"] for r in chosen],
                          y=[r["value"] * scale for r in chosen], mode="markers", name=name,
                          marker=marker)

    traces = []
    shown = [r for r in runs if r["value"] is not None]
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


def slices_figure(*, overall: float, slices: list[dict], threshold: float, scale: float,
                  label: str, unit: str, judged_split: str) -> dict:
    """The best model on each slice of the judged split, against the overall figure."""
    names = ["Overall"] + [_text(s["name"]) for s in slices]
    values = [overall * scale] + [s["value"] * scale for s in slices]
    colors = [TEST] + [LAGGING if s["lags"] else SLICE for s in slices]
    fig = go.Figure(go.Bar(
        y=names[::-1], x=values[::-1], orientation="h", marker=dict(color=colors[::-1]),
        text=[_short(v) for v in values[::-1]], textposition="inside",
        insidetextanchor="end", showlegend=False,
        textfont=dict(color=[INK if c == SLICE else "white" for c in colors][::-1]),
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
    lo = min(values + [threshold * scale])
    hi = max(values + [threshold * scale])
    fig.update_xaxes(range=[min(0, lo) if lo >= 0 else lo * 1.1, hi * 1.12 if hi > 0 else 1])
    return fig.to_dict()


def experiments_figure(*, experiments: list[dict], threshold: float,
                       baseline: float | None, scale: float, label: str, unit: str,
                       selected_split: str) -> dict:
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
    fig = go.Figure(go.Bar(
        y=names[::-1], x=values[::-1], orientation="h", marker=dict(color=colors[::-1]),
        text=[_short(v) for v in values[::-1]], textposition="inside",
        insidetextanchor="end", showlegend=False,
        textfont=dict(color=["white" if e.get("passes_guardrails", True) else INK
                             for e in rows][::-1]),
    ))
    shapes, notes = [], []
    for x, color, dash, text, anchor in (
        (threshold * scale, THRESHOLD, "dash", f"Agreed bar: {_short(threshold * scale)}",
         "left"),
        *([(baseline * scale, BASELINE, "dot", f"Baseline: {_short(baseline * scale)}",
            "right")] if baseline is not None else []),
    ):
        shapes.append(dict(type="line", yref="paper", y0=0, y1=1, xref="x", x0=x, x1=x,
                           line=dict(color=color, width=2, dash=dash)))
        notes.append(dict(yref="paper", y=1, yanchor="bottom", xref="x", x=x, xanchor=anchor,
                          text=text, showarrow=False, font=dict(size=12, color=color)))
    layout = _layout(height=90 + 40 * max(1, len(rows)), y_title="",
                     x_title=_axis_title(f"best {label} on the {selected_split} set", unit))
    layout["margin"] = dict(l=210, r=90, t=36, b=48)
    layout["showlegend"] = False
    fig.update_layout(**layout, shapes=shapes, annotations=notes, bargap=0.3)
    everything = values + [threshold * scale] + ([baseline * scale] if baseline else [])
    lo, hi = min(everything), max(everything)
    fig.update_xaxes(range=[min(0, lo) if lo >= 0 else lo * 1.1, hi * 1.08 if hi > 0 else 1])
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
    """Long experiment names over two lines (plotly breaks lines on <br>), shown as typed."""
    if len(name) <= width:
        return _text(name)
    cut = name.rfind(" ", 0, width)
    cut = cut if cut > 0 else width
    rest = name[cut:].strip()
    return (_text(name[:cut]) + "<br>"
            + _text(rest if len(rest) <= width else rest[: width - 1] + "…"))
