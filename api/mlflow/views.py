"""The MLflow tracking endpoints, one function per operation, in MLflow's shapes.

Every write is a call to tracker.services (single-item writes are batches of
one), so MLflow clients get Targetline's write semantics: replayed points are
stored once, params are write-once, tags are last-write-wins.
"""

import json
import math
import re
from datetime import UTC, datetime

from django.db import transaction
from django.http import HttpResponse

from api.mlflow import authorization, batch, fields, filters, placement, shapes
from api.mlflow.artifacts import list_children
from api.mlflow.endpoint import endpoint, json_response, request_data
from api.mlflow.errors import (
    RESOURCE_ALREADY_EXISTS,
    MlflowError,
    invalid,
    not_found,
)
from api.mlflow.filter_syntax import Clause, parse
from api.mlflow.logged_models import record_model_metrics
from api.mlflow.roles import visible_experiments
from tracker import hot_sql, mlflow_mapping, run_search, services
from tracker.errors import Conflict, InvalidInput
from tracker.models import Experiment, MetricSummary, Run, RunStatus
from tracker.points import series_points

MAX_RUNS_PER_SEARCH = 50_000
DEFAULT_RUNS_PER_SEARCH = 1000
MAX_EXPERIMENTS_PER_SEARCH = 50_000


def _run_id(data) -> str:
    return data.get("run_id") or data.get("run_uuid") or ""


def _time(ms) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _view_type(value, default: str = "ACTIVE_ONLY") -> str:
    if value in (None, ""):
        return default
    names = {"1": "ACTIVE_ONLY", "2": "DELETED_ONLY", "3": "ALL"}
    text = names.get(str(value), str(value).upper())
    if text not in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        raise invalid(f"Invalid view type {value!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL")
    return text


# --- Experiments -----------------------------------------------------------------------

@endpoint("POST")
def create_experiment(request, user, data):
    name = fields.required(data, "name")
    if not isinstance(name, str):
        raise invalid(f"Invalid experiment name: {name!r}. Expects a string.")
    tags = {k: "" if v is None else v for k, v in fields.key_values(data.get("tags") or [], "tags")}
    if name == placement.DEFAULT_EXPERIMENT_NAME:
        raise MlflowError("Experiment(name=Default) already exists: it is experiment '0'",
                          RESOURCE_ALREADY_EXISTS)
    with transaction.atomic():
        project = placement.project_for_new_experiment(user, name, tags)
        inner_name = placement.experiment_name_in(project, name)
        tags[placement.PROJECT_TAG] = project.slug
        try:
            experiment = services.create_experiment(project=project, user=user, name=inner_name)
        except Conflict:
            raise MlflowError(f"Experiment(name={name}) already exists in project "
                              f"{project.slug}", RESOURCE_ALREADY_EXISTS) from None
        services.set_experiment_tags(experiment=experiment, tags=tags)
    return {"experiment_id": str(experiment.pk)}


@endpoint("GET")
def get_experiment(request, user, data):
    experiment = authorization.experiment_for(user, fields.required(data, "experiment_id"))
    return {"experiment": shapes.experiment_json(experiment, user)}


@endpoint("GET")
def get_experiment_by_name(request, user, data):
    name = fields.required(data, "experiment_name")
    experiment = placement.experiment_by_name(user, name)
    if experiment is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": shapes.experiment_json(experiment, user)}


def _experiment_value(experiment_json: dict, clause: Clause):
    if clause.entity == "tag":
        return {t["key"]: t["value"] for t in experiment_json["tags"]}.get(clause.key)
    if clause.key not in ("name", "creation_time", "last_update_time"):
        raise invalid(f"Invalid attribute key '{clause.key}' specified. Valid keys are name, "
                      "creation_time, last_update_time")
    return experiment_json[clause.key]


def _experiment_matches(node, experiment_json: dict) -> bool:
    return filters.evaluate(node, lambda clause: _experiment_value(experiment_json, clause))


