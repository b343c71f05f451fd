"""The runs table: the filter language, sorting, chosen columns, keyset paging, the CSV
export, and showing hidden test results on request (recorded)."""

import csv
import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tracker import phrasing, run_pages, run_search
from tracker.errors import InvalidInput
from tracker.models import Run
from tracker.selectors import access as access_selectors
from tracker.selectors import metrics as metric_selectors
from tracker.selectors import runs as run_selectors
from tracker.selectors import targets as target_selectors
from tracker.selectors import winner as winner_selectors
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


def _search_terms(request) -> tuple[str, str]:
    """The filter and the sort order the query string asks for."""
    return request.GET.get("filter", "").strip(), request.GET.get("order_by", "").strip()


def _all_matching(project, filter_text: str):
    """Every live run of the project that matches the filter, in no order."""
    return (Run.objects.live().filter(project=project)
            .filter(run_search.compile_filter(filter_text)))


@dataclass
class _Found:
    """One page of the runs table's search, or the error that stopped it."""

    rows: list = field(default_factory=list)
    next_cursor: str | None = None
    total: int | None = None
    auto_revealed: bool = False
    error: dict | None = None
    warnings: list = field(default_factory=list)


def _search(request, project, visibility, *, filter_text, order_by, size) -> _Found:
    """The page of matching runs the query string asks for; a filter or order that reads
    test values counts as a look at this page's runs (recorded)."""
    try:
        matching = run_search.search_runs(project=project, filter_text=filter_text,
                                          order_by=order_by)
        rows, next_cursor = run_pages.page(matching, order_by=order_by,
                                           cursor=request.GET.get("cursor"), page_size=size)
        found = _Found(rows=rows, next_cursor=next_cursor,
                       total=_all_matching(project, filter_text).count(),
                       warnings=run_selectors.filter_warnings(
                           project=project, filter_text=filter_text, order_by=order_by))
        if rows and reads_split(filter_text=filter_text, order_by=order_by,
                                judged_on=visibility.judged_on):
            found.auto_revealed = visibility.reveal([r.id for r in rows]) is not None
    except InvalidInput as exc:
        return _Found(error=_error_context(exc, filter_text if exc.field == "filter"
                                           else order_by))
    return found


def _error_context(exc: InvalidInput, text: str) -> dict:
    """A filter's or an order's error as the page shows it, pointing at where it is."""
    position = exc.extra.get("position")
    message = exc.message.removeprefix(f"{exc.field}: ")
    context = {"field": exc.field, "message": message[:1].upper() + message[1:],
               "position": position, "text": text}
    if isinstance(position, int) and 0 <= position <= len(text):
        context.update(before=text[:position], at=text[position:position + 1] or " ",
                       after=text[position + 1:], caret=" " * position + "^")
    return context


def _with_fixes(request, warnings: list[dict], filter_text: str, order_by: str) -> list[dict]:
    """The warnings of the search, each with the address of the same search using the name
    it suggests, when the name it warns about is written so in the filter or the order."""
    shown = []
    for warning in warnings:
        fix_url = None
        # The name as a whole: not the start of a longer name, nor the end of one.
        written = re.compile(r"(?<![\w.`/])" + re.escape(warning["field"]) + r"(?![\w`-])")
        suggestion = warning["suggestion"]
        if suggestion:
            for key, text in (("filter", filter_text), ("order_by", order_by)):
                if written.search(text):
                    fixed = written.sub(lambda _, name=suggestion: name, text)
                    fix_url = _query(request, **{key: fixed, "cursor": None})
                    break
        shown.append({**warning, "fix_url": fix_url})
    return shown


def _headers(request, columns, order_by: str, numeric_columns: set[str]) -> list[dict]:
    """The table's header cells: the run's name first, each a link that sorts by it."""
    headers = []
    for c in [column("attribute", "name"), *columns]:
        url, arrow = _sort_link(request, c.field, order_by)
        headers.append({"col": c, "sort_url": url, "arrow": arrow,
                        "numeric": c.field in numeric_columns})
    return headers


