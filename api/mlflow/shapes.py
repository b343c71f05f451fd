"""Targetline objects in MLflow's JSON shapes (snake_case, int64 as numbers, enums as names)."""

import math
from collections import defaultdict

from api.mlflow.placement import DEFAULT_EXPERIMENT_NAME, experiment_id_for
from tracker import hot_sql
from tracker.mlflow_mapping import MODEL_INPUTS_KEY, MODEL_OUTPUTS_KEY, mlflow_key
from tracker.models import Experiment, MetricSummary, Run, RunDataset

STATUS_TO_MLFLOW = {"running": "RUNNING", "finished": "FINISHED", "failed": "FAILED",
                    "killed": "KILLED"}
RUN_NAME_TAG = "mlflow.runName"


def millis(moment) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def number(value: float | None) -> float | str:
    """A metric value for the wire: NaN and ±inf as the strings protobuf's JSON reads."""
    if value is None:
        return "NaN"
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def number_text(value: float | None) -> str:
    """A metric value as JSON text (number() written out): for answers built as text."""
    if value is not None and math.isfinite(value):
        return repr(value)
    return f'"{number(value)}"'


def param_text(value) -> str:
    """MLflow params are strings; values logged through the SDK may be numbers or booleans."""
    return value if isinstance(value, str) else str(value)


def experiment_json(experiment: Experiment, user) -> dict:
    experiment_id = experiment_id_for(experiment, experiment.project, user)
    return {
        "experiment_id": experiment_id,
        "name": DEFAULT_EXPERIMENT_NAME if experiment_id == "0" else experiment.name,
        "artifact_location": f"mlflow-artifacts:/{experiment_id}",
        "lifecycle_stage": "deleted" if experiment.deleted_at else "active",
        "creation_time": millis(experiment.created_at),
        "last_update_time": millis(experiment.updated_at),
        "tags": [{"key": k, "value": str(v)} for k, v in experiment.tags.items()],
        # MLflow 3.17's workspaces; mlflow server without them answers "default". Targetline's
        # projects are what separates teams here.
        "workspace": "default",
    }


def artifact_uri(run: Run, experiment_id: str) -> str:
    return f"mlflow-artifacts:/{experiment_id}/{run.id.hex}/artifacts"


def run_info_json(run: Run, user) -> dict:
    experiment_id = experiment_id_for(run.experiment, run.project, user)
    info = {
        "run_id": run.id.hex,
        "run_uuid": run.id.hex,
        "run_name": run.name,
        "experiment_id": experiment_id,
        "user_id": run.created_by.get_username() if run.created_by else "",
        "status": STATUS_TO_MLFLOW.get(run.status, "RUNNING"),
        "start_time": millis(run.started_at),
        "artifact_uri": artifact_uri(run, experiment_id),
        "lifecycle_stage": "deleted" if run.deleted_at else "active",
    }
    if run.ended_at is not None:
        info["end_time"] = millis(run.ended_at)
    return info


def _metrics_json(rows) -> list[dict]:
    """The latest value of each series, under the key the MLflow client knows it by."""
    out = []
    for key, split, source_key, value, step, timestamp, count in rows:
        if not count:
            continue
        out.append({"key": mlflow_key(key, split, source_key), "value": number(value),
                    "timestamp": timestamp, "step": step})
    return out


def _datasets_json(datasets: list[RunDataset]) -> list[dict]:
    return [{
        "tags": [{"key": k, "value": v} for k, v in d.tags.items()],
        "dataset": {"name": d.name, "digest": d.digest, "source_type": d.source_type,
                    "source": d.source, "schema": d.schema, "profile": d.profile},
    } for d in datasets]


def run_json(run: Run, user, summaries: list[tuple], datasets: list[RunDataset]) -> dict:
    tags = [{"key": k, "value": param_text(v)} for k, v in run.tags.items() if k != RUN_NAME_TAG]
    tags.append({"key": RUN_NAME_TAG, "value": run.name})
    return {
        "info": run_info_json(run, user),
        "data": {
            "metrics": _metrics_json(summaries),
            "params": [{"key": k, "value": param_text(v)} for k, v in run.params.items()],
            "tags": tags,
        },
        # The datasets and the logged models the run used (see api/mlflow/logged_models.py).
        "inputs": {"dataset_inputs": _datasets_json(datasets),
                   "model_inputs": list((run.context or {}).get(MODEL_INPUTS_KEY, []))},
        # Logged models the run produced.
        "outputs": {"model_outputs": list((run.context or {}).get(MODEL_OUTPUTS_KEY, []))},
    }


SUMMARY_COLUMNS = ("run_id", "key", "split", "source_key", "last_value", "last_step",
                   "last_timestamp", "count")


def runs_json(runs: list[Run], user) -> list[dict]:
    """Many runs with their latest metrics and datasets in two more queries, sent together."""
    summaries = defaultdict(list)
    datasets = defaultdict(list)
    if runs:
        in_runs, params = hot_sql.any_of("run_id", [r.id for r in runs], "uuid")
        summary_rows, dataset_rows = hot_sql.fetch_all_of(
            (f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM {MetricSummary._meta.db_table} "
             f"WHERE {in_runs} ORDER BY run_id, key, split", params),
            (f"SELECT {hot_sql.columns(RunDataset)} FROM {RunDataset._meta.db_table} "
             f"WHERE {in_runs} ORDER BY id", params))
        for row in summary_rows:
            summaries[hot_sql.uuid(row[0])].append(row[1:])
        for row in dataset_rows:
            dataset = hot_sql.instance(RunDataset, row)
            datasets[hot_sql.uuid(dataset.run_id)].append(dataset)
    return [run_json(r, user, summaries[r.id], datasets[r.id]) for r in runs]