@endpoint("GET", "POST")
def search_experiments(request, user, data):
    view_type = _view_type(data.get("view_type"))
    node = parse(data.get("filter"), entities={"attribute", "tag"})
    order = filters.experiment_order(fields.string_list(data, "order_by"))
    experiments = visible_experiments(user)
    if view_type == "ACTIVE_ONLY":
        experiments = experiments.live()
    elif view_type == "DELETED_ONLY":
        experiments = experiments.deleted()
    found = [shapes.experiment_json(e, user) for e in experiments]
    if node is not None:
        found = [e for e in found if _experiment_matches(node, e)]
    found.sort(key=lambda e: int(e["experiment_id"]))
    for key, descending in reversed(order):
        found.sort(key=lambda e, k=key: int(e[k]) if k == "experiment_id" else e[k],
                   reverse=descending)
    return fields.offset_page(found, data, key="experiments", default=1000,
                              most=MAX_EXPERIMENTS_PER_SEARCH)


def _not_default(experiment: Experiment, user, doing: str) -> None:
    if placement.is_default(experiment, experiment.project, user):
        raise invalid(f"Cannot {doing} the default experiment '0'.")


@endpoint("POST")
def delete_experiment(request, user, data):
    experiment = authorization.experiment_for(
        user, fields.required(data, "experiment_id"), write=True)
    _not_default(experiment, user, "delete")
    services.delete_experiment(experiment=experiment)
    return {}


@endpoint("POST")
def restore_experiment(request, user, data):
    experiment = authorization.experiment_for(
        user, fields.required(data, "experiment_id"), write=True)
    services.restore_experiment(experiment=experiment)
    return {}


@endpoint("POST")
def update_experiment(request, user, data):
    experiment = authorization.experiment_for(
        user, fields.required(data, "experiment_id"), write=True)
    fields.required(data, "new_name")  # as mlflow server: a rename to nothing is refused
    new_name = fields.string(data, "new_name")
    _not_default(experiment, user, "rename")
    try:
        services.rename_experiment(
            experiment=experiment,
            name=placement.experiment_name_in(experiment.project, new_name))
    except Conflict as exc:
        raise MlflowError(exc.message, RESOURCE_ALREADY_EXISTS) from None
    return {}


@endpoint("POST")
def set_experiment_tag(request, user, data):
    experiment = authorization.experiment_for(
        user, fields.required(data, "experiment_id"), write=True)
    key = fields.check_name(fields.required(data, "key"), "key")
    value = fields.string(data, "value")
    if key == placement.PROJECT_TAG and value != experiment.project.slug:
        raise invalid(f"experiment {experiment.name!r} belongs to project "
                      f"{experiment.project.slug!r}; the tag {placement.PROJECT_TAG} "
                      "cannot move "
                      "it (create a new experiment with the tag instead)")
    services.set_experiment_tags(experiment=experiment, tags={key: value})
    return {}


@endpoint("POST")
def delete_experiment_tag(request, user, data):
    experiment = authorization.experiment_for(
        user, fields.required(data, "experiment_id"), write=True)
    services.delete_experiment_tag(experiment=experiment, key=fields.required(data, "key"))
    return {}


# --- Runs ------------------------------------------------------------------------------

_TERMINAL = {"FINISHED": RunStatus.FINISHED, "FAILED": RunStatus.FAILED,
             "KILLED": RunStatus.KILLED}
_STATUS_NUMBERS = {"1": "RUNNING", "2": "SCHEDULED", "3": "FINISHED", "4": "FAILED",
                   "5": "KILLED"}


def _status(value) -> str:
    text = _STATUS_NUMBERS.get(str(value), str(value).upper())
    if text not in filters.MLFLOW_STATUSES:
        raise invalid(f"Invalid status {value!r}: use one of {', '.join(filters.MLFLOW_STATUSES)}")
    return text


