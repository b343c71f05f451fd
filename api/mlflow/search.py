"""MLflow's searches of experiments and runs.

Runs are searched in the database: the MLflow filter becomes tracker.query's AST
(filters.py), compiled and paged by tracker.run_search like every other run filter. The
few experiments a user can see are filtered and sorted in Python, as MLflow shows them.
"""

from api.mlflow import authorization, fields, filters, shapes
from api.mlflow.endpoint import endpoint
from api.mlflow.errors import invalid
from api.mlflow.filter_syntax import Clause, parse
from api.mlflow.roles import visible_experiments
from tracker import run_pages, run_search
from tracker.errors import InvalidInput
from tracker.models import Run

MAX_RUNS_PER_SEARCH = 50_000
DEFAULT_RUNS_PER_SEARCH = 1000
MAX_EXPERIMENTS_PER_SEARCH = 50_000


def _view_type(value, default: str = "ACTIVE_ONLY") -> str:
    if value in (None, ""):
        return default
    names = {"1": "ACTIVE_ONLY", "2": "DELETED_ONLY", "3": "ALL"}
    text = names.get(str(value), str(value).upper())
    if text not in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        raise invalid(f"Invalid view type {value!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL")
    return text


def _in_view(queryset, view_type: str):
    """The live, the deleted or all of the experiments or runs, as MLflow's view type says."""
    if view_type == "ACTIVE_ONLY":
        return queryset.live()
    if view_type == "DELETED_ONLY":
        return queryset.deleted()
    return queryset


def _experiment_value(experiment_json: dict, clause: Clause):
    if clause.entity == "tag":
        return {t["key"]: t["value"] for t in experiment_json["tags"]}.get(clause.key)
    if clause.key not in ("name", "creation_time", "last_update_time"):
        raise invalid(f"Invalid attribute key '{clause.key}' specified. Valid keys are name, "
                      "creation_time, last_update_time")
    return experiment_json[clause.key]


@endpoint("GET", "POST")
def search_experiments(request, user, data):
    view_type = _view_type(data.get("view_type"))
    node = parse(data.get("filter"), entities={"attribute", "tag"})
    order = filters.experiment_order(fields.string_list(data, "order_by"))
    found = [shapes.experiment_json(e, user)
             for e in _in_view(visible_experiments(user), view_type)]
    if node is not None:
        found = [e for e in found
                 if filters.evaluate(node, lambda clause, e=e: _experiment_value(e, clause))]
    found.sort(key=lambda e: int(e["experiment_id"]))
    for key, descending in reversed(order):
        found.sort(key=lambda e, k=key: int(e[k]) if k == "experiment_id" else e[k],
                   reverse=descending)
    return fields.offset_page(found, data, key="experiments", default=1000,
                              most=MAX_EXPERIMENTS_PER_SEARCH)


@endpoint("POST")
def search_runs(request, user, data):
    max_results = fields.integer(data, "max_results", DEFAULT_RUNS_PER_SEARCH)
    if not 1 <= max_results <= MAX_RUNS_PER_SEARCH:
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It "
                      f"must be at most {MAX_RUNS_PER_SEARCH} and positive.")
    ids = authorization.experiment_pks(user, fields.string_list(data, "experiment_ids"))
    visible = visible_experiments(user).filter(pk__in=ids).values("pk")
    runs = _in_view(Run.objects.filter(experiment_id__in=visible),
                    _view_type(data.get("run_view_type")))
    node = filters.to_run_filter(data.get("filter"))
    if node is not None:
        runs = runs.filter(run_search.compile_node(node))
    order = filters.to_run_order(fields.string_list(data, "order_by"))
    runs = run_search.order_runs(runs, order).select_related("project", "experiment",
                                                              "created_by")
    cursor = data.get("page_token") or None
    rows: list[Run] = []
    while len(rows) < max_results:
        size = min(1000, max_results - len(rows))
        try:
            chunk, cursor = run_pages.page(runs, order_by=order, cursor=cursor, page_size=size)
        except InvalidInput as exc:
            raise invalid(f"Invalid page token: {exc.message}") from None
        rows += chunk
        if cursor is None:
            break
    answer = {"runs": shapes.runs_json(rows, user)}
    if cursor:
        answer["next_page_token"] = cursor
    return answer