@page
@require_GET
def runs(request, slug):
    """Runs table: filter language, sort by any column, column chooser, keyset paging,
    selection for comparison, CSV export; test results hidden behind a recorded reveal."""
    access = project_access(request, slug)
    project = access.project
    filter_text, order_by = _search_terms(request)
    size = _page_size(request)
    criteria = target_selectors.read_criteria(project=project)
    standing = winner_selectors.standing(project=project, criteria=criteria)
    visibility = ResultVisibility(request, project, criteria=criteria, standing=standing)
    found = _search(request, project, visibility, filter_text=filter_text, order_by=order_by,
                    size=size)
    # The column chooser offers what the runs on this page carry (and the chosen columns).
    fields = run_selectors.run_fields(runs=found.rows)
    columns, default_columns = runs_table.chosen_columns(
        request.GET.getlist("col"), standing.target, list(criteria.guardrails), fields)
    summaries = metric_selectors.summaries_by_run(run_ids=[r.id for r in found.rows],
                                                  series=runs_table.metric_series(columns))
    table, numeric_columns = runs_table.rows(found.rows, columns, summaries, visibility)
    shows_hidden_split = any(c.kind == "metric" and visibility.is_hidden_split(c.split)
                             for c in columns)
    chosen = [c.field for c in columns]
    return render(request, "web/runs.html", {
        "access": access, "project": project, "target": standing.target,
        "filter_text": filter_text, "order_by": order_by, "page_size": size,
        "page_sizes": PAGE_SIZES, "error": found.error, "table": table,
        "warnings": _with_fixes(request, found.warnings, filter_text, order_by),
        "headers": _headers(request, columns, order_by, numeric_columns),
        "columns": columns, "default_columns": default_columns,
        "chooser": runs_table.chooser(columns, fields),
        "total": found.total, "shown": len(found.rows),
        "is_first_page": not request.GET.get("cursor"),
        # Default columns follow the page's runs: the next page keeps this page's columns.
        "next_url": _query(request, cursor=found.next_cursor, col=chosen)
        if found.next_cursor else None,
        "first_url": _query(request, cursor=None),
        "csv_url": reverse("web:runs-csv", args=[project.slug]) + _query(
            request, cursor=None, page_size=None, col=chosen),
        "hidden_runs": [str(row["run"].id) for row in table
                        if any(c.get("hidden") for c in row["cells"])],
        "shows_hidden_split": shows_hidden_split,
        "auto_revealed": found.auto_revealed,
        "judged_phrase": phrasing.split_phrase(visibility.judged_on),
        "winner": standing.winner, "baseline": standing.baseline,
        "this_url": request.get_full_path(),
    }, status=400 if found.error else 200)


@page
@require_http_methods(["GET", "POST"])
def runs_csv(request, slug):
    """Every run matching the filter, in the table's order and columns, as CSV.

    Test values the pages hide are written as "hidden" unless revealed in this session.
    Posted (the runs table's "CSV with test results"), or with a filter or order that reads
    test results, the export is a look at every exported run's test results (recorded).
    """
    access = project_access(request, slug)
    project = access.project
    filter_text, order_by = _search_terms(request)
    criteria = target_selectors.read_criteria(project=project)
    standing = winner_selectors.standing(project=project, criteria=criteria)
    visibility = ResultVisibility(request, project, criteria=criteria, standing=standing)
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
    columns, _ = runs_table.chosen_columns(
        request.GET.getlist("col"), standing.target, list(criteria.guardrails),
        run_selectors.run_fields(runs=first_rows))
    columns = [column("attribute", "name"), column("attribute", "id"), *columns]
    if reads_test or request.method == "POST":
        ids = [str(i) for i in _all_matching(project, filter_text).values_list("id", flat=True)]
        if ids:
            visibility.reveal(ids)
    series = runs_table.metric_series(columns)

    def lines():
        buffer = _Echo()
        writer = csv.writer(buffer)
        yield writer.writerow([c.field for c in columns])
        rows, cursor = first_rows, first_cursor
        while True:
            summaries = metric_selectors.summaries_by_run(run_ids=[r.id for r in rows],
                                                          series=series)
            for run in rows:
                yield writer.writerow([runs_table.csv_value(run, c, summaries, visibility)
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
    ids = links.run_ids(request.POST)
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
    experiment, _ = access_selectors.experiment_for_user(user=request.user,
                                                         experiment_id=experiment_id)
    return redirect(links.runs_url(experiment.project,
                                   presenters.experiment_filter(experiment.name)))