@endpoint("POST")
def create_run(request, user, data):
    experiment = authorization.experiment_for(user, data.get("experiment_id") or "0", write=True)
    if experiment.deleted_at is not None:
        raise invalid(f"The experiment {data.get('experiment_id')} must be in the 'active' "
                      "state. Current state is deleted.")
    tags = {}
    for key, value in fields.key_values(data.get("tags") or [], "tags"):
        tags[fields.check_name(key, "tags.key")] = "" if value is None else value
    run_name = fields.string(data, "run_name")
    tag_name = tags.pop(shapes.RUN_NAME_TAG, "")
    if run_name and tag_name and run_name != tag_name:
        raise invalid("Both 'run_name' argument and 'mlflow.runName' tag are specified, but "
                      f"with different values (run_name='{run_name}', "
                      f"mlflow.runName='{tag_name}').")
    start_time = fields.integer(data, "start_time")
    commit = tags.get("mlflow.source.git.commit", "")
    run, _ = services.create_run(
        project=experiment.project, user=user, experiment=experiment,
        name=run_name or tag_name, tags=tags, started_at=_time(start_time),
        git_commit=commit if isinstance(commit, str) else "")
    run.project, run.experiment, run.created_by = experiment.project, experiment, user
    return {"run": shapes.run_json(run, user, [], [])}


@endpoint("POST")
def update_run(request, user, data):
    run = authorization.run_for(user, _run_id(data), write=True)
    run_name = fields.string(data, "run_name")
    if run_name:
        services.update_run(run=run, name=run_name)
    if data.get("status") not in (None, ""):
        status = _status(data.get("status"))
        ours = _TERMINAL.get(status, RunStatus.RUNNING)
        if ours == run.status and (ours == RunStatus.RUNNING or run.ended_at is not None):
            pass  # update_run(name=...) resends the current status: nothing changes
        elif status in _TERMINAL:
            ended_at = _time(fields.integer(data, "end_time"))
            services.finish_run(run=run, status=ours, ended_at=ended_at)
        else:
            services.update_run(run=run, status=RunStatus.RUNNING)
    return {"run_info": shapes.run_info_json(run, user)}


def _run_json(run: Run, user) -> dict:
    return shapes.runs_json([run], user)[0]


@endpoint("GET")
def get_run(request, user, data):
    run = authorization.run_for(user, _run_id(data))
    return {"run": _run_json(run, user)}


@endpoint("POST")
def delete_run(request, user, data):
    run = authorization.run_for(
        user, fields.required(data, "run_id"), write=True, allow_deleted=True)
    services.delete_run(run=run)
    return {}


@endpoint("POST")
def restore_run(request, user, data):
    run = authorization.run_for(
        user, fields.required(data, "run_id"), write=True, allow_deleted=True)
    services.restore_run(run=run)
    return {}


# --- Logging -----------------------------------------------------------------------------

def _series_rows(run: Run) -> list[tuple]:
    """(summary id, key, split, source key) of each of the run's series; one plain query, as
    logging and reading metrics need it for nearly every request."""
    return hot_sql.fetch_all(f"SELECT id, key, split, source_key FROM "
                             f"{MetricSummary._meta.db_table} WHERE run_id = %s", [run.pk])


def _existing_series(run: Run) -> dict[tuple[str, str], str]:
    """The run's series and the MLflow key each answers to."""
    return {(key, split): mlflow_mapping.mlflow_key(key, split, source)
            for _, key, split, source in _series_rows(run)}


def _bad_metric(metrics: list) -> None:
    """Raise MLflow's error for the first metric of a batch that is not a complete metric."""
    for i, metric in enumerate(metrics):
        if not isinstance(metric, dict):
            raise invalid(f"Invalid value for parameter 'metrics[{i}]': expected an object")
        for field in ("key", "value", "timestamp"):
            if metric.get(field) is None:
                raise invalid(f"Missing value for required parameter 'metrics[{i}].{field}'.")
    for metric in metrics:
        fields.check_name(metric["key"], "metrics.key")


def _check_metric_names(metrics: list) -> None:
    """Every metric of the batch has a valid MLflow name (MLflow's errors otherwise)."""
    try:
        distinct = set(metric["key"] for metric in metrics)
    except (TypeError, KeyError):  # not an object, no key, or a key that is not a name
        _bad_metric(metrics)
        raise
    for name in distinct:
        if not isinstance(name, str) or not name:
            _bad_metric(metrics)
        fields.check_name(name, "metrics.key")


