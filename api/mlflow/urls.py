"""Routes of the MLflow-compatible API.

config/urls.py mounts `urlpatterns` at /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/ (API_PREFIXES),
`artifact_urlpatterns` at /api/2.0/mlflow-artifacts/ (and its ajax twin) and
`v3_urlpatterns` at /api/3.0/mlflow/. Anything else under those prefixes answers
MLflow's ENDPOINT_NOT_FOUND as JSON.
"""

from django.urls import path, re_path

from api.mlflow import (
    artifacts,
    experiments,
    logged_models,
    logging_calls,
    metric_history,
    model_registry,
    runs,
    schemas,
    search,
)
from api.mlflow.endpoint import not_found
from api.routes import CATCH_ALL

# Where config/urls.py mounts `urlpatterns`: MLflow's REST API, and its twin that MLflow's
# own web UI calls.
API_PREFIXES = ("api/2.0/mlflow/", "ajax-api/2.0/mlflow/")

OPERATIONS = {
    "experiments/create": experiments.create_experiment,
    "experiments/get": experiments.get_experiment,
    "experiments/get-by-name": experiments.get_experiment_by_name,
    "experiments/search": search.search_experiments,
    "experiments/delete": experiments.delete_experiment,
    "experiments/restore": experiments.restore_experiment,
    "experiments/update": experiments.update_experiment,
    "experiments/set-experiment-tag": experiments.set_experiment_tag,
    "experiments/delete-experiment-tag": experiments.delete_experiment_tag,
    "runs/create": runs.create_run,
    "runs/update": runs.update_run,
    "runs/get": runs.get_run,
    "runs/delete": runs.delete_run,
    "runs/restore": runs.restore_run,
    "runs/log-metric": logging_calls.log_metric,
    "runs/log-parameter": logging_calls.log_param,
    "runs/set-tag": logging_calls.set_tag,
    "runs/delete-tag": runs.delete_tag,
    "runs/log-batch": logging_calls.log_batch,
    "runs/log-inputs": runs.log_inputs,
    "runs/search": search.search_runs,
    "metrics/get-history": metric_history.get_metric_history,
    "artifacts/list": artifacts.list_run_artifacts,
    "runs/outputs": logged_models.log_outputs,
    "runs/log-model": logged_models.record_logged_model,
    "logged-models": logged_models.create_logged_model,
    "logged-models/search": logged_models.search_logged_models,
    "registered-models/create": model_registry.create_registered_model,
    "registered-models/get": model_registry.get_registered_model,
    "registered-models/rename": model_registry.rename_registered_model,
    "registered-models/update": model_registry.update_registered_model,
    "registered-models/delete": model_registry.delete_registered_model,
    "registered-models/search": model_registry.search_registered_models,
    "registered-models/get-latest-versions": model_registry.get_latest_versions,
    "registered-models/set-tag": model_registry.set_registered_model_tag,
    "registered-models/delete-tag": model_registry.delete_registered_model_tag,
    "registered-models/alias": model_registry.alias,
    "model-versions/create": model_registry.create_model_version,
    "model-versions/get": model_registry.get_model_version,
    "model-versions/update": model_registry.update_model_version,
    "model-versions/delete": model_registry.delete_model_version,
    "model-versions/transition-stage": model_registry.transition_model_version_stage,
    "model-versions/get-download-uri": model_registry.get_model_version_download_uri,
    "model-versions/search": model_registry.search_model_versions,
    "model-versions/set-tag": model_registry.set_model_version_tag,
    "model-versions/delete-tag": model_registry.delete_model_version_tag,
}

urlpatterns = [
    *[path(route, schemas.checked(route, view), name=f"mlflow-{route.replace('/', '-')}")
      for route, view in OPERATIONS.items()],
    path("logged-models/<str:model_id>", logged_models.logged_model, name="mlflow-logged-model"),
    path("logged-models/<str:model_id>/tags", logged_models.set_logged_model_tags,
         name="mlflow-logged-model-tags"),
    path("logged-models/<str:model_id>/tags/<path:key>", logged_models.delete_logged_model_tag,
         name="mlflow-logged-model-tag"),
    path("logged-models/<str:model_id>/params", logged_models.log_logged_model_params,
         name="mlflow-logged-model-params"),
    re_path(CATCH_ALL, not_found),
]

artifact_urlpatterns = [
    path("artifacts", artifacts.artifact_list, name="mlflow-artifacts-list"),
    path("artifacts/", artifacts.artifact_list),
    path("artifacts/<path:path>", artifacts.artifact_detail, name="mlflow-artifacts-file"),
    re_path(CATCH_ALL, not_found),
]

v3_urlpatterns = [
    path("server-info", artifacts.server_info, name="mlflow-server-info"),
    re_path(CATCH_ALL, not_found),
]
