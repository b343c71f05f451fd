"""Runs side by side, and the curves every chart of the UI draws (downsampled here)."""

import math

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from reports import axes
from tracker import phrasing
from tracker.selectors import metrics as metric_selectors
from tracker.selectors import runs as run_selectors
from tracker.selectors import targets as target_selectors
from tracker.selectors import winner as winner_selectors
from web import charts, links, presenters
from web.permissions import page, project_access
from web.visibility import ResultVisibility


def _direction(metric: str, target) -> str | None:
    if target is not None and metric == target.metric:
        return target.direction
    return phrasing.default_direction(metric)


def _buckets_for(runs: int) -> int:
    """Points per curve: finer for a few runs, coarser for many, so a chart stays quick."""
    return max(100, min(400, 6000 // max(1, runs)))


def _series(summaries: dict, target) -> list[tuple[str, str]]:
    """Every (metric, split) the runs logged, by name and split; the target's metric on the
    selection split first."""
    series = sorted({ks for per_run in summaries.values() for ks in per_run},
                    key=lambda ks: (ks[0], metric_selectors.split_order(ks[1])))
    if target is not None:
        first = (target.metric, target.selected_on)
        series.sort(key=lambda ks: ks != first)
    return series


def _charts(runs, series, summaries, visibility) -> tuple[list[dict], list[str]]:
    """A chart per series some run may show a curve of, with how many runs' curves it hides;
    and the series logged once (named, not drawn: the table compares them)."""
    charts, single_values = [], []
    for key, split in series:
        having = [r for r in runs if (key, split) in summaries.get(r.id, {})]
        visible = [r for r in having if visibility.shows(r.id, split, key)]
        if not visible:
            continue
        if not any(presenters.has_curve(summaries[r.id][(key, split)].count) for r in visible):
            single_values.append(f"{split} · {key}")
            continue
        charts.append({"key": key, "split": split, "label": presenters.chart_label(key),
                       "hidden": len(having) - len(visible),
                       "id": f"chart-{len(charts)}"})
    return charts, single_values


@page
@require_GET
def compare(request, slug):
    """Any number of runs side by side: curves, parallel coordinates, params and summaries."""
    access = project_access(request, slug)
    project = access.project
    ids = links.run_ids(request.GET)
    runs = run_selectors.live_runs_in_order(project=project, ids=ids,
                                            related=("experiment", "created_by"))
    missing = len(ids) - len(runs)
    criteria = target_selectors.read_criteria(project=project)
    standing = winner_selectors.standing(project=project, criteria=criteria)
    target = standing.target
    visibility = ResultVisibility(request, project, criteria=criteria, standing=standing)
    summaries = metric_selectors.summaries_by_run(run_ids=[r.id for r in runs])
    series = _series(summaries, target)
    charts, single_values = _charts(runs, series, summaries, visibility)
    rows = _compare_rows(runs, summaries, series, visibility, target)
    # The runs with a value the table hides (the charts draw no series the table lacks).
    hidden_runs = [str(r.id) for i, r in enumerate(runs)
                   if any(row["cells"][i]["hidden"] for section in rows
                          for row in section["rows"])]
    return render(request, "web/compare.html", {
        "access": access, "project": project, "runs": runs, "missing": missing,
        "target": target, "charts": charts, "rows": rows, "single_values": single_values,
        "winner": standing.winner, "baseline": standing.baseline,
        "hidden_runs": hidden_runs,
        "judged_phrase": phrasing.split_phrase(visibility.judged_on),
        "curves_url": reverse("web:curves", args=[project.slug]),
        "chart_config": {
            "curves_url": reverse("web:curves", args=[project.slug]),
            "runs": [str(r.id) for r in runs],
            "names": {str(r.id): r.name for r in runs},
            "buckets": _buckets_for(len(runs)),
            "charts": charts,
            "parcoords": _parcoords(runs, summaries, target),
        },
        "share_url": request.build_absolute_uri(
            links.compare_url(project, [r.id for r in runs])),
        "runs_url": reverse("web:runs", args=[project.slug]),
        "this_url": request.get_full_path(),
        "only_differences": request.GET.get("diff") == "1",
    })


_HIDDEN = object()  # a value the table may not show


def _compare_rows(runs, summaries, series, visibility, target) -> list[dict]:
    """Sections of the comparison table: run facts, params, tags, metrics at their best step."""
    sections = []

    def row(label, values, *, kind="text", best=None, title=None):
        texts = ["hidden" if v is _HIDDEN else presenters.number(v) if kind == "number" else v
                 for v in values]
        comparable = [t for v, t in zip(values, texts, strict=True) if v is not _HIDDEN]
        return {"label": label, "cells": [
            {"text": t, "best": best is not None and i in best, "hidden": v is _HIDDEN}
            for i, (v, t) in enumerate(zip(values, texts, strict=True))],
            "same": len(set(comparable)) <= 1, "title": title}

    facts = [
        row("experiment", [r.experiment.name for r in runs]),
        row("status", [presenters.run_status(r)["text"] for r in runs]),
        row("baseline", ["yes" if r.baseline else "no" for r in runs]),
        row("started", [r.started_at.strftime("%Y-%m-%d %H:%M") for r in runs]),
        row("duration", [presenters.duration(r.ended_at - r.started_at if r.ended_at else None)
                         for r in runs]),
        row("git commit", [r.git_commit[:10] or "—" for r in runs]),
    ]
    sections.append({"title": "Run", "rows": facts})
    param_names = sorted({k for r in runs for k in r.params})
    sections.append({"title": "Params", "rows": [
        row(name, [r.params.get(name) for r in runs], kind="number") for name in param_names]})
    tag_names = sorted({k for r in runs for k in r.tags})
    if tag_names:
        sections.append({"title": "Tags", "rows": [
            row(name, [presenters.number(r.tags.get(name)) if name in r.tags else "—"
                       for r in runs]) for name in tag_names]})
    metric_rows = []
    for key, split in series:
        values = []
        for r in runs:
            summary = summaries.get(r.id, {}).get((key, split))
            if summary is not None and not visibility.shows(r.id, split, key):
                values.append(_HIDDEN)
            elif summary is None:
                values.append(None)
            else:
                values.append(math.nan if summary.best_value is None and summary.count
                              else summary.best_value)
        direction = _direction(key, target)
        numbers = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        best = None
        if direction and len(numbers) > 1:
            top = max(numbers) if direction == "maximize" else min(numbers)
            best = {i for i, v in enumerate(values) if isinstance(v, float) and v == top}
        label = f"{split} · {key}"
        title = (f"{phrasing.metric_label(key)} on {phrasing.split_phrase(split)}, at each "
                 "run's best step" + (f"; {'higher' if direction == 'maximize' else 'lower'}"
                                      " is better" if direction else ""))
        metric_rows.append(row(label, values, kind="number", best=best, title=title))
    sections.append({"title": "Metrics (value at each run's best step)", "rows": metric_rows})
    return sections


def _parcoords(runs, summaries, target) -> dict | None:
    """Params that differ between the runs against the selection metric (no dimensions when
    no param differs)."""
    if target is None or len(runs) < 2:
        return None
    key = (target.metric, target.selected_on)
    scored = []
    for r in runs:
        summary = summaries.get(r.id, {}).get(key)
        value = summary.best_value if summary else None
        if value is not None and math.isfinite(value):
            scored.append((r, value))
    if len(scored) < 2:
        return None
    dimensions = []
    for name in sorted({k for r, _ in scored for k in r.params}):
        values = [r.params.get(name) for r, _ in scored]
        if len({presenters.number(v) for v in values}) <= 1:
            continue  # the same everywhere: says nothing about the metric
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool)
                      and math.isfinite(v) for v in values)
        if numeric:
            dimensions.append({"label": name, "values": [float(v) for v in values]})
        else:
            texts = [presenters.number(v) if v is not None else "(none)" for v in values]
            categories = sorted(set(texts))
            dimensions.append({"label": name,
                               "values": [categories.index(t) for t in texts],
                               "tickvals": list(range(len(categories))),
                               "ticktext": [t[:18] for t in categories]})
    if not dimensions:  # one axis, the metric alone, draws nothing worth reading
        return {"dimensions": [], "left_out": 0}
    dimensions = dimensions[:12]
    dimensions.append({"label": f"{target.selected_on} · {target.metric}",
                       "values": [v for _, v in scored]})
    return {"dimensions": dimensions, "color": [v for _, v in scored],
            "reversescale": target.direction == "minimize",
            "left_out": len(runs) - len(scored)}


