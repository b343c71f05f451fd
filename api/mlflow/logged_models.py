"""MLflow 3's logged models, kept with the run that logged them.

`mlflow.<flavor>.log_model(...)` inside a run creates a logged model, uploads
its files to the model's artifact location, links it to the run as an output
and marks it ready. Targetline keeps each such model in the run's context
(`mlflow_logged_models`, by model id) and its files as the run's artifacts
under the model's name (`model/MLmodel`, `model/model.pkl`), so they show and
download like any other artifact of the run. Model ids carry the run's id
(`m-<run hex>-<8 hex>`), which is how a model is found again. A model needs a
run: log it inside `mlflow.start_run()`.
"""

import math
import re
import secrets
import time

from api.mlflow import authorization, fields, filters, placement, shapes
from api.mlflow.endpoint import endpoint
from api.mlflow.errors import RESOURCE_DOES_NOT_EXIST, MlflowError, invalid, not_found
from api.mlflow.filter_syntax import parse
from api.mlflow.roles import visible_experiments
from tracker import mlflow_mapping
from tracker.models import Run
from tracker.services import runs as run_services

MODELS_KEY = mlflow_mapping.LOGGED_MODELS_KEY
OUTPUTS_KEY = mlflow_mapping.MODEL_OUTPUTS_KEY
MAX_MODELS_PER_SEARCH = 50_000
_MODEL_ID = re.compile(r"^m-([0-9a-f]{32})-[0-9a-f]{8}$")
STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_STATUS_NUMBERS = {"1": "LOGGED_MODEL_PENDING", "2": "LOGGED_MODEL_READY",
                   "3": "LOGGED_MODEL_UPLOAD_FAILED"}


def _now_ms() -> int:
    return int(time.time() * 1000)


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


def logged_model_uri(run: Run, record: dict, experiment_id: str) -> str:
    """Where the model's files are: its folder among the run's artifacts."""
    return f"{shapes.artifact_uri(run, experiment_id)}/{record['path']}"


def model_json(run: Run, model_id: str, record: dict, user) -> dict:
    experiment_id = placement.experiment_id_for(run.experiment, run.project, user)
    return {
        "info": {
            "model_id": model_id,
            "experiment_id": experiment_id,
            "name": record["name"],
            "creation_timestamp_ms": record["created_ms"],
            "last_updated_timestamp_ms": record["updated_ms"],
            "artifact_uri": logged_model_uri(run, record, experiment_id),
            "status": record["status"],
            "model_type": record.get("model_type", ""),
            "source_run_id": run.id.hex,
            "status_message": record.get("status_message", ""),
            "tags": [{"key": k, "value": v} for k, v in record.get("tags", {}).items()],
        },
        "data": {
            "params": [{"key": k, "value": v} for k, v in record.get("params", {}).items()],
            "metrics": [{**metric, "run_id": run.id.hex, "model_id": model_id}
                        for metric in record.get("metrics", [])],
        },
    }


def find_logged_model(user, model_id: str, *, write: bool = False) -> tuple[Run, dict]:
    """The run that logged the model (read with the user's role) and the model's record."""
    match = _MODEL_ID.match(model_id or "")
    if not match:
        raise not_found(f"Logged model with ID '{model_id}' not found.")
    try:
        run = authorization.run_for(user, match.group(1), write=write)
    except MlflowError as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            raise
        raise not_found(f"Logged model with ID '{model_id}' not found.") from None
    record = (run.context or {}).get(MODELS_KEY, {}).get(model_id)
    if record is None:
        raise not_found(f"Logged model with ID '{model_id}' not found.")
    return run, record


def _change(run: Run, model_id: str, change) -> dict:
    """Apply change(record) to the stored model under the run's lock; returns the record."""
    def update(models):
        models = dict(models or {})
        if model_id not in models:
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        record = dict(models[model_id])
        change(record)
        record["updated_ms"] = _now_ms()
        models[model_id] = record
        return models
    return run_services.update_run_context(run=run, key=MODELS_KEY, update=update)[model_id]


