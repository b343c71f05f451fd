"""Pages of the web UI. Thin: they read through tracker.selectors, write through
tracker.services, and leave the rules (winner, filter language, roles) to those."""

import csv
import math
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from reports import schedule as report_schedule
from reports import selectors as report_selectors
from reports import services as report_services
from reports.models import CheckIn, Report, ReportStatus
from tracker import mlflow_mapping, phrasing, run_pages, run_search
from tracker.errors import InvalidInput, NotFound, TargetlineError
from tracker.models import ApiToken, Artifact, Membership, Run
from tracker.numbers import finite_or_none
from tracker.selectors import access as access_selectors
from tracker.selectors import metrics as metric_selectors
from tracker.selectors import model_registry as registry_selectors
from tracker.selectors import projects as project_selectors
from tracker.selectors import runs as run_selectors
from tracker.selectors import winner as winner_selectors
from tracker.services import projects as project_services
from tracker.services import runs as run_services
from tracker.services import targets as target_services
from tracker.services import tokens as token_services
from web import forms, presenters
from web.permissions import page, project_access, run_access, with_csp
from web.presenters import Column, column
from web.project_verdict import project_verdict
from web.visibility import ResultVisibility, reads_split

_login = auth_views.LoginView.as_view(template_name="web/login.html",
                                      redirect_authenticated_user=True)


def login_view(request, *args, **kwargs):
    """Django's login page in our layout, with the same Content-Security-Policy."""
    return with_csp(_login(request, *args, **kwargs))


logout_view = auth_views.LogoutView.as_view()


# --- Projects overview ------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectCard:
    project: object
    role: str
    standing: winner_selectors.Standing
    verdict: object
    progress: int | None
    headline: str


@page
@require_http_methods(["GET", "POST"])
def projects(request):
    """Every project the user can see: target in words, progress, verdict, last run."""
    new_project = forms.NewProjectForm(request.POST or None)
    if request.method == "POST" and new_project.is_valid():
        try:
            project = project_services.create_project(user=request.user,
                                                      slug=new_project.cleaned_data["slug"],
                                                      name=new_project.cleaned_data["name"])
        except TargetlineError as exc:
            forms.add_domain_error(new_project, exc)
        else:
            messages.success(request, f"Project {project.name} created: agree on its "
                             "target below.")
            return redirect("web:settings", slug=project.slug)
    roles = dict(Membership.objects.filter(user=request.user)
                 .values_list("project__slug", "role"))
    cards = []
    for project in project_selectors.projects_overview(user=request.user):
        standing = winner_selectors.standing(project=project)
        target = standing.target
        cards.append(ProjectCard(
            project=project, role=roles.get(project.slug, ""), standing=standing,
            verdict=project_verdict(project=project, standing=standing),
            progress=presenters.progress(standing.judged_value, target.threshold,
                                         target.direction) if target else None,
            headline=presenters.target_headline(target) if target else "",
        ))
    status = 400 if request.method == "POST" else 200
    return render(request, "web/projects.html", {"cards": cards, "new_project": new_project},
                  status=status)


# --- Project dashboard -----------------------------------------------------------------

DASHBOARD_DOTS = 2000  # runs drawn as dots on the best-so-far chart (all improvements are kept)
LEADERBOARD_SIZE = 20


def _ms(moment) -> int:
    return int(moment.timestamp() * 1000)


