"""MLflow 3's logged models, kept as MLflow keeps them: each in its experiment (so in the
experiment's project, whose roles say who reads and writes it), from a run or from none.

`mlflow.<flavor>.log_model(...)` inside a run creates a logged model, uploads its files
to the model's artifact location, links it to the run as an output and marks it ready.
Targetline keeps such a model's files as the run's artifacts under the model's name
(`model/MLmodel`, `model/model.pkl`), so they show and download like any other artifact
of the run. A model created outside a run (`mlflow.initialize_logged_model()`,
`mlflow.set_active_model(name=…)`, GenAI code) is kept in its experiment; it has no files
(an upload to one is refused with a hint to log the model inside `mlflow.start_run()`).
A model created without a name gets one of MLflow's shape ("merciful-mink-662").
"""

import math

from api.mlflow import authorization, fields, filters, placement, shapes
from api.mlflow.endpoint import endpoint
from api.mlflow.errors import invalid, not_found
from api.mlflow.filter_syntax import parse
from api.mlflow.roles import check_write, role_subquery, visible_experiments
from tracker.models import LoggedModel
from tracker.services import logged_models as model_services

MAX_MODELS_PER_SEARCH = 50_000
STATUSES = model_services.STATUSES
_STATUS_NUMBERS = {"1": "LOGGED_MODEL_PENDING", "2": "LOGGED_MODEL_READY",
                   "3": "LOGGED_MODEL_UPLOAD_FAILED"}


def _pairs(items, what: str) -> dict[str, str]:
    if items in (None, ""):
        return {}
    if not isinstance(items, list):
        raise invalid(f"Invalid value for parameter '{what}': expected a list of key/value")
    out = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("key"):
            raise invalid(f"Missing value for required parameter '{what}[{i}].key'.")
        out[str(item["key"])] = "" if item.get("value") is None else str(item["value"])
    return out


def _experiment_id(model: LoggedModel, user) -> str:
    return placement.experiment_id_for(model.experiment, model.experiment.project, user)


def logged_model_uri(model: LoggedModel, user) -> str:
    """Where the model's files are: its folder among its run's artifacts; for a model of no
    run, where mlflow server would keep them (`<experiment>/models/<id>/artifacts`)."""
    experiment_id = _experiment_id(model, user)
    if model.run is not None:
        return f"{shapes.artifact_uri(model.run, experiment_id)}/{model.path}"
    return f"mlflow-artifacts:/{experiment_id}/models/{model.model_id}/artifacts"


def model_json(model: LoggedModel, user) -> dict:
    run_id = model.run.id.hex if model.run is not None else ""
    return {
        "info": {
            "model_id": model.model_id,
            "experiment_id": _experiment_id(model, user),
            "name": model.name,
            "creation_timestamp_ms": model.created_ms,
            "last_updated_timestamp_ms": model.updated_ms,
            "artifact_uri": logged_model_uri(model, user),
            "status": model.status,
            "model_type": model.model_type,
            "source_run_id": run_id,
            "status_message": model.status_message,
            "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
        },
        "data": {
            "params": [{"key": k, "value": v} for k, v in model.params.items()],
            "metrics": [{**metric, "run_id": metric.get("run_id", run_id),
                         "model_id": model.model_id} for metric in model.metrics],
        },
    }


def _models_with_role(user):
    return (LoggedModel.objects.select_related("experiment__project", "run")
            .annotate(role=role_subquery(user, "experiment__project_id")))


def find_logged_model(user, model_id: str, *, write: bool = False) -> LoggedModel:
    """The logged model, read with the user's role in its project (`role`); a model of a
    project the user is not in is not found, as one that does not exist."""
    model = _models_with_role(user).filter(model_id=str(model_id or "")).first()
    if model is None or model.role is None:
        raise not_found(f"Logged model with ID '{model_id}' not found.")
    if write:
        check_write(model.role, "logged model")
        if model.run is not None and model.run.deleted_at is not None:
            raise invalid(f"The run {model.run.id.hex} must be in the 'active' state. "
                          "Current state is deleted.")
    return model