@endpoint("POST")
def create_logged_model(request, user, data):
    run_id = data.get("source_run_id")
    if not run_id:
        raise invalid("Targetline keeps a logged model with the run that logged it: log the "
                      "model inside mlflow.start_run() (source_run_id is required)")
    run = authorization.run_for(user, run_id, write=True)
    experiment_id = data.get("experiment_id")
    own_ids = (str(run.experiment_id),
               placement.experiment_id_for(run.experiment, run.project, user))
    if experiment_id and str(experiment_id) not in own_ids:
        raise invalid(f"run {run.id.hex} is not in experiment {experiment_id}")
    model_id = f"m-{run.id.hex}-{secrets.token_hex(4)}"
    name = data.get("name") or "model"
    if not isinstance(name, str) or not re.fullmatch(r"[\w.\- ]{1,200}", name):
        raise invalid(f"Invalid model name {name!r}")
    now = _now_ms()
    record = {"name": name, "model_type": data.get("model_type") or "",
              "status": "LOGGED_MODEL_PENDING", "status_message": "",
              "tags": _pairs(data.get("tags"), "tags"),
              "params": _pairs(data.get("params"), "params"),
              "created_ms": now, "updated_ms": now, "creator": user.get_username()}

    def add(models):
        models = dict(models or {})
        taken = {m["path"] for m in models.values()}
        record["path"] = name if name not in taken else f"{name}-{model_id[-8:]}"
        models[model_id] = record
        return models

    run_services.update_run_context(run=run, key=MODELS_KEY, update=add)
    return {"model": model_json(run, model_id, record, user)}


@endpoint("GET", "PATCH", "DELETE")
def logged_model(request, user, data, model_id: str):
    """GET reads a model, PATCH finalizes it (its status), DELETE removes it."""
    if request.method == "GET":
        run, record = find_logged_model(user, model_id)
        return {"model": model_json(run, model_id, record, user)}
    run, _ = find_logged_model(user, model_id, write=True)
    if request.method == "DELETE":
        def remove(models):
            models = dict(models or {})
            models.pop(model_id, None)
            return models or None
        run_services.update_run_context(run=run, key=MODELS_KEY, update=remove)
        return {}
    status = _STATUS_NUMBERS.get(str(data.get("status")), str(data.get("status") or ""))
    if status not in STATUSES:
        raise invalid(f"Invalid status {data.get('status')!r}: use one of {', '.join(STATUSES)}")

    def finalize(record):
        record["status"] = status
    record = _change(run, model_id, finalize)
    return {"model": model_json(run, model_id, record, user)}


@endpoint("PATCH")
def set_logged_model_tags(request, user, data, model_id: str):
    run, _ = find_logged_model(user, model_id, write=True)
    tags = _pairs(data.get("tags"), "tags")

    def set_tags(record):
        record["tags"] = {**record.get("tags", {}), **tags}
    _change(run, model_id, set_tags)
    return {}


@endpoint("DELETE")
def delete_logged_model_tag(request, user, data, model_id: str, key: str):
    run, record = find_logged_model(user, model_id, write=True)
    if key not in record.get("tags", {}):
        raise not_found(f"No tag with key {key!r} on logged model {model_id}")

    def drop(record):
        record["tags"] = {k: v for k, v in record.get("tags", {}).items() if k != key}
    _change(run, model_id, drop)
    return {}


@endpoint("POST")
def log_logged_model_params(request, user, data, model_id: str):
    run, _ = find_logged_model(user, model_id, write=True)
    params = _pairs(data.get("params"), "params")

    def add(record):
        record["params"] = {**record.get("params", {}), **params}
    _change(run, model_id, add)
    return {}


def _newer(a: dict, b: dict) -> bool:
    return (a["step"], a["timestamp"]) >= (b["step"], b["timestamp"])