@page
@require_GET
def dashboard(request, slug):
    """Target card, where the project stands, best so far over time, leaderboard, recent
    runs and experiments."""
    access = project_access(request, slug)
    project = access.project
    standing = winner_selectors.standing(project=project)
    target = standing.target
    board = winner_selectors.leaderboard(project=project, limit=LEADERBOARD_SIZE)
    board_runs = {r.id: r for r in Run.objects.filter(
        id__in=[b.candidate.run_id for b in board]).select_related("experiment")}
    winner_id = standing.winner.id if standing.winner else None
    # The baseline listed after the top 20 has no place number: its rank was not worked out.
    leaderboard = [{"rank": i if i <= LEADERBOARD_SIZE else None,
                    "run": board_runs.get(b.candidate.run_id), "ranked": b,
                    "is_winner": b.candidate.run_id == winner_id}
                   for i, b in enumerate(board, start=1)]
    chart = None
    if target is not None:
        progress = winner_selectors.best_so_far(project=project, keep=DASHBOARD_DOTS)
        dots, steps = progress.latest, progress.improvements
        chart = {
            "metric": phrasing.metric_label(target.metric),
            "selected_on": target.selected_on,
            "judged_on": target.judged_on,
            "threshold": target.threshold,
            "direction": target.direction,
            "dots": {"x": [_ms(p.ended_at) for p in dots],
                     "y": [finite_or_none(p.value) for p in dots],
                     "passes": [p.passes for p in dots]},
            "best": {"x": [_ms(p.ended_at) for p in steps],
                     "y": [finite_or_none(p.best_so_far) for p in steps],
                     "name": [progress.names.get(p.run_id, "") for p in steps]},
            "end": _ms(progress.last_ended_at) if progress.last_ended_at else None,
            "winner": ({"x": _ms(standing.winner.ended_at),
                        "y": finite_or_none(standing.judged_value),
                        "name": standing.winner.name}
                       if standing.winner and standing.winner.ended_at
                       and finite_or_none(standing.judged_value) is not None else None),
            "dots_note": (f"latest {len(dots):,} of {progress.total:,} finished runs shown as "
                          "dots" if progress.total > len(dots) else ""),
        }
    guardrail_sentences = [
        phrasing.guardrail_sentence(g["metric"], g["actual"], op=g["op"], limit=g["value"],
                                    split=g["split"], passed=g["passed"])
        for g in standing.guardrails
    ]
    return render(request, "web/dashboard.html", {
        "access": access, "project": project, "standing": standing, "target": target,
        "verdict": project_verdict(project=project, standing=standing),
        "progress": presenters.progress(standing.judged_value, target.threshold,
                                        target.direction) if target else None,
        "headline": presenters.target_headline(target) if target else "",
        "meaning": presenters.target_meaning(target) if target else "",
        "guardrails": list(project.guardrails.all()),
        "guardrail_sentences": guardrail_sentences,
        "history": _history(project),
        "leaderboard": leaderboard,
        "recent": run_selectors.recent_runs(project=project, limit=8),
        "experiments": [
            {"experiment": e, "runs_url": _runs_url(project, presenters.experiment_filter(e.name))}
            for e in project_selectors.experiments_overview(project=project)],
        "chart": chart,
        "run_count": Run.objects.live().filter(project=project).count(),
    })


def _runs_url(project, filter_text: str) -> str:
    return reverse("web:runs", args=[project.slug]) + "?" + urlencode({"filter": filter_text})


def _history(project) -> list[dict]:
    out = []
    for change in project_selectors.target_history(project=project)[:100]:
        before, after = presenters.describe_change(change)
        out.append({"change": change, "before": before, "after": after,
                    "who": change.changed_by.username if change.changed_by else "someone"})
    return out


# --- Runs table ------------------------------------------------------------------------

PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
CSV_CHUNK = 1000


def _default_columns(standing, guardrails, fields) -> list[Column]:
    cols = [column("attribute", n) for n in ("experiment", "status", "started_at")]
    target = standing.target
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


# Metric names that time the work rather than judge the model (sklearn's cv_results_
# mean_fit_time, a script's epoch_seconds).
_TIMING = re.compile(r"(^|[_/.])(time|times|seconds|secs|duration|runtime)$")


def _telling_first(fields, split: str) -> list[tuple[str, str]]:
    """The split's metrics in the order a table without a target shows them: those most of
    the runs have first, timings after the rest, then by name; no system metrics."""
    coverage = fields["metric_coverage"]
    found = [(k, s) for k, s in fields["metrics"]
             if s == split and not mlflow_mapping.is_system_metric(k)]
    return sorted(found, key=lambda ks: (-coverage.get(ks, 0), bool(_TIMING.search(ks[0]))))


def _chosen_columns(request, standing, guardrails, fields) -> tuple[list[Column], bool]:
    wanted = request.GET.getlist("col")
    if not wanted:
        return _default_columns(standing, guardrails, fields), True
    cols, seen = [], set()
    for text in wanted:
        col = presenters.parse_column(text)
        if col is not None and col.field not in seen and col.field != "name":
            seen.add(col.field)
            cols.append(col)
    return cols, False


def _cell(run: Run, col: Column, summaries: dict, visibility: ResultVisibility) -> dict:
    """One table cell: text, optional tooltip, and whether it is a hidden test value."""
    if col.kind == "metric":
        if not visibility.shows(run.id, col.split):
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
        value = run.params.get(col.name)
        return {**presenters.cell(value), "numeric": isinstance(value, int | float)}
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


def _csv_value(run: Run, col: Column, summaries: dict, visibility: ResultVisibility) -> str:
    if col.kind == "metric":
        if not visibility.shows(run.id, col.split):
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


def _query(request, **changes) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            if isinstance(value, list):
                query.setlist(key, value)
            else:
                query[key] = value
    return "?" + query.urlencode() if query else "?"


def _sort_link(request, col_field: str, order_by: str) -> tuple[str, str]:
    """The URL that sorts by a column (toggling direction) and its current arrow."""
    first = order_by.split(",")[0].strip() if order_by else "-started_at"
    if first == col_field:
        return _query(request, order_by=f"-{col_field}", cursor=None), "asc"
    if first == f"-{col_field}":
        return _query(request, order_by=col_field, cursor=None), "desc"
    descending = col_field not in ("name", "experiment", "status", "created_by", "host")
    return _query(request, order_by=("-" if descending else "") + col_field, cursor=None), ""