@endpoint("POST")
def create_logged_model(request, user, data):
    run_id = data.get("source_run_id")
    run = None
    if run_id:
        run = authorization.run_for(user, run_id, write=True)
        experiment = run.experiment
        experiment.project = run.project
        own_ids = (str(run.experiment_id),
                   placement.experiment_id_for(run.experiment, run.project, user))
        if data.get("experiment_id") and str(data["experiment_id"]) not in own_ids:
            raise invalid(f"run {run.id.hex} is not in experiment {data['experiment_id']}")
    else:
        if data.get("experiment_id") in (None, ""):
            raise invalid("Missing value for required parameter 'experiment_id'.")
        experiment = authorization.experiment_for(user, data["experiment_id"], write=True)
    if experiment.deleted_at is not None:
        raise invalid(f"The experiment {data.get('experiment_id') or experiment.pk} must be "
                      "in the 'active' state. Current state is deleted.")
    model = model_services.create_logged_model(
        user=user, experiment=experiment, run=run, name=fields.string(data, "name") or None,
        model_type=fields.string(data, "model_type"), tags=_pairs(data.get("tags"), "tags"),
        params=_pairs(data.get("params"), "params"))
    model.experiment, model.run = experiment, run
    return {"model": model_json(model, user)}


@endpoint("GET", "PATCH", "DELETE")
def logged_model(request, user, data, model_id: str):
    """GET reads a model, PATCH finalizes it (its status), DELETE removes it."""
    if request.method == "GET":
        return {"model": model_json(find_logged_model(user, model_id), user)}
    model = find_logged_model(user, model_id, write=True)
    if request.method == "DELETE":
        model_services.delete_logged_model(model=model)
        return {}
    status = _STATUS_NUMBERS.get(str(data.get("status")), str(data.get("status") or ""))
    if status not in STATUSES:
        raise invalid(f"Invalid status {data.get('status')!r}: use one of {', '.join(STATUSES)}")
    saved = model_services.finalize_logged_model(model=model, status=status)
    saved.experiment, saved.run = model.experiment, model.run
    return {"model": model_json(saved, user)}


@endpoint("PATCH")
def set_logged_model_tags(request, user, data, model_id: str):
    model = find_logged_model(user, model_id, write=True)
    model_services.set_logged_model_tags(model=model, tags=_pairs(data.get("tags"), "tags"))
    return {}


@endpoint("DELETE")
def delete_logged_model_tag(request, user, data, model_id: str, key: str):
    model = find_logged_model(user, model_id, write=True)
    if key not in model.tags:
        raise not_found(f"No tag with key {key!r} on logged model {model_id}")
    model_services.delete_logged_model_tag(model=model, key=key)
    return {}


@endpoint("POST")
def log_logged_model_params(request, user, data, model_id: str):
    model = find_logged_model(user, model_id, write=True)
    model_services.log_logged_model_params(model=model,
                                           params=_pairs(data.get("params"), "params"))
    return {}


def _metric_value(model: dict, key: str, datasets: list[dict]):
    """The model's latest value of a metric (on the given datasets, when some are named)."""
    values = [m for m in model["data"]["metrics"] if m["key"] == key and (
        not datasets or any(m.get("dataset_name") == d.get("dataset_name") and (
            not d.get("dataset_digest") or m.get("dataset_digest") == d["dataset_digest"])
            for d in datasets))]
    if not values:
        return None
    value = float(max(values, key=lambda m: (m["step"], m["timestamp"]))["value"])
    return None if math.isnan(value) else value


def _model_value(model: dict, node, datasets: list[dict]):
    info = model["info"]
    if node.entity == "metric":
        return _metric_value(model, node.key, datasets)
    if node.entity == "tag":
        return {t["key"]: t["value"] for t in info["tags"]}.get(node.key)
    if node.entity == "param":
        return {p["key"]: p["value"] for p in model["data"]["params"]}.get(node.key)
    if node.key in ("name", "model_id", "source_run_id", "status", "model_type"):
        return info[node.key]
    if node.key in ("creation_timestamp", "creation_time", "last_updated_timestamp"):
        return info["creation_timestamp_ms" if node.key.startswith("creation")
                    else "last_updated_timestamp_ms"]
    raise invalid(f"logged models cannot be filtered on {node.entity} {node.key!r}")


