"""The runs table: the filter language, sorting, chosen columns, keyset paging, the CSV
export, and showing hidden test results on request (recorded)."""

import csv
import uuid

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from tracker import phrasing, run_search, selectors
from tracker.errors import InvalidInput
from tracker.models import Run
from web import links, presenters, runs_table
from web.permissions import page, project_access
from web.presenters import column
from web.visibility import ResultVisibility, reads_split

PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
CSV_CHUNK = 1000


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
    standing = selectors.standing(project=project)
    guardrails = list(project.guardrails.all())
    visibility = ResultVisibility(request, project, standing=standing)

    error = None
    rows, next_cursor, total = [], None, None
    auto_revealed = False
    try:
        matching = run_search.search_runs(project=project, filter_text=filter_text,
                                          order_by=order_by)
        rows, next_cursor = run_search.page(matching, order_by=order_by,
                                            cursor=request.GET.get("cursor"), page_size=size)
        total = (Run.objects.live().filter(project=project)
                 .filter(run_search.compile_filter(filter_text)).count())
        if rows and reads_split(filter_text=filter_text, order_by=order_by,
                                judged_on=visibility.judged_on):
            auto_revealed = visibility.reveal([r.id for r in rows]) is not None
    except InvalidInput as exc:
        error = _error_context(exc, filter_text if exc.field == "filter" else order_by)

    # The column chooser offers what the runs on this page carry (and the chosen columns).
    fields = selectors.run_fields(runs=rows)
    columns, default_columns = runs_table.chosen_columns(
        request.GET.getlist("col"), standing.target, guardrails, fields)
    metric_series = {(c.name, c.split) for c in columns if c.kind == "metric"}
    summaries = selectors.summaries_by_run(run_ids=[r.id for r in rows], series=metric_series)
    table = [{"run": run, "cells": [runs_table.cell(run, c, summaries, visibility)
                                    for c in columns]}
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
    chooser = runs_table.chooser(columns, fields)
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
    standing = selectors.standing(project=project)
    guardrails = list(project.guardrails.all())
    visibility = ResultVisibility(request, project, standing=standing)
    try:
        matching = run_search.search_runs(project=project, filter_text=filter_text,
                                          order_by=order_by)
        first_rows, first_cursor = run_search.page(matching, order_by=order_by, cursor=None,
                                                   page_size=CSV_CHUNK)
        reads_test = reads_split(filter_text=filter_text, order_by=order_by,
                                 judged_on=visibility.judged_on)
    except InvalidInput as exc:
        return render(request, "web/error.html", {"title": "Cannot export",
                                                  "message": exc.message}, status=400)
    columns, _ = runs_table.chosen_columns(request.GET.getlist("col"), standing.target,
                                           guardrails, selectors.run_fields(runs=first_rows))
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
            summaries = selectors.summaries_by_run(run_ids=[r.id for r in rows], series=series)
            for run in rows:
                yield writer.writerow([runs_table.csv_value(run, c, summaries, visibility)
                                       for c in columns])
            if not cursor:
                return
            rows, cursor = run_search.page(matching, order_by=order_by, cursor=cursor,
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


@page
@require_GET
def experiment_link(request, experiment_id):
    """Where an MLflow client's "View experiment at http://host/#/experiments/<id>" link lands
    (app.js turns the fragment into this address): the experiment's runs in its project."""
    experiment, _ = selectors.experiment_for_user(user=request.user, experiment_id=experiment_id)
    return redirect(links.runs_url(experiment.project,
                                   presenters.experiment_filter(experiment.name)))