def _page_size(request) -> int:
    try:
        size = int(request.GET.get("page_size") or DEFAULT_PAGE_SIZE)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE


@page
@require_GET
def runs(request, slug):
    """Runs table: filter language, sort by any column, column chooser, keyset paging,
    selection for comparison, CSV export; test results hidden behind a recorded reveal."""
    access = project_access(request, slug)
    project = access.project
    filter_text = request.GET.get("filter", "").strip()
    order_by = request.GET.get("order_by", "").strip()
    size = _page_size(request)
    standing = winner_selectors.standing(project=project)
    guardrails = list(project.guardrails.all())
    visibility = ResultVisibility(request, project, standing=standing)

    error = None
    rows, next_cursor, total = [], None, None
    auto_revealed = False
    try:
        matching = run_search.search_runs(project=project, filter_text=filter_text,
                                          order_by=order_by)
        rows, next_cursor = run_pages.page(matching, order_by=order_by,
                                           cursor=request.GET.get("cursor"), page_size=size)
        total = (Run.objects.live().filter(project=project)
                 .filter(run_search.compile_filter(filter_text)).count())
        if rows and reads_split(filter_text=filter_text, order_by=order_by,
                                judged_on=visibility.judged_on):
            auto_revealed = visibility.reveal([r.id for r in rows]) is not None
    except InvalidInput as exc:
        error = _error_context(exc, filter_text if exc.field == "filter" else order_by)

    # The column chooser offers what the runs on this page carry (and the chosen columns).
    fields = run_selectors.run_fields(runs=rows)
    columns, default_columns = _chosen_columns(request, standing, guardrails, fields)
    metric_series = {(c.name, c.split) for c in columns if c.kind == "metric"}
    summaries = metric_selectors.summaries_by_run(run_ids=[r.id for r in rows],
                                                  series=metric_series)
    table = [{"run": run, "cells": [_cell(run, c, summaries, visibility) for c in columns]}
             for run in rows]
    numeric_columns = set()
    for index, c in enumerate(columns):
        if c.kind == "metric" or c.name == "duration" or (
                c.kind == "param" and any(row["cells"][index].get("numeric") for row in table)):
            numeric_columns.add(c.field)
            for row in table:
                row["cells"][index]["numeric"] = True
    for row in table:
        for cell in row["cells"]:
            cell["css"] = " ".join(name for flag, name in (
                ("numeric", "num"), ("hidden", "hidden-value"), ("mono", "mono")) if cell.get(flag))
    shows_hidden_split = any(c.kind == "metric" and visibility.is_hidden_split(c.split)
                             for c in columns)
    hidden_runs = visibility.hidden_runs([r.id for r in rows]) if shows_hidden_split else []
    headers = []
    for c in [column("attribute", "name"), *columns]:
        url, arrow = _sort_link(request, c.field, order_by)
        headers.append({"col": c, "sort_url": url, "arrow": arrow,
                         "numeric": c.field in numeric_columns})
    chooser = _chooser(columns, fields)
    return render(request, "web/runs.html", {
        "access": access, "project": project, "target": standing.target,
        "filter_text": filter_text, "order_by": order_by, "page_size": size,
        "page_sizes": PAGE_SIZES, "error": error, "table": table, "headers": headers,
        "columns": columns, "default_columns": default_columns, "chooser": chooser,
        "total": total, "shown": len(rows), "is_first_page": not request.GET.get("cursor"),
        # Default columns follow the page's runs: the next page keeps this page's columns.
        "next_url": _query(request, cursor=next_cursor, col=[c.field for c in columns])
        if next_cursor else None,
        "first_url": _query(request, cursor=None),
        "csv_url": reverse("web:runs-csv", args=[project.slug]) + _query(
            request, cursor=None, page_size=None, col=[c.field for c in columns]),
        "hidden_runs": hidden_runs, "auto_revealed": auto_revealed,
        "judged_phrase": phrasing.split_phrase(visibility.judged_on),
        "winner": standing.winner, "baseline": standing.baseline,
        "this_url": request.get_full_path(),
    }, status=400 if error else 200)


def _chooser(columns: list[Column], fields: dict) -> dict:
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


def _error_context(exc: InvalidInput, text: str) -> dict:
    position = exc.extra.get("position")
    message = exc.message.removeprefix(f"{exc.field}: ")
    context = {"field": exc.field, "message": message[:1].upper() + message[1:],
               "position": position, "text": text}
    if isinstance(position, int) and 0 <= position <= len(text):
        context.update(before=text[:position], at=text[position:position + 1] or " ",
                       after=text[position + 1:], caret=" " * position + "^")
    return context