def record_model_metrics(run: Run, metrics: list) -> None:
    """Keep, with each of the run's logged models, the latest value of each metric the client
    logged for it (MLflow 3 sends `model_id` with a metric once a model is active, e.g. after
    log_model), per dataset: what `LoggedModel.metrics` and the searches' metric filters
    and order read. `metrics`: as batch.LogBatch.model_metrics holds them. A batch that names
    no model of this run changes nothing."""
    models = (run.context or {}).get(MODELS_KEY)
    if not models:
        return
    latest: dict[str, dict[tuple, dict]] = {}
    for metric in metrics:
        model_id = metric.get("model_id")
        if model_id not in models:
            continue
        entry = {"key": metric["key"], "value": shapes.number(metric["value"]),
                 "step": metric["step"], "timestamp": metric["timestamp"]}
        for field in ("dataset_name", "dataset_digest"):
            if metric.get(field):
                entry[field] = str(metric[field])
        slot = (entry["key"], entry.get("dataset_name"), entry.get("dataset_digest"))
        known = latest.setdefault(model_id, {})
        if slot not in known or _newer(entry, known[slot]):
            known[slot] = entry
    if not latest:
        return

    def merge(current):
        current = dict(current or {})
        for model_id, entries in latest.items():
            if model_id not in current:
                continue
            record = dict(current[model_id])
            kept = {(m["key"], m.get("dataset_name"), m.get("dataset_digest")): m
                    for m in record.get("metrics", [])}
            for slot, entry in entries.items():
                if slot not in kept or _newer(entry, kept[slot]):
                    kept[slot] = entry
            record["metrics"] = sorted(kept.values(), key=lambda m: m["key"])
            current[model_id] = record
        return current
    run_services.update_run_context(run=run, key=MODELS_KEY, update=merge)


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
    """The logged models of the runs in the given experiments that the user can see."""
    ids = authorization.experiment_pks(user, data.get("experiment_ids") or [])
    node = parse(data.get("filter"), entities={"attribute", "tag", "param", "metric"})
    datasets = data.get("datasets") or []
    if not isinstance(datasets, list) or not all(isinstance(d, dict) for d in datasets):
        raise invalid("Invalid value for parameter 'datasets': expected a list of "
                      "{dataset_name, dataset_digest}")
    visible = visible_experiments(user).filter(pk__in=ids).values("pk")
    runs = (Run.objects.filter(experiment_id__in=visible, deleted_at__isnull=True)
            .select_related("project", "experiment").order_by("-started_at", "id"))
    found = []
    for run in runs.only("id", "context", "project", "experiment", "started_at"):
        for model_id, record in (run.context or {}).get(MODELS_KEY, {}).items():
            model = model_json(run, model_id, record, user)
            if node is None or _model_matches(node, model, datasets):
                found.append(model)
    found.sort(key=lambda m: -m["info"]["creation_timestamp_ms"])
    _sort_models(found, data.get("order_by"))
    return fields.offset_page(found, data, key="models", default=100,
                              most=MAX_MODELS_PER_SEARCH)


@endpoint("POST")
def log_outputs(request, user, data):
    """runs/outputs: the run produced these logged models (at a step)."""
    run = authorization.run_for(user, data.get("run_id"), write=True, related=False)
    outputs = []
    for i, item in enumerate(data.get("models") or []):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise invalid(f"Missing value for required parameter 'models[{i}].model_id'.")
        outputs.append({"model_id": str(item["model_id"]), "step": int(item.get("step") or 0)})

    def add(current):
        current = list(current or [])
        current += [o for o in outputs if o not in current]
        return current
    run_services.update_run_context(run=run, key=OUTPUTS_KEY, update=add)
    return {}


@endpoint("POST")
def record_logged_model(request, user, data):
    """runs/log-model: MLflow 2's record of a model in a run tag.

    Accepted for old clients' sake; the model itself is known through the
    logged-model calls and the run's artifacts, so nothing more is stored.
    """
    authorization.run_for(user, data.get("run_id"), write=True, related=False)
    return {}


def run_outputs(run: Run) -> list[dict]:
    return list((run.context or {}).get(OUTPUTS_KEY, []))
