"""Writes to MLflow 3's logged models (tracker.models.LoggedModel): create one in a run or
outside any, change its status, tags and params, keep the latest metric values logged for
it, link it to the registry versions made from it, delete it.

Callers check that the user may write in the model's project (api/mlflow/logged_models.py
does); names are checked here.
"""

import json
import math
import re
import time
import uuid
from collections.abc import Callable

from django.db import transaction

from tracker import mlflow_names
from tracker.errors import InvalidInput
from tracker.mlflow_mapping import MODEL_INPUTS_KEY, MODEL_OUTPUTS_KEY
from tracker.models import Artifact, Experiment, LoggedModel, Run
from tracker.services.runs import check_not_deleted, update_run_context

READY = "LOGGED_MODEL_READY"
PENDING = "LOGGED_MODEL_PENDING"
UPLOAD_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"
STATUSES = (PENDING, READY, UPLOAD_FAILED)
# The tag by which MLflow lists, on a logged model, the registry versions made from it:
# a JSON list of {"name": <registered model>, "version": <number>}.
MODEL_VERSIONS_TAG = "mlflow.modelVersions"
_NAME = re.compile(r"[\w.\- ]{1,200}")


def now_ms() -> int:
    return int(time.time() * 1000)


def check_model_name(name) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(f"Invalid model name {name!r}: use at most 200 letters, digits, "
                           "spaces, '_', '-' or '.'", field="name")
    return name


class _NamesIn:
    """The names of an experiment's logged models, asked one at a time."""

    def __init__(self, experiment: Experiment):
        self.models = LoggedModel.objects.filter(experiment=experiment)

    def __contains__(self, name) -> bool:
        return self.models.filter(name=name).exists()


def create_logged_model(*, user, experiment: Experiment, run: Run | None = None,
                        name: str | None = None, model_type: str = "",
                        tags: dict | None = None, params: dict | None = None,
                        model_id: str | None = None) -> LoggedModel:
    """A new logged model (pending until finalized) in the experiment, from `run` or from
    no run. Without a name it gets one of MLflow's shape ("merciful-mink-662") that no model
    of the experiment has. A model of a run keeps its files among the run's artifacts, in a
    folder named after it (the name and the id's end when another model of the run has that
    folder already). A model copied from another MLflow server keeps its `model_id`."""
    if run is not None:
        check_not_deleted(run)
    if len(model_type or "") > 250:
        raise InvalidInput("model_type is longer than 250 characters", field="model_type")
    name = check_model_name(name) if name else mlflow_names.unused_name(_NamesIn(experiment))
    model_id = model_id or f"m-{uuid.uuid4().hex}"
    stamp = now_ms()
    with transaction.atomic():
        path = ""
        if run is not None:
            Run.objects.select_for_update().only("id").get(pk=run.pk)  # one folder per model
            taken = set(run.logged_models.values_list("path", flat=True))
            path = name if name not in taken else f"{name}-{model_id[-8:]}"
        return LoggedModel.objects.create(
            model_id=model_id, experiment=experiment, run=run, name=name, path=path,
            model_type=model_type or "", status=PENDING, tags=dict(tags or {}),
            params=dict(params or {}), created_by=user, created_ms=stamp, updated_ms=stamp)


def change_logged_model(*, model: LoggedModel, change: Callable[[LoggedModel], None],
                        of_deleted_run: bool = False) -> LoggedModel:
    """Apply change(model) to the model's row under its lock (two clients tagging one model
    at once both keep their tags); returns the row as saved. A model of a deleted run takes
    no change unless `of_deleted_run`."""
    if model.run is not None and not of_deleted_run:
        check_not_deleted(model.run)
    with transaction.atomic():
        locked = LoggedModel.objects.select_for_update().get(pk=model.pk)
        change(locked)
        locked.updated_ms = now_ms()
        locked.save()
    return locked


def finalize_logged_model(*, model: LoggedModel, status: str) -> LoggedModel:
    """Set the model's status (MLflow's finalize: ready, or its upload failed)."""
    if status not in STATUSES:
        raise InvalidInput(f"Invalid status {status!r}: use one of {', '.join(STATUSES)}",
                           field="status")

    def finalize(row):
        row.status = status
    return change_logged_model(model=model, change=finalize)


def set_logged_model_tags(*, model: LoggedModel, tags: dict) -> LoggedModel:
    """Set tags of the model (last write wins, as MLflow's tags)."""
    def add(row):
        row.tags = {**row.tags, **tags}
    return change_logged_model(model=model, change=add)