def _model_matches(node, model: dict, datasets: list[dict]) -> bool:
    return filters.evaluate(node, lambda clause: _model_value(model, clause, datasets))


_ORDER_ATTRIBUTES = {"name": "name", "model_id": "model_id", "status": "status",
                     "creation_timestamp": "creation_timestamp_ms",
                     "creation_time": "creation_timestamp_ms",
                     "last_updated_timestamp": "last_updated_timestamp_ms"}


def _sort_models(found: list[dict], order_by) -> None:
    """MLflow's order_by of logged models: [{"field_name": "metrics.acc", "ascending": false,
    "dataset_name": …}], attributes or metrics; models without the metric come last."""
    if order_by in (None, ""):
        order_by = []
    if not isinstance(order_by, list):
        raise invalid("Invalid value for parameter 'order_by': expected a list")
    for i, item in reversed(list(enumerate(order_by))):
        if not isinstance(item, dict) or not item.get("field_name"):
            raise invalid(f"Missing value for required parameter 'order_by[{i}].field_name'.")
        field, ascending = str(item["field_name"]), item.get("ascending", True) is not False
        if field.startswith(("metrics.", "metric.")):
            key = field.partition(".")[2]
            datasets = [item] if item.get("dataset_name") else []

            def value(model, key=key, datasets=datasets):
                return _metric_value(model, key, datasets)
        else:
            column = _ORDER_ATTRIBUTES.get(field.removeprefix("attributes."))
            if column is None:
                raise invalid(f"Invalid order by field {field!r}: use metrics.<key> or one of "
                              f"{', '.join(sorted(_ORDER_ATTRIBUTES))}")

            def value(model, column=column):
                return model["info"][column]
        present = [m for m in found if value(m) is not None]
        present.sort(key=value, reverse=not ascending)
        found[:] = present + [m for m in found if value(m) is None]


@endpoint("POST")
def search_logged_models(request, user, data):
    """The logged models of the given experiments that the user can see (of runs that are
    not deleted, or of no run)."""
    ids = authorization.experiment_pks(user, data.get("experiment_ids") or [])
    node = parse(data.get("filter"), entities={"attribute", "tag", "param", "metric"})
    datasets = data.get("datasets") or []
    if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
        raise invalid("Invalid value for parameter 'datasets': expected a list of "
                      "{dataset_name, dataset_digest}")
    visible = visible_experiments(user).filter(pk__in=ids).values("pk")
    rows = (LoggedModel.objects.filter(experiment_id__in=visible)
            .exclude(run__deleted_at__isnull=False)
            .select_related("experiment__project", "run").order_by("-created_ms", "id"))
    found = []
    for model in rows:
        shown = model_json(model, user)
        if node is None or _model_matches(node, shown, datasets):
            found.append(shown)
    _sort_models(found, data.get("order_by"))
    return fields.offset_page(found, data, key="models", default=100,
                              most=MAX_MODELS_PER_SEARCH)


def model_ids(items, what: str) -> list[str]:
    """The ids of a list of {model_id} (runs/log-inputs' and runs/outputs' `models`)."""
    if items in (None, ""):
        return []
    if not isinstance(items, list):
        raise invalid(f"Invalid value for parameter '{what}': expected a list of "
                      "{model_id}")
    ids = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise invalid(f"Missing value for required parameter '{what}[{i}].model_id'.")
        ids.append(str(item["model_id"]))
    return ids


@endpoint("POST")
def log_outputs(request, user, data):
    """runs/outputs: the run produced these logged models (at a step)."""
    run = authorization.run_for(user, data.get("run_id"), write=True, related=False)
    ids = model_ids(data.get("models"), "models")
    steps = [int(item.get("step") or 0) for item in data.get("models") or []]
    model_services.record_model_outputs(
        run=run, outputs=[{"model_id": m, "step": s} for m, s in zip(ids, steps, strict=True)])
    return {}


@endpoint("POST")
def record_logged_model(request, user, data):
    """runs/log-model: MLflow 2's record of a model in a run tag.

    Accepted for old clients' sake; the model itself is known through the
    logged-model calls and the run's artifacts, so nothing more is stored.
    """
    authorization.run_for(user, data.get("run_id"), write=True, related=False)
    return {}