@page
@require_GET
def curves(request, slug):
    """Curves of one metric on one or more splits for some runs, downsampled on the server."""
    access = project_access(request, slug)
    project = access.project
    key = request.GET.get("key", "")
    splits = request.GET.getlist("split")
    ids = links.run_ids(request.GET)
    try:
        buckets = int(request.GET.get("buckets") or 400)
    except ValueError:
        buckets = 400
    buckets = max(10, min(2000, buckets))
    runs = run_selectors.live_runs_in_order(project=project, ids=ids)
    wanted = [(run, s) for run in runs for s in splits]
    visibility = ResultVisibility(request, project)
    hidden = 0
    allowed = []
    for run, split in wanted:
        if not visibility.shows(run.id, split, key):
            hidden += 1
        else:
            allowed.append((run, split))
    summaries = metric_selectors.summaries_by_run(run_ids=[r.id for r, _ in allowed],
                                                  series={(key, s) for s in splits})
    chosen = [(run, split, summaries[run.id][(key, split)]) for run, split in allowed
              if (key, split) in summaries.get(run.id, {})]
    data = metric_selectors.metric_curves(summaries=[s for _, _, s in chosen], buckets=buckets)
    traces = [{"run": str(run.id), "name": run.name, "split": split, **data[summary.id]}
              for run, split, summary in chosen]
    return JsonResponse({"key": key, "traces": traces, "hidden": hidden,
                         "axes": _curve_axes(visibility.target, key, traces, runs)})


def _curve_axes(target, key: str, traces: list[dict], runs) -> dict:
    """The chart's axes; the target's metric carries the agreed bar."""
    aimed = target is not None and target.metric == key
    definition = (target.definition or None) if aimed else None
    return charts.curve_axes(
        traces, bar=target.threshold if aimed else None,
        bar_text=(f"agreed bar on {target.judged_on}: {presenters.number(target.threshold)}"
                  if aimed else ""),
        bounds=axes.metric_bounds(key, definition),
        baselines={str(r.id) for r in runs if r.baseline})