def _log(run: Run, *, metrics: list, params: list[tuple], tags: list[tuple]) -> None:
    """Log MLflow metrics, params and tags through services.log_batch, in one transaction."""
    clean_params, clean_tags, new_name = batch.clean_params_tags(params, tags)
    if metrics:
        _check_metric_names(metrics)
    series_of = batch.series_resolver(run, metrics)
    try:
        if new_name:  # the rename and the batch succeed or fail together
            with transaction.atomic():
                if metrics or clean_params or clean_tags:
                    services.log_batch(run=run, metrics=metrics, params=clean_params,
                                       tags=clean_tags, series_of=series_of)
                services.update_run(run=run, name=new_name)
        elif metrics or clean_params or clean_tags:
            services.log_batch(run=run, metrics=metrics, params=clean_params, tags=clean_tags,
                               series_of=series_of)
    except InvalidInput as error:
        if (error.field or "").startswith("metrics["):
            _bad_metric(metrics)  # MLflow's message for a metric missing a field
        raise
    if metrics:
        record_model_metrics(run, metrics)


@endpoint("POST", related_run=False)
def log_batch(request, user, data):
    metrics, params, tags = batch.log_batch_fields(data)
    run = authorization.run_for(user, fields.required(data, "run_id"), write=True, related=False)
    _log(run, metrics=metrics, params=params, tags=tags)
    return {}


def _metric(data) -> dict:
    """A log-metric request's metric, as log-batch carries one."""
    metric = {"key": fields.required(data, "key"), "value": data.get("value"),
              "timestamp": data.get("timestamp"), "step": data.get("step")}
    for field in ("model_id", "dataset_name", "dataset_digest"):  # MLflow 3: for a model
        if data.get(field):
            metric[field] = data[field]
    if metric["value"] is None:
        raise invalid("Missing value for required parameter 'value'.")
    if metric["timestamp"] is None:
        raise invalid("Missing value for required parameter 'timestamp'.")
    return metric


def log_metric_first(request) -> dict | None:
    """log-metric's plain case (batch.log_in_lock, tried by lane.py): {} when logged, else
    None."""
    data = request_data(request)
    points = batch.plain_points([_metric(data)])
    if points is None:
        return None
    return batch.log_in_lock(request, _run_id(data), points=points, params=[], tags=[])


@endpoint("POST", related_run=False)
def log_metric(request, user, data):
    run = authorization.run_for(user, _run_id(data), write=True, related=False)
    metric = _metric(data)
    try:
        _log(run, metrics=[metric], params=[], tags=[])
    except InvalidInput as error:  # name the field as MLflow does, not metrics[0].x
        raise invalid(error.message.replace("metrics[0].", "")) from None
    return {}


@endpoint("POST", related_run=False)
def log_param(request, user, data):
    run = authorization.run_for(user, _run_id(data), write=True, related=False)
    _log(run, metrics=[], params=[(fields.required(data, "key"), data.get("value"))], tags=[])
    return {}


@endpoint("POST", related_run=False)
def set_tag(request, user, data):
    run = authorization.run_for(user, _run_id(data), write=True, related=False)
    _log(run, metrics=[], params=[], tags=[(fields.required(data, "key"), data.get("value"))])
    return {}


@endpoint("POST")
def delete_tag(request, user, data):
    run = authorization.run_for(user, _run_id(data), write=True)
    key = fields.required(data, "key")
    if key != shapes.RUN_NAME_TAG:  # the name tag mirrors the run's name: nothing to delete
        services.delete_run_tag(run=run, key=key)
    return {}


@endpoint("POST")
def log_inputs(request, user, data):
    run = authorization.run_for(user, _run_id(data), write=True)
    datasets = []
    for i, item in enumerate(fields.string_list(data, "datasets")):
        if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
            raise invalid(f"Invalid value for parameter 'datasets[{i}]': expected "
                          "{tags, dataset}")
        tags = {k: "" if v is None else str(v)
                for k, v in fields.key_values(item.get("tags") or [], f"datasets[{i}].tags")}
        datasets.append({**item["dataset"], "tags": tags})
    services.log_run_datasets(run=run, datasets=datasets)
    return {}