def delete_logged_model_tag(*, model: LoggedModel, key: str) -> LoggedModel:
    """Remove one tag of the model (nothing happens when it has none of that key)."""
    def drop(row):
        row.tags = {k: v for k, v in row.tags.items() if k != key}
    return change_logged_model(model=model, change=drop)


def log_logged_model_params(*, model: LoggedModel, params: dict) -> LoggedModel:
    """Add params to the model."""
    def add(row):
        row.params = {**row.params, **params}
    return change_logged_model(model=model, change=add)


def delete_logged_model(*, model: LoggedModel) -> None:
    """Remove the model, and its files when it has no run (the files of a run's model stay
    the run's artifacts)."""
    if model.run is not None:
        check_not_deleted(model.run)
    with transaction.atomic():
        files = list(Artifact.objects.filter(logged_model=model).values_list("file", flat=True))
        model.delete()
        storage = Artifact._meta.get_field("file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in files], robust=True)


def link_model_version(*, model: LoggedModel, name: str, version: int) -> LoggedModel:
    """Record on the model that version `version` of registered model `name` was made from
    it, as mlflow server does: the tag mlflow.modelVersions, a JSON list that gains
    {"name", "version"} unless it holds it already."""
    entry = {"name": name, "version": version}

    def link(row):
        try:
            known = json.loads(row.tags.get(MODEL_VERSIONS_TAG) or "[]")
        except ValueError:
            known = []
        if not isinstance(known, list):
            known = []
        if entry not in known:
            known.append(entry)
        row.tags = {**row.tags, MODEL_VERSIONS_TAG: json.dumps(known)}
    # registering a version of a deleted run's model is allowed: so is its record
    return change_logged_model(model=model, change=link, of_deleted_run=True)


def _json_value(value: float) -> float | str:
    """A metric value JSON can hold: NaN and ±inf as the strings the MLflow wire uses."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _newer(a: dict, b: dict) -> bool:
    return (a["step"], a["timestamp"]) >= (b["step"], b["timestamp"])


def record_model_metrics(*, run: Run, metrics: list[dict]) -> None:
    """Keep, with each logged model of the run's project that a metric names (MLflow 3 sends
    `model_id` with a metric once a model is active, e.g. after log_model or
    set_active_model), the latest value of each metric per dataset: what
    `LoggedModel.metrics` and the searches' metric filters and order read.

    `metrics`: {"model_id", "key", "value" (a float), "step", "timestamp", and optionally
    "dataset_name", "dataset_digest"}. A metric naming no model of the project changes
    nothing: a run writes only to its own project's models.
    """
    latest: dict[str, dict[tuple, dict]] = {}
    for metric in metrics:
        model_id = metric.get("model_id")
        if not model_id:
            continue
        entry = {"key": metric["key"], "value": _json_value(float(metric["value"])),
                 "step": metric["step"], "timestamp": metric["timestamp"], "run_id": run.id.hex}
        for field in ("dataset_name", "dataset_digest"):
            if metric.get(field):
                entry[field] = str(metric[field])
        slot = (entry["key"], entry.get("dataset_name"), entry.get("dataset_digest"))
        known = latest.setdefault(model_id, {})
        if slot not in known or _newer(entry, known[slot]):
            known[slot] = entry
    if not latest:
        return
    with transaction.atomic():
        rows = (LoggedModel.objects.select_for_update()
                .filter(model_id__in=latest, experiment__project_id=run.project_id)
                .order_by("pk"))
        for row in rows:
            kept = {(m["key"], m.get("dataset_name"), m.get("dataset_digest")): m
                    for m in row.metrics}
            for slot, entry in latest[row.model_id].items():
                if slot not in kept or _newer(entry, kept[slot]):
                    kept[slot] = entry
            row.metrics = sorted(kept.values(), key=lambda m: m["key"])
            row.save(update_fields=["metrics"])


def record_model_inputs(*, run: Run, model_ids: list[str]) -> list[dict]:
    """The run used these logged models (MLflow's model inputs, e.g. the model a run
    evaluates, or the active model a metric names): kept once each, in the order first
    logged. Returns the run's model inputs."""
    def add(current):
        current = list(current or [])
        for model_id in model_ids:
            if {"model_id": model_id} not in current:
                current.append({"model_id": model_id})
        return current
    return update_run_context(run=run, key=MODEL_INPUTS_KEY, update=add)


def record_model_outputs(*, run: Run, outputs: list[dict]) -> list[dict]:
    """The run produced these logged models, at a step ({"model_id", "step"}): kept once
    each. Returns the run's model outputs."""
    def add(current):
        current = list(current or [])
        current += [o for o in outputs if o not in current]
        return current
    return update_run_context(run=run, key=MODEL_OUTPUTS_KEY, update=add)