@page
@require_GET
def runs_csv(request, slug):
    """Every run matching the filter, in the table's order and columns, as CSV.

    Test values of runs other than the winner and the baseline are written as "hidden"
    unless revealed in this session; a filter or order that reads test results counts as a
    look at them for every exported run (recorded).
    """
    access = project_access(request, slug)
    project = access.project
    params = request.GET
    filter_text = params.get("filter", "").strip()
    order_by = params.get("order_by", "").strip()
    standing = winner_selectors.standing(project=project)
    guardrails = list(project.guardrails.all())
    visibility = ResultVisibility(request, project, standing=standing)
    try:
        matching = run_search.search_runs(project=project, filter_text=filter_text,
                                          order_by=order_by)
        first_rows, first_cursor = run_pages.page(matching, order_by=order_by, cursor=None,
                                                  page_size=CSV_CHUNK)
        reads_test = reads_split(filter_text=filter_text, order_by=order_by,
                                 judged_on=visibility.judged_on)
    except InvalidInput as exc:
        return render(request, "web/error.html", {"title": "Cannot export",
                                                  "message": exc.message}, status=400)
    columns, _ = _chosen_columns(request, standing, guardrails,
                                 run_selectors.run_fields(runs=first_rows))
    columns = [column("attribute", "name"), column("attribute", "id"), *columns]
    if reads_test:
        ids = [str(i) for i in (Run.objects.live().filter(project=project)
                                .filter(run_search.compile_filter(filter_text))
                                .values_list("id", flat=True))]
        if ids:
            visibility.reveal(ids)
    series = {(c.name, c.split) for c in columns if c.kind == "metric"}

    def lines():
        buffer = _Echo()
        writer = csv.writer(buffer)
        yield writer.writerow([c.field for c in columns])
        rows, cursor = first_rows, first_cursor
        while True:
            summaries = metric_selectors.summaries_by_run(run_ids=[r.id for r in rows],
                                                          series=series)
            for run in rows:
                yield writer.writerow([_csv_value(run, c, summaries, visibility)
                                       for c in columns])
            if not cursor:
                return
            rows, cursor = run_pages.page(matching, order_by=order_by, cursor=cursor,
                                          page_size=CSV_CHUNK)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-runs.csv"'
    return response


class _Echo:
    def write(self, value):
        return value


