"""The runs table: which columns it shows, and what each cell says on the page and in the
CSV export. No queries here: the views pass the runs and their summaries."""

import math
import re

from django.utils.timezone import localtime

from tracker import mlflow_mapping, param_values
from tracker.models import Run
from web import presenters
from web.presenters import Column, column
from web.visibility import ResultVisibility

# Metric names that time the work rather than judge the model (sklearn's cv_results_
# mean_fit_time, a script's epoch_seconds).
_TIMING = re.compile(r"(^|[_/.])(time|times|seconds|secs|duration|runtime)$")


def default_columns(target, guardrails, fields) -> list[Column]:
    """The columns a table shows before anyone chooses: the target's metric on both splits,
    the guardrails, (without a target) the telling metrics, and the params that vary."""
    cols = [column("attribute", n) for n in ("experiment", "status", "started_at")]
    if target is not None:
        cols.append(column("metric", target.metric, target.selected_on))
        cols.append(column("metric", target.metric, target.judged_on))
    for g in guardrails:
        cols.append(column("metric", g.metric, g.split))
    if target is None:  # validation metrics first, then training ones (test stays hidden)
        cols += [column("metric", key, split) for wanted in ("validation", "train")
                 for key, split in _telling_first(fields, wanted)][:3]
    varying = fields["params_that_vary"]  # the params that tell these runs apart first
    cols += [column("param", p)
             for p in (varying + [p for p in fields["params"] if p not in varying])[:4]]
    seen, unique = set(), []
    for c in cols:
        if c.field not in seen:
            seen.add(c.field)
            unique.append(c)
    return unique


def _telling_first(fields, split: str) -> list[tuple[str, str]]:
    """The split's metrics in the order a table without a target shows them: those most of
    the runs have first, timings after the rest, then by name; no system metrics."""
    coverage = fields["metric_coverage"]
    found = [(k, s) for k, s in fields["metrics"]
             if s == split and not mlflow_mapping.is_system_metric(k)]
    return sorted(found, key=lambda ks: (-coverage.get(ks, 0), bool(_TIMING.search(ks[0]))))


def chosen_columns(wanted: list[str], target, guardrails, fields) -> tuple[list[Column], bool]:
    """The columns named in the query (`col=`), or the default ones when none is; and
    whether they are the default ones."""
    if not wanted:
        return default_columns(target, guardrails, fields), True
    cols, seen = [], set()
    for text in wanted:
        col = presenters.parse_column(text)
        if col is not None and col.field not in seen and col.field != "name":
            seen.add(col.field)
            cols.append(col)
    return cols, False


def metric_series(columns: list[Column]) -> set[tuple[str, str]]:
    """The (metric, split) pairs the columns show, whose summaries the cells need."""
    return {(c.name, c.split) for c in columns if c.kind == "metric"}


def rows(runs: list[Run], columns: list[Column], summaries: dict,
         visibility: ResultVisibility) -> tuple[list[dict], set[str]]:
    """The table's rows (each run with its cells, CSS classes set) and the fields of the
    columns that hold numbers, aligned right: metrics, durations, and numeric params."""
    table = [{"run": run, "cells": [cell(run, c, summaries, visibility) for c in columns]}
             for run in runs]
    numeric_columns = set()
    for index, c in enumerate(columns):
        if c.kind == "metric" or c.name == "duration" or (
                c.kind == "param" and any(row["cells"][index].get("numeric") for row in table)):
            numeric_columns.add(c.field)
            for row in table:
                row["cells"][index]["numeric"] = True
    for row in table:
        for one in row["cells"]:
            one["css"] = " ".join(name for flag, name in (
                ("numeric", "num"), ("hidden", "hidden-value"), ("mono", "mono")) if one.get(flag))
    return table, numeric_columns