# --- Reading metrics and searching runs ----------------------------------------------------

def _history_token(token: str | None) -> tuple[int, int] | None:
    if not token:
        return None
    match = re.fullmatch(r"(-?\d+):(-?\d+)", token)
    if not match:
        raise invalid(f"Invalid page token {token!r}; start from the first page")
    return int(match.group(1)), int(match.group(2))


def _json_number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    return repr(value)


@endpoint("GET")
def get_metric_history(request, user, data):
    run = authorization.run_for(user, _run_id(data))
    key = fields.required(data, "metric_key")
    max_results = fields.integer(data, "max_results")
    if max_results is not None and max_results <= 0:
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It "
                      "must be a positive integer.")
    after = _history_token(data.get("page_token"))
    series = {(k, s): (pk, mlflow_mapping.mlflow_key(k, s, source))
              for pk, k, s, source in _series_rows(run)}
    found = mlflow_mapping.find_series(key, {s: v[1] for s, v in series.items()})
    if found is None:
        return {"metrics": []}
    summary_id = series[found][0]
    steps = None if after is None else (after[0], fields.INT64[1])
    rows = series_points([summary_id], steps=steps).get(summary_id, [])
    if after is not None:
        rows = [p for p in rows if (p[0], p[1]) > after]
    if max_results:
        rows = rows[:max_results + 1]
    next_token = None
    if max_results and len(rows) > max_results:
        rows = rows[:max_results]
        next_token = f"{rows[-1][0]}:{rows[-1][1]}"
    # Built as text: a 25,000-point page is the hot path of get_metric_history.
    head = '{"key":' + json.dumps(key) + ',"value":'
    body = ",".join(f'{head}{_json_number(v)},"timestamp":{t},"step":{s}}}' for s, t, v in rows)
    tail = f',"next_page_token":{json.dumps(next_token)}' if next_token else ""
    return HttpResponse(f'{{"metrics":[{body}]{tail}}}', content_type="application/json")


@endpoint("POST")
def search_runs(request, user, data):
    max_results = fields.integer(data, "max_results", DEFAULT_RUNS_PER_SEARCH)
    if not 1 <= max_results <= MAX_RUNS_PER_SEARCH:
        raise invalid(f"Invalid value {max_results} for parameter 'max_results' supplied. It "
                      f"must be at most {MAX_RUNS_PER_SEARCH} and positive.")
    ids = authorization.experiment_pks(user, fields.string_list(data, "experiment_ids"))
    visible = visible_experiments(user).filter(pk__in=ids).values("pk")
    runs = Run.objects.filter(experiment_id__in=visible)
    view_type = _view_type(data.get("run_view_type"))
    if view_type == "ACTIVE_ONLY":
        runs = runs.live()
    elif view_type == "DELETED_ONLY":
        runs = runs.deleted()
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
            chunk, cursor = run_search.page(runs, order_by=order, cursor=cursor, page_size=size)
        except InvalidInput as exc:
            raise invalid(f"Invalid page token: {exc.message}") from None
        rows += chunk
        if cursor is None:
            break
    answer = {"runs": shapes.runs_json(rows, user)}
    if cursor:
        answer["next_page_token"] = cursor
    return answer


@endpoint("GET")
def list_run_artifacts(request, user, data):
    """GET artifacts/list: a run's artifacts under `path`, with run-relative paths."""
    run = authorization.run_for(user, _run_id(data))
    path = (data.get("path") or "").strip("/")
    experiment_id = placement.experiment_id_for(run.experiment, run.project, user)
    files = [{**f, "path": f"{path}/{f['path']}" if path else f["path"]}
             for f in list_children(run, path)]
    return {"root_uri": shapes.artifact_uri(run, experiment_id), "files": files}


def server_info(request):
    """GET /api/3.0/mlflow/server-info: what the client checks before proxied transfers."""
    return json_response({
        "store_type": "SqlStore",
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": False,
        "multipart_downloads_enabled": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "features_enabled": {"gateway": False},
    })