@page
@require_POST
def reveal_test(request, slug):
    """Show test results of the named runs: recorded (who, when, which runs), then back."""
    access = project_access(request, slug)
    ids = []
    for raw in request.POST.getlist("run"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    found = [str(i) for i in Run.objects.live().filter(project=access.project, id__in=ids)
             .values_list("id", flat=True)]
    if found:
        visibility = ResultVisibility(request, access.project)
        count = len(visibility.hidden_runs(found))
        visibility.reveal(found)
        if count:
            messages.info(request, f"Showing test results of {count} more "
                          f"run{'s' if count != 1 else ''}. This look at the test set is "
                          "recorded for the project's reports.")
    target = request.POST.get("next") or reverse("web:runs", args=[access.project.slug])
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("web:runs", args=[access.project.slug])
    return redirect(target)


# --- Compare -------------------------------------------------------------------------


def _run_ids(request) -> list[uuid.UUID]:
    raw = list(request.GET.getlist("run"))
    for chunk in request.GET.getlist("runs"):
        raw += chunk.split(",")
    ids, seen = [], set()
    for item in raw:
        try:
            value = uuid.UUID(item.strip())
        except ValueError:
            continue
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids


def _direction(metric: str, target) -> str | None:
    if target is not None and metric == target.metric:
        return target.direction
    return phrasing.default_direction(metric)


def _buckets_for(runs: int) -> int:
    """Points per curve: finer for a few runs, coarser for many, so a chart stays quick."""
    return max(100, min(400, 6000 // max(1, runs)))


@page
@require_GET
def compare(request, slug):
    """Any number of runs side by side: curves, parallel coordinates, params and summaries."""
    access = project_access(request, slug)
    project = access.project
    ids = _run_ids(request)
    by_id = {r.id: r for r in Run.objects.live().filter(project=project, id__in=ids)
             .select_related("experiment", "created_by")}
    runs = [by_id[i] for i in ids if i in by_id]
    missing = len(ids) - len(runs)
    standing = winner_selectors.standing(project=project)
    target = standing.target
    visibility = ResultVisibility(request, project, standing=standing)
    summaries = metric_selectors.summaries_by_run(run_ids=[r.id for r in runs])
    series = sorted({ks for per_run in summaries.values() for ks in per_run},
                    key=lambda ks: (ks[0], metric_selectors.split_order(ks[1])))
    if target is not None:
        first = (target.metric, target.selected_on)
        series.sort(key=lambda ks: ks != first)

    charts, single_values = [], []
    for key, split in series:
        having = [r for r in runs if (key, split) in summaries.get(r.id, {})]
        visible = [r for r in having if visibility.shows(r.id, split)]
        if not visible:
            continue
        if not any(presenters.has_curve(summaries[r.id][(key, split)].count) for r in visible):
            single_values.append(f"{split} · {key}")
            continue
        charts.append({"key": key, "split": split, "label": presenters.chart_label(key),
                       "hidden": len(having) - len(visible),
                       "id": f"chart-{len(charts)}"})

    rows = _compare_rows(runs, summaries, series, visibility, target)
    hidden_runs = visibility.hidden_runs([r.id for r in runs])
    shows_test = any(visibility.is_hidden_split(s) for _, s in series)
    return render(request, "web/compare.html", {
        "access": access, "project": project, "runs": runs, "missing": missing,
        "target": target, "charts": charts, "rows": rows, "single_values": single_values,
        "winner": standing.winner, "baseline": standing.baseline,
        "hidden_runs": hidden_runs if shows_test else [],
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
            reverse("web:compare", args=[project.slug]) + "?"
            + urlencode([("run", str(r.id)) for r in runs])),
        "runs_url": reverse("web:runs", args=[project.slug]),
        "this_url": request.get_full_path(),
        "only_differences": request.GET.get("diff") == "1",
    })


def _compare_rows(runs, summaries, series, visibility, target) -> list[dict]:
    """Sections of the comparison table: run facts, params, tags, metrics at their best step."""
    sections = []

    def row(label, values, *, kind="text", best=None, title=None):
        texts = [presenters.number(v) if kind == "number" else v for v in values]
        comparable = [t for t in texts if t != "hidden"]
        return {"label": label, "cells": [
            {"text": t, "best": best is not None and i in best, "hidden": t == "hidden"}
            for i, t in enumerate(texts)], "same": len(set(comparable)) <= 1, "title": title}

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
            if summary is not None and not visibility.shows(r.id, split):
                values.append("hidden")
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
    """Params that differ between the runs against the selection metric."""
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
    ids = _run_ids(request)
    try:
        buckets = int(request.GET.get("buckets") or 400)
    except ValueError:
        buckets = 400
    buckets = max(10, min(2000, buckets))
    runs = {r.id: r for r in Run.objects.live().filter(project=project, id__in=ids)
            .only("id", "name")}
    wanted = [(runs[i], s) for i in ids if i in runs for s in splits]
    visibility = ResultVisibility(request, project)
    hidden = 0
    allowed = []
    for run, split in wanted:
        if not visibility.shows(run.id, split):
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
    return JsonResponse({"key": key, "traces": traces, "hidden": hidden})


# --- Run page ------------------------------------------------------------------------


def _nesting(project, run: Run) -> tuple[Run | None, str, int]:
    """The run an MLflow client nested this one under (when it is in the project), the
    address of the runs nested under this one, and how many there are."""
    parent = None
    try:
        parent_id = uuid.UUID(str(run.tags.get(mlflow_mapping.PARENT_RUN_TAG, "")))
    except ValueError:
        parent_id = None
    if parent_id is not None:
        parent = Run.objects.live().filter(project=project, id=parent_id).first()
    children_filter = presenters.children_filter(run.id)
    children = run_search.search_runs(project=project, filter_text=children_filter).count()
    return parent, _runs_url(project, children_filter), children


@page
@require_GET
def run_detail(request, run_id):
    """One run: status, context, params, tags, notes, summaries per split, curves, artifacts,
    and the datasets and models an MLflow client logged."""
    run, access = run_access(request, run_id)
    project = access.project
    standing = winner_selectors.standing(project=project)
    visibility = ResultVisibility(request, project, standing=standing)
    winner = standing.winner
    summaries = sorted(run.summaries.all(),
                       key=lambda s: (s.key, metric_selectors.split_order(s.split)))
    rows = []
    for s in summaries:
        shown = visibility.shows(run.id, s.split)
        rows.append({"summary": s, "hidden": not shown,
                     "best": presenters.number(math.nan if s.best_value is None and s.count
                                               else s.best_value),
                     "last": presenters.number(math.nan if s.last_value is None and s.count
                                               else s.last_value),
                     "min": presenters.number(s.min_value),
                     "max": presenters.number(s.max_value)})
    keys = []
    for s in summaries:
        if visibility.shows(run.id, s.split):
            if not keys or keys[-1]["key"] != s.key:
                keys.append({"key": s.key, "label": presenters.chart_label(s.key), "splits": [],
                             "id": f"chart-{len(keys)}", "points": 0})
            keys[-1]["splits"].append(s.split)
            keys[-1]["points"] = max(keys[-1]["points"], s.count)
    single_values = [k["key"] for k in keys if not presenters.has_curve(k["points"])]
    keys = [k for k in keys if presenters.has_curve(k["points"])]
    # MLflow's system metrics (CPU, memory…) are shown apart, folded: they are not the model's
    system_rows = [r for r in rows if mlflow_mapping.is_system_metric(r["summary"].key)]
    rows = [r for r in rows if not mlflow_mapping.is_system_metric(r["summary"].key)]
    system_keys = [k for k in keys if mlflow_mapping.is_system_metric(k["key"])]
    keys = [k for k in keys if not mlflow_mapping.is_system_metric(k["key"])]
    context = dict(run.context or {})
    command = context.pop("command", None)
    if isinstance(command, list):
        command = " ".join(str(c) for c in command)
    artifacts = list(Artifact.objects.filter(run=run))
    models = presenters.logged_models(context.pop(mlflow_mapping.LOGGED_MODELS_KEY, None) or {},
                                      artifacts)
    context.pop(mlflow_mapping.MODEL_OUTPUTS_KEY, None)
    registered = presenters.registered_versions(run.model_versions.select_related(
        "registered_model"))
    for model in models:
        model["registered"] = [v for v in registered if v["logged_model_id"] == model["id"]]
    registered_elsewhere = [v for v in registered
                            if not any(v in m["registered"] for m in models)]
    hidden_any = any(r["hidden"] for r in rows)
    parent, children_url, children = _nesting(project, run)
    return render(request, "web/run.html", {
        "parent": parent, "children": children, "children_url": children_url,
        "status": presenters.run_status(run),
        "access": access, "project": project, "run": run, "rows": rows,
        "system_rows": system_rows,
        "single_values": [k for k in single_values if not mlflow_mapping.is_system_metric(k)],
        "artifacts": artifacts, "models": models, "registered_elsewhere": registered_elsewhere,
        "datasets": presenters.datasets(run.datasets.all()),
        "notes_form": forms.NotesForm(initial={"notes": run.notes}),
        "duration": presenters.duration(run.ended_at - run.started_at if run.ended_at else None),
        "command": command, "extra_context": sorted(context.items()),
        # what an MLflow client sends instead of a command: the script or notebook it ran
        "mlflow_source": run.tags.get(mlflow_mapping.SOURCE_NAME_TAG, ""),
        "params": sorted(run.params.items()), "tags": sorted(run.tags.items()),
        "hidden_any": hidden_any,
        "is_winner": winner is not None and winner.id == run.id,
        "compare_url": (reverse("web:compare", args=[project.slug]) + "?"
                        + urlencode([("run", str(winner.id)), ("run", str(run.id))])
                        if winner is not None and winner.id != run.id else None),
        "experiment_url": _runs_url(project, presenters.experiment_filter(run.experiment.name)),
        "judged_phrase": phrasing.split_phrase(visibility.judged_on),
        "chart_config": {"curves_url": reverse("web:curves", args=[project.slug]),
                         "runs": [str(run.id)], "names": {str(run.id): run.name},
                         "buckets": 500, "keys": keys, "system_keys": system_keys},
        "this_url": request.get_full_path(),
    })


@page
@require_GET
def models(request, slug):
    """The project's registered models (MLflow's model registry), each version with the run it
    came from and that run's value where runs are chosen; the best model's run is marked."""
    access = project_access(request, slug)
    project = access.project
    standing = winner_selectors.standing(project=project)
    target = standing.target
    registered = registry_selectors.project_models(project)
    values = winner_selectors.values_where_chosen(
        target=target, run_ids={v.run_id for m in registered for v in m.versions.all()})
    winner_id = standing.winner.id if standing.winner else None
    return render(request, "web/models.html", {
        "access": access, "project": project, "target": target,
        "models": [{"model": m, "versions": presenters.model_versions(
            m, selection_values=values, winner_id=winner_id)} for m in registered],
    })


@page
@require_GET
def experiment_link(request, experiment_id):
    """Where an MLflow client's "View experiment at http://host/#/experiments/<id>" link lands
    (app.js turns the fragment into this address): the experiment's runs in its project."""
    experiment, _ = access_selectors.experiment_for_user(user=request.user,
                                                         experiment_id=experiment_id)
    return redirect(_runs_url(experiment.project, presenters.experiment_filter(experiment.name)))


@page
@require_POST
def run_notes(request, run_id):
    """Save a run's notes (owners and members)."""
    run, access = run_access(request, run_id)
    access.require_write()
    form = forms.NotesForm(request.POST)
    if form.is_valid():
        run_services.update_run(run=run, notes=form.cleaned_data["notes"])
        messages.success(request, "Notes saved.")
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect("web:run", run_id=run.id)


@page
@require_GET
def artifact_download(request, run_id, path):
    """Download one artifact of a run."""
    run, _ = run_access(request, run_id)
    artifact = Artifact.objects.filter(run=run, path=path).first()
    if artifact is None:
        raise NotFound(f"run has no artifact {path!r}")
    try:
        handle = artifact.file.open("rb")
    except FileNotFoundError:
        raise Http404("the artifact's file is missing from storage") from None
    return FileResponse(handle, as_attachment=True, filename=path.rsplit("/", 1)[-1],
                        content_type=artifact.content_type or "application/octet-stream")


# --- Project settings -----------------------------------------------------------------


def _target_initial(target) -> dict:
    if target is None:
        return {"judged_on": "test", "selected_on": "validation", "direction": "maximize"}
    return {"metric": target.metric, "direction": target.direction,
            "threshold": target.threshold, "judged_on": target.judged_on,
            "selected_on": target.selected_on, "agreed_by": target.agreed_by,
            "agreed_on": target.agreed_on, "definition": target.definition}


@page
@require_http_methods(["GET", "POST"])
def project_settings(request, slug):
    """Target with its history, guardrails, members and roles, the check-in schedule and
    the latest reports. Everyone in the project can read it; only owners see forms, and
    only owners' changes are accepted, except "send a report now", which members may use."""
    access = project_access(request, slug)
    project = access.project
    target = project.target if hasattr(project, "target") else None
    project_form = forms.ProjectForm(initial={"name": project.name,
                                              "description": project.description})
    series = metric_selectors.project_series(project=project)
    target_form = forms.TargetForm(initial=_target_initial(target))
    guardrail_forms = forms.GuardrailFormSet(
        prefix="guardrails", initial=[g.as_dict() for g in project.guardrails.all()])
    member_form = forms.MemberForm()
    checkin = CheckIn.objects.filter(project=project).first()
    checkin_form = forms.CheckInForm(initial=_checkin_initial(checkin))
    send_form = forms.SendNowForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "send_now":  # as in the API: members may send a report too
            access.require_write("send a report")
        else:
            access.require_owner()
        done = None
        if action == "project":
            project_form = forms.ProjectForm(request.POST)
            if project_form.is_valid():
                done = _apply(request, project_form, lambda: project_services.update_project(
                    project=project, **project_form.cleaned_data), "Project saved.")
        elif action == "target":
            target_form = forms.TargetForm(request.POST)
            if target_form.is_valid():
                done = _apply(request, target_form, lambda: target_services.set_target(
                    project=project, user=request.user, target=target_form.as_target()),
                    "Target saved; the change is recorded.", prefix="target.")
        elif action == "guardrails":
            guardrail_forms = forms.GuardrailFormSet(request.POST, prefix="guardrails")
            if guardrail_forms.is_valid():
                items = [{"metric": f.cleaned_data["metric"], "split": f.cleaned_data["split"]
                          or "test", "op": f.cleaned_data["op"], "value": f.cleaned_data["value"]}
                         for f in guardrail_forms.forms
                         if f.cleaned_data.get("metric") and not f.cleaned_data.get("DELETE")]
                try:
                    target_services.set_guardrails(project=project, user=request.user,
                                                   guardrails=items)
                except TargetlineError as exc:
                    guardrail_forms._non_form_errors = guardrail_forms.error_class([exc.message])
                else:
                    messages.success(request, "Guardrails saved; the change is recorded.")
                    done = True
        elif action in ("add_member", "change_role"):
            member_form = forms.MemberForm(request.POST)
            if member_form.is_valid():
                done = _apply(request, member_form, lambda: project_services.set_member(
                    project=project, username=member_form.cleaned_data["username"],
                    role=member_form.cleaned_data["role"], create=action == "add_member"),
                    "Member saved.")
        elif action == "checkin":
            checkin_form = forms.CheckInForm(request.POST)
            if checkin_form.is_valid():
                done = _apply(request, checkin_form, lambda: report_services.save_checkin(
                    project=project, data=checkin_form.as_checkin()),
                    "Check-in schedule saved.")
        elif action == "send_now":
            send_form = forms.SendNowForm(request.POST)
            if send_form.is_valid():
                to = send_form.addresses()
                done = _apply(request, send_form, lambda: report_services.send_now(
                    project=project, user=request.user, to=to or None),
                    f"A report is being prepared for {', '.join(to)} (a preview)." if to else
                    "A report is being prepared for the recipients; it is emailed in a minute.")
        elif action == "remove_member":
            try:
                project_services.remove_member(project=project,
                                               username=request.POST.get("username", ""))
            except TargetlineError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"{request.POST.get('username')} removed.")
            done = True
        else:
            messages.error(request, "Unknown action.")
            done = True
        if done:
            return redirect("web:settings", slug=project.slug)
        status = 400
    memberships = project.memberships.select_related("user").order_by("user__username")
    return render(request, "web/settings.html", {
        "access": access, "project": project, "target": target,
        "project_form": project_form, "target_form": target_form,
        "metric_names": sorted({key for key, _ in series}),
        "split_names": sorted({split for _, split in series} | {"train", "validation", "test"},
                              key=metric_selectors.split_order),
        "metrics_list": forms.METRICS_LIST, "splits_list": forms.SPLITS_LIST,
        "guardrail_forms": guardrail_forms, "member_form": member_form,
        "guardrails": list(project.guardrails.all()),
        "memberships": memberships, "roles": forms.MemberForm.base_fields["role"].choices,
        "history": _history(project),
        "headline": presenters.target_headline(target) if target else "",
        "meaning": presenters.target_meaning(target) if target else "",
        "checkin": _checkin_summary(checkin), "checkin_form": checkin_form,
        "send_form": send_form,
        "reports": _latest_reports(project),
        "time_zones": forms.CheckInForm.time_zones() if access.is_owner else [],
    }, status=status)


def _checkin_initial(checkin) -> dict:
    if checkin is None:
        return {"cadence": "weekly", "weekday": "0", "local_time": "09:00",
                "time_zone": settings.TIME_ZONE or "UTC", "enabled": True}
    return {"cadence": checkin.cadence,
            "weekday": "" if checkin.weekday is None else str(checkin.weekday),
            "every_n_days": checkin.every_n_days, "starts_on": checkin.starts_on,
            "day_of_month": checkin.day_of_month,
            "local_time": checkin.local_time.strftime("%H:%M"),
            "time_zone": checkin.time_zone, "recipients": "\n".join(checkin.recipients),
            "enabled": checkin.enabled}


def _checkin_summary(checkin) -> dict | None:
    """The saved check-in in words: when, the next one, who gets it, what cannot be sent."""
    if checkin is None:
        return None
    emails, problems = report_selectors.resolve_recipients(checkin=checkin)
    next_due = None
    if checkin.enabled and checkin.next_due_at:
        local = checkin.next_due_at.astimezone(report_schedule.zone(checkin.time_zone))
        next_due = {"at": checkin.next_due_at, "local": local,
                    "words": f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} "
                             f"({checkin.time_zone})"}
    return {"checkin": checkin, "describe": checkin.describe(), "next_due": next_due,
            "recipients": checkin.recipients, "emails": emails, "problems": problems}