def chooser(columns: list[Column], fields: dict) -> dict:
    """Checkboxes per group: the chosen columns (checked) and what the page's runs carry."""
    chosen = {c.field for c in columns}
    groups = {
        "run": [column("attribute", n) for n in presenters.CHOOSABLE_ATTRIBUTES],
        "params": [column("param", p) for p in fields["params"]],
        "tags": [column("tag", t) for t in fields["tags"]],
        "metrics": [column("metric", k, s) for k, s in fields["metrics"]],
    }
    kinds = {"param": "params", "tag": "tags", "metric": "metrics"}
    for c in columns:  # a chosen column stays offered on pages whose runs lack it
        group = groups[kinds.get(c.kind, "run")]
        if c.field not in {g.field for g in group}:
            group.append(c)
    return {name: [(c, c.field in chosen) for c in group] for name, group in groups.items()}


def cell(run: Run, col: Column, summaries: dict, visibility: ResultVisibility) -> dict:
    """One table cell: text, optional tooltip, and whether it is a hidden test value."""
    if col.kind == "metric":
        if not visibility.shows(run.id, col.split, col.name):
            return {"text": "hidden", "hidden": True}
        summary = summaries.get(run.id, {}).get((col.name, col.split))
        if summary is None:
            return {"text": "—", "numeric": True}
        value = summary.best_value
        if value is None and summary.count:
            value = math.nan
        title = (f"at best step {summary.best_step}: {presenters.number(value)} · "
                 f"last {presenters.number(summary.last_value)} · "
                 f"min {presenters.number(summary.min_value)} · "
                 f"max {presenters.number(summary.max_value)}")
        return {"text": presenters.number(value), "numeric": True, "title": title}
    if col.kind == "param":
        value = run.params.get(col.name)  # "1.0" from MLflow is a number as 1.0 from the SDK
        return {**presenters.cell(value), "numeric": param_values.number_of(value) is not None}
    if col.kind == "tag":
        return presenters.cell(run.tags.get(col.name))
    name = col.name
    if name == "experiment":
        return {"text": run.experiment.name}
    if name == "status":
        status = presenters.run_status(run)
        return {"text": status["text"], "status": status["css"], "title": status["title"]}
    if name in ("started_at", "ended_at"):
        moment = getattr(run, name)
        if moment is None:
            return {"text": "—"}
        return {"text": localtime(moment).strftime("%Y-%m-%d %H:%M"),
                "datetime": moment.isoformat()}
    if name == "duration":
        delta = run.ended_at - run.started_at if run.ended_at else None
        return {"text": presenters.duration(delta), "numeric": True}
    if name == "created_by":
        return {"text": run.created_by.username if run.created_by else "—"}
    if name == "git_commit":
        return {"text": run.git_commit[:10] or "—", "title": run.git_commit, "mono": True}
    if name == "baseline":
        return {"text": "baseline" if run.baseline else ""}
    if name == "id":
        return {"text": str(run.id)[:8], "title": str(run.id), "mono": True}
    return {"text": getattr(run, name, "") or "—"}


def csv_value(run: Run, col: Column, summaries: dict, visibility: ResultVisibility) -> str:
    """One CSV field: the full value (no rounding), "hidden" for a hidden test value."""
    if col.kind == "metric":
        if not visibility.shows(run.id, col.split, col.name):
            return "hidden"
        summary = summaries.get(run.id, {}).get((col.name, col.split))
        if summary is None:
            return ""
        value = summary.best_value
        return "NaN" if value is None and summary.count else ("" if value is None else repr(value))
    if col.kind == "param":
        value = run.params.get(col.name)
        return "" if value is None else presenters.number(value) if isinstance(
            value, dict | list) else str(value)
    if col.kind == "tag":
        value = run.tags.get(col.name)
        return "" if value is None else str(value)
    if col.name in ("started_at", "ended_at"):
        moment = getattr(run, col.name)
        return moment.isoformat() if moment else ""
    if col.name == "duration":
        return str((run.ended_at - run.started_at).total_seconds()) if run.ended_at else ""
    if col.name == "experiment":
        return run.experiment.name
    if col.name == "created_by":
        return run.created_by.username if run.created_by else ""
    return str(getattr(run, col.name, ""))
