"""The logging calls a training loop makes: log-batch, log-metric, log-parameter, set-tag.

Every write is a call to tracker.services.log_batch (single-item writes are batches of
one), so MLflow clients get Targetline's write semantics: replayed points are stored once,
params are write-once, tags are last-write-wins. The plain case of log-batch and log-metric
is answered before they reach their endpoint (lane.py, batch.py).
"""

from django.db import transaction

from api.mlflow import authorization, batch, fields
from api.mlflow.endpoint import endpoint, request_data
from api.mlflow.errors import invalid
from api.mlflow.logged_models import record_model_metrics
from tracker import services
from tracker.errors import InvalidInput
from tracker.models import Run


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
    return batch.log_in_lock(request, fields.run_id(data), points=points, params=[], tags=[])


@endpoint("POST", related_run=False)
def log_metric(request, user, data):
    run = authorization.run_for(user, fields.run_id(data), write=True, related=False)
    metric = _metric(data)
    try:
        _log(run, metrics=[metric], params=[], tags=[])
    except InvalidInput as error:  # name the field as MLflow does, not metrics[0].x
        raise invalid(error.message.replace("metrics[0].", "")) from None
    return {}


@endpoint("POST", related_run=False)
def log_param(request, user, data):
    run = authorization.run_for(user, fields.run_id(data), write=True, related=False)
    _log(run, metrics=[], params=[(fields.required(data, "key"), data.get("value"))], tags=[])
    return {}


@endpoint("POST", related_run=False)
def set_tag(request, user, data):
    run = authorization.run_for(user, fields.run_id(data), write=True, related=False)
    _log(run, metrics=[], params=[], tags=[(fields.required(data, "key"), data.get("value"))])
    return {}