LATEST_REPORTS = 10


def _latest_reports(project) -> list[dict]:
    """The project's last reports, newest first, with links to their HTML and PDF (served
    by the API's report views, which let members and viewers in and answer 404 to others)."""
    out = []
    for report in Report.objects.filter(project=project).order_by("-id")[:LATEST_REPORTS]:
        rendered = report.status != ReportStatus.PENDING and bool(report.pdf)
        out.append({
            "report": report, "period": (report.snapshot or {}).get("period", {}).get("text")
            or f"{report.period_start:%d %b %Y} – {report.period_end:%d %b %Y}",
            "html_url": reverse("report-html", args=[project.slug, report.pk]) if rendered
            else None,
            "pdf_url": reverse("report-pdf", args=[project.slug, report.pk]) if rendered
            else None,
        })
    return out


def _apply(request, form, write, success: str, *, prefix: str = "") -> bool:
    """Run a service call; its domain error goes onto the form. True when it succeeded."""
    try:
        write()
    except TargetlineError as exc:
        forms.add_domain_error(form, exc, prefix=prefix)
        return False
    messages.success(request, success)
    return True


# --- Account --------------------------------------------------------------------------


@page
@require_http_methods(["GET", "POST"])
def account(request):
    """The signed-in user's API tokens: create (shown once), list, revoke."""
    form = forms.TokenForm(request.POST if request.POST.get("action") == "create" else None)
    new_token = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create" and form.is_valid():
            token, raw = token_services.create_token(user=request.user,
                                                     name=form.cleaned_data["name"])
            new_token = {"token": token, "raw": raw}
            form = forms.TokenForm()
        elif action == "revoke":
            token = ApiToken.objects.filter(user=request.user,
                                            pk=_int(request.POST.get("token"))).first()
            if token is None:
                raise NotFound("no such token")
            token_services.revoke_token(token=token)
            messages.success(request, f"Token {token.prefix}… revoked.")
            return redirect("web:account")
    tokens = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    response = render(request, "web/account.html", {
        "form": form, "tokens": tokens, "new_token": new_token,
        "api_url": request.build_absolute_uri("/api/v1/"),
    })
    if new_token:
        response["Cache-Control"] = "no-store"  # the raw token is on this page, once
    return response


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
