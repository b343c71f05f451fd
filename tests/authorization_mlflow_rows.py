"""The authorization table of the MLflow API (tracking, artifacts, registry): roles and their
order as in tests/authorization_rows.py. Reads are GETs with a query string, writes JSON
bodies, as the mlflow client sends them; refusals are MLflow's error codes with the v1
API's statuses (PERMISSION_DENIED 403, RESOURCE_DOES_NOT_EXIST 404, UNAUTHENTICATED 401).
"""

from tests.authorization_rows import PUBLIC, Row, anyone, json, query, reads, writes

M = "api/2.0/mlflow/"
LM = f"{M}logged-models/<str:model_id>"


def _get(ok_statuses, params):
    return Row(ok_statuses, query(params))


def _post(ok_statuses, body):
    return Row(ok_statuses, json(body))


def _run(**more):
    return lambda w: {"run_id": w.run_hex, **more}


def _experiment(**more):
    return lambda w: {"experiment_id": w.experiment_id, **more}


def _model(**more):
    return lambda w: {"name": w.model, **more}


def _version(**more):
    return lambda w: {"name": w.model, "version": "1", **more}


def _in_project(w):
    return [{"key": "targetline.project", "value": w.slug}]


MLFLOW_ROWS = {
    # Experiments
    (f"{M}experiments/create", "POST"): _post(writes(), lambda w: {
        "name": f"{w.slug}/bert", "tags": _in_project(w)}),
    (f"{M}experiments/get", "GET"): _get(reads(), _experiment()),
    (f"{M}experiments/get-by-name", "GET"): _get(reads(), lambda w: {
        "experiment_name": w.experiment_name}),
    (f"{M}experiments/search", "GET"): _get(anyone(), lambda w: {"max_results": 100}),
    (f"{M}experiments/search", "POST"): _post(anyone(), lambda w: {"max_results": 100}),
    (f"{M}experiments/delete", "POST"): _post(writes(), _experiment()),
    (f"{M}experiments/restore", "POST"): _post(writes(), _experiment()),
    (f"{M}experiments/update", "POST"): _post(writes(), lambda w: {
        "experiment_id": w.experiment_id, "new_name": f"{w.slug}/x"}),
    (f"{M}experiments/set-experiment-tag", "POST"): _post(writes(), _experiment(
        key="team", value="nlp")),
    (f"{M}experiments/delete-experiment-tag", "POST"): _post(writes(), _experiment(
        key="team")),
    # Runs
    (f"{M}runs/create", "POST"): _post(writes(), _experiment(start_time=1000)),
    (f"{M}runs/update", "POST"): _post(writes(), _run(status="FINISHED")),
    (f"{M}runs/get", "GET"): _get(reads(), _run()),
    (f"{M}runs/delete", "POST"): _post(writes(), _run()),
    (f"{M}runs/restore", "POST"): _post(writes(), _run()),
    (f"{M}runs/log-metric", "POST"): _post(writes(), _run(
        key="loss", value=0.3, timestamp=3000, step=2)),
    (f"{M}runs/log-parameter", "POST"): _post(writes(), _run(key="epochs", value="3")),
    (f"{M}runs/set-tag", "POST"): _post(writes(), _run(key="team", value="nlp")),
    (f"{M}runs/delete-tag", "POST"): _post(writes(), _run(key="stage")),
    (f"{M}runs/log-batch", "POST"): _post(writes(), _run(metrics=[
        {"key": "loss", "value": 0.3, "timestamp": 3000, "step": 2}])),
    (f"{M}runs/log-inputs", "POST"): _post(writes(), _run(datasets=[{
        "dataset": {"name": "train", "digest": "abc", "source_type": "local",
                    "source": "{}"}}])),
    (f"{M}runs/search", "POST"): _post(anyone(), lambda w: {
        "experiment_ids": [w.experiment_id]}),
    (f"{M}metrics/get-history", "GET"): _get(reads(), _run(metric_key="loss")),
    (f"{M}artifacts/list", "GET"): _get(reads(), _run()),
    # MLflow 3's logged models
    (f"{M}runs/outputs", "POST"): _post(writes(), lambda w: {
        "run_id": w.run_hex, "models": [{"model_id": w.logged_model_id, "step": 0}]}),
    (f"{M}runs/log-model", "POST"): _post(writes(), _run(model_json=(
        '{"artifact_path": "model2", "flavors": {}, "utc_time_created": '
        '"2026-01-01 00:00:00.000000"}'))),
    # a model of no run (initialize_logged_model, set_active_model): the experiment's roles
    (f"{M}logged-models", "POST"): _post(writes(), lambda w: {
        "experiment_id": w.experiment_id, "name": "model2"}),
    (f"{M}logged-models/search", "POST"): _post(anyone(), lambda w: {
        "experiment_ids": [w.experiment_id]}),
    (LM, "GET"): Row(reads()),
    (LM, "PATCH"): _post(writes(), lambda w: {"status": "LOGGED_MODEL_READY"}),
    (LM, "DELETE"): Row(writes()),
    (f"{LM}/tags", "PATCH"): _post(writes(), lambda w: {"tags": [{"key": "k", "value": "v"}]}),
    (f"{LM}/tags/<path:key>", "DELETE"): Row(writes()),
    (f"{LM}/params", "POST"): _post(writes(), lambda w: {
        "params": [{"key": "alpha", "value": "0.1"}]}),
    # The model registry
    (f"{M}registered-models/create", "POST"): _post(writes(), lambda w: {
        "name": "new-model", "tags": _in_project(w)}),
    (f"{M}registered-models/get", "GET"): _get(reads(), _model()),
    (f"{M}registered-models/rename", "POST"): _post(writes(), _model(new_name="renamed")),
    (f"{M}registered-models/update", "PATCH"): _post(writes(), _model(description="d")),
    (f"{M}registered-models/delete", "DELETE"): _post(writes(), _model()),
    (f"{M}registered-models/search", "GET"): _get(anyone(), lambda w: {}),
    (f"{M}registered-models/search", "POST"): _post(anyone(), lambda w: {}),
    (f"{M}registered-models/get-latest-versions", "GET"): _get(reads(), _model()),
    (f"{M}registered-models/get-latest-versions", "POST"): _post(reads(), _model()),
    (f"{M}registered-models/set-tag", "POST"): _post(writes(), _model(key="k", value="v")),
    (f"{M}registered-models/delete-tag", "DELETE"): _post(writes(), _model(key="owner")),
    (f"{M}registered-models/alias", "GET"): _get(reads(), _model(alias="champion")),
    (f"{M}registered-models/alias", "POST"): _post(writes(), _model(
        alias="staging", version="1")),
    (f"{M}registered-models/alias", "DELETE"): _post(writes(), _model(alias="champion")),
    (f"{M}model-versions/create", "POST"): _post(writes(), lambda w: {
        "name": w.model, "source": f"runs:/{w.run_hex}/model", "run_id": w.run_hex}),
    (f"{M}model-versions/get", "GET"): _get(reads(), _version()),
    (f"{M}model-versions/update", "PATCH"): _post(writes(), _version(description="d")),
    (f"{M}model-versions/delete", "DELETE"): _post(writes(), _version()),
    (f"{M}model-versions/transition-stage", "POST"): _post(writes(), _version(
        stage="Staging", archive_existing_versions=False)),
    (f"{M}model-versions/get-download-uri", "GET"): _get(reads(), _version()),
    (f"{M}model-versions/search", "GET"): _get(anyone(), lambda w: {}),
    (f"{M}model-versions/search", "POST"): _post(anyone(), lambda w: {}),
    (f"{M}model-versions/set-tag", "POST"): _post(writes(), _version(key="k", value="v")),
    (f"{M}model-versions/delete-tag", "DELETE"): _post(writes(), _version(key="owner")),
    # The artifact proxy and the server's description
    ("api/2.0/mlflow-artifacts/artifacts/", "GET"): _get(reads(), lambda w: {
        "path": f"{w.experiment_id}/{w.run_hex}/artifacts/models"}),
    ("api/2.0/mlflow-artifacts/artifacts/<path:path>", "GET"): Row(reads()),
    ("api/2.0/mlflow-artifacts/artifacts/<path:path>", "PUT"): Row(writes(), lambda w: {
        "data": b"new bytes", "content_type": "application/octet-stream"}),
    ("api/3.0/mlflow/server-info", "GET"): Row(PUBLIC),
}
