"""MLflow's run endpoints: create, read, update, delete and restore a run, delete its tags,
record its datasets. Its logging calls are logging_calls.py's, its search search.py's."""

from contextlib import nullcontext
from datetime import UTC, datetime

from django.db import transaction

from api.mlflow import authorization, fields, shapes
from api.mlflow.endpoint import endpoint
from api.mlflow.errors import invalid, not_found
from api.mlflow.filters import MLFLOW_STATUSES
from api.mlflow.logged_models import model_ids
from api.throttle import client_address
from tracker.errors import NotFound
from tracker.models import Run, RunStatus
from tracker.services import logged_models as logged_model_services
from tracker.services import runs as run_services

_TERMINAL = {"FINISHED": RunStatus.FINISHED, "FAILED": RunStatus.FAILED,
             "KILLED": RunStatus.KILLED}
_STATUS_NUMBERS = {"1": "RUNNING", "2": "SCHEDULED", "3": "FINISHED", "4": "FAILED",
                   "5": "KILLED"}


def _time(ms, field: str) -> datetime | None:
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):  # beyond the years 1 to 9999
        raise invalid(f"Invalid value {ms} for parameter '{field}': not a time in "
                      "milliseconds since 1970") from None


def _status(value) -> str:
    text = _STATUS_NUMBERS.get(str(value), str(value).upper())
    if text not in MLFLOW_STATUSES:
        raise invalid(f"Invalid status {value!r}: use one of {', '.join(MLFLOW_STATUSES)}")
    return text


def _run_to_change(user, run_id, *, allow_deleted: bool = False) -> Run:
    """The run a request changes, which the user must be able to write to."""
    return authorization.run_for(user, run_id, write=True, allow_deleted=allow_deleted)


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
    start_time = _time(fields.integer(data, "start_time"), "start_time")
    commit = tags.get("mlflow.source.git.commit", "")
    run, _ = run_services.create_run(
        project=experiment.project, user=user, experiment=experiment,
        name=run_name or tag_name, tags=tags, started_at=start_time,
        git_commit=commit if isinstance(commit, str) else "")
    run.project, run.experiment, run.created_by = experiment.project, experiment, user
    return {"run": shapes.run_json(run, user, [], [])}


@endpoint("POST")
def update_run(request, user, data):
    run = _run_to_change(user, fields.run_id(data))
    # Every field is read before anything is written: a refused call changes nothing.
    run_name = fields.string(data, "run_name")
    status = None if data.get("status") in (None, "") else _status(data.get("status"))
    ended_at = _time(fields.integer(data, "end_time"), "end_time")
    # Both changes in one transaction; one alone is one statement, needing none of its own
    # (end_run() sends the status alone, and a transaction costs two more round trips).
    with transaction.atomic() if run_name and status is not None else nullcontext():
        if run_name:
            run_services.update_run(run=run, name=run_name)
        if status is not None:
            _change_status(run, status, ended_at)
    return {"run_info": shapes.run_info_json(run, user)}


def _change_status(run: Run, status: str, ended_at: datetime | None) -> None:
    ours = _TERMINAL.get(status, RunStatus.RUNNING)
    if ours == run.status and (ours == RunStatus.RUNNING or run.ended_at is not None):
        pass  # update_run(name=...) resends the current status: nothing changes
    elif status in _TERMINAL:
        run_services.finish_run(run=run, status=ours, ended_at=ended_at)
    else:
        run_services.update_run(run=run, status=RunStatus.RUNNING)


@endpoint("GET")
def get_run(request, user, data):
    run = authorization.run_for(user, fields.run_id(data))
    return {"run": shapes.runs_json([run], user)[0]}


@endpoint("POST")
def delete_run(request, user, data):
    # MLflow's delete and restore name the run by run_id only
    run_services.delete_run(run=_run_to_change(user, data.get("run_id"), allow_deleted=True),
                            user=user, address=client_address(request))
    return {}


@endpoint("POST")
def restore_run(request, user, data):
    run_services.restore_run(run=_run_to_change(user, data.get("run_id"), allow_deleted=True),
                             user=user, address=client_address(request))
    return {}


@endpoint("POST")
def delete_tag(request, user, data):
    run = _run_to_change(user, fields.run_id(data))
    key = fields.required(data, "key")
    if key != shapes.RUN_NAME_TAG:  # the name tag mirrors the run's name: nothing to delete
        try:
            run_services.delete_run_tag(run=run, key=key)
        except NotFound:
            raise not_found(f"No tag with name: {key} in run with id {run.id.hex}") from None
    return {}


@endpoint("POST")
def log_inputs(request, user, data):
    """runs/log-inputs: the datasets a run used, with their context (training, evaluation),
    and the logged models it used (`models`, MLflow's model inputs)."""
    run = _run_to_change(user, fields.run_id(data))
    models = model_ids(data.get("models"), "models")
    datasets = []
    for i, item in enumerate(fields.string_list(data, "datasets")):
        if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
            raise invalid(f"Invalid value for parameter 'datasets[{i}]': expected "
                          "{tags, dataset}")
        tags = {k: "" if v is None else str(v)
                for k, v in fields.key_values(item.get("tags") or [], f"datasets[{i}].tags")}
        datasets.append({**item["dataset"], "tags": tags})
    run_services.log_run_datasets(run=run, datasets=datasets)
    if models:
        logged_model_services.record_model_inputs(run=run, model_ids=models)
    return {}
