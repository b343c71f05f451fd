"""The logging calls a training loop makes (log-batch, log-metric), at the least cost per call.

A script logs every few milliseconds, and waits for each answer. The usual way to answer
one is a query for the token and the run, then the batch's transaction: the run's lock
with its series, then the writes with the commit. Here the plain case (points, params or
tags to a run; no rename, no logged model's or dataset's metrics) takes only the transaction: the
lock's own statement checks that the token's user may write to the run
(authorization.locked_writer), one round trip to the database less per call.

Whatever this path does not take, or finds wrong, it leaves, having written nothing; the
usual way (logging_calls.py) then answers, so every error is told as it always is, the token's
first.
"""

from typing import Annotated

import msgspec

from api.auth import note_token_use
from api.mlflow import authorization, fields, shapes
from api.mlflow.endpoint import is_json
from api.mlflow.errors import MlflowError, invalid
from tracker import mlflow_mapping, services
from tracker.errors import TargetlineError
from tracker.models import MetricSummary, Run, RunDataset
from tracker.points import Columns

# MLflow's own limits (mlflow/utils/validation.py), not Targetline's larger v1 ones.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000


def check_limits(metrics: list, params: list, tags: list) -> None:
    """MLflow's error for a log-batch request over its limits."""
    for what, count, limit in (("metrics", len(metrics), MAX_METRICS_PER_BATCH),
                               ("params", len(params), MAX_PARAMS_TAGS_PER_BATCH),
                               ("tags", len(tags), MAX_PARAMS_TAGS_PER_BATCH),
                               ("metrics, params, and tags", len(metrics) + len(params)
                                + len(tags), MAX_ENTITIES_PER_BATCH)):
        if count > limit:
            raise invalid(f"A batch logging request can contain at most {limit} {what}. Got "
                          f"{count} {what}. Please split up {what} across multiple requests "
                          "and try again.")


def clean_params_tags(params: list[tuple], tags: list[tuple]
                      ) -> tuple[dict[str, str], dict[str, str], str | None]:
    """A logging call's params and tags as services.log_batch takes them (MLflow's errors for
    bad ones), and the run's new name when a tag sets it (MLflow's mlflow.runName)."""
    clean_params: dict[str, str] = {}
    for key, value in params:
        fields.check_name(key, "params.key")
        value = "" if value is None else value
        if not isinstance(value, str):
            value = str(value)
        if key in clean_params:
            raise invalid(f"Duplicate parameter keys have been submitted: ['{key}']. Please "
                          "ensure the request contains only one param value per param key.")
        clean_params[key] = value
    clean_tags: dict[str, str] = {}
    for key, value in tags:
        fields.check_name(key, "tags.key")
        clean_tags[key] = "" if value is None else str(value)
    return clean_params, clean_tags, clean_tags.pop(shapes.RUN_NAME_TAG, None)


def resolve_series(names: list[str], summaries: list[MetricSummary],
                   dataset_splits: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """The series each MLflow metric name of a batch goes to, given the run's summaries
    (services.log_batch calls it under the run's lock)."""
    existing = {(s.key, s.split): mlflow_mapping.mlflow_key(s.key, s.split, s.source_key)
                for s in summaries}
    return mlflow_mapping.resolve_series(names, existing, dataset_splits)


def series_resolver(run: Run, metrics: list) -> services.SeriesResolver:
    """resolve_series for a call's metrics: those logged against a dataset (MLflow 3's
    `dataset_name`, `dataset_digest`) take its split when their key names none, by the
    context the run logged the dataset for, else by its name (mlflow_mapping.dataset_split).
    """
    named: dict[str, tuple[str, str]] = {}  # the first dataset a key is logged with decides
    for m in metrics:
        if isinstance(m, dict) and m.get("dataset_name") and isinstance(m.get("key"), str):
            named.setdefault(m["key"], (str(m["dataset_name"]),
                                        str(m.get("dataset_digest") or "")))
    if not named:
        return resolve_series
    contexts: dict[tuple[str, str], str] = {}
    for name, digest, tags in RunDataset.objects.filter(
            run=run, name__in={name for name, _ in named.values()}).values_list(
            "name", "digest", "tags"):
        context = str((tags or {}).get(mlflow_mapping.DATASET_CONTEXT_TAG) or "")
        contexts[(name, digest)] = contexts[(name, "")] = context
    splits = {}
    for key, (name, digest) in named.items():
        split = mlflow_mapping.dataset_split(name, contexts.get((name, digest), ""))
        if split:
            splits[key] = split

    def resolve(names: list[str], summaries: list[MetricSummary]) -> dict[str, tuple[str, str]]:
        return resolve_series(names, summaries, splits)
    return resolve


def log_in_lock(request, run_id, *, points: dict[str, Columns], params: list[tuple],
                tags: list[tuple]) -> dict | None:
    """Log a plain call in one transaction whose run lock checks the token: {} when done.

    `points`: the call's metrics by name, as services.clean_points(by_name=True) gives them.
    None when it is not the plain case (a rename, nothing to log), or anything fails:
    nothing was written then, and the usual way answers the request (lane.py).
    """
    writer = authorization.locked_writer(request, run_id)
    if writer is None:
        return None
    try:
        clean_params, clean_tags, new_name = clean_params_tags(params, tags)
        if new_name is not None or not (points or clean_params or clean_tags):
            return None
        for name in points:
            fields.check_name(name, "metrics.key")
        services.log_batch(run=Run(pk=writer.run_pk), points=points, params=clean_params,
                           tags=clean_tags, series_of=resolve_series, guard=writer.guard)
    except (MlflowError, TargetlineError):
        return None
    note_token_use(writer.token_hash)
    return {}


def plain_points(metrics: list) -> dict[str, Columns] | None:
    """A call's metrics as points by name (services.clean_points), or None when they are not
    the plain case: a logged model's metrics or metrics on a dataset (the usual way keeps
    them with the model, and reads the run's datasets: series_resolver), or a metric with
    no key or a key of no name (the usual way tells MLflow's error for those)."""
    if any(isinstance(metric, dict) and (metric.get("model_id") or metric.get("dataset_name"))
           for metric in metrics):
        return None
    try:
        points = services.clean_points(metrics, by_name=True, timestamp_required=True)
    except (KeyError, TypeError):
        return None
    return points if all(isinstance(name, str) for name in points) else None


# log-batch's body read in one typed pass. MLflow's client sends int64 fields as numbers or,
# in protobuf's JSON, as strings ("12"), and values may be strings ("NaN"): the lax reading
# takes exactly what services.clean_points takes, to the same values, or refuses it
# (tests/mlflow/test_lane.py holds the two together). What it refuses, the usual way reads
# again and answers.
_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class _Metric(msgspec.Struct):
    key: str
    value: float
    timestamp: _Int64
    step: _Int64 = 0
    model_id: str | None = None
    dataset_name: str | None = None


class _KeyValue(msgspec.Struct):
    key: str
    value: str | None = None


class _LogBatch(msgspec.Struct):
    run_id: str | None = None
    metrics: list[_Metric] = []
    params: list[_KeyValue] = []
    tags: list[_KeyValue] = []


_READ_LOG_BATCH = msgspec.json.Decoder(_LogBatch, strict=False)


def read_log_batch(body: bytes) -> tuple[str | None, dict[str, Columns], list, list] | None:
    """A plain log-batch body's run id, points by name (as plain_points gives them), params
    and tags; None when it is not one (the same rule as plain_points: no logged model's or
    dataset's metrics) or not well formed. Over MLflow's limits, MLflow's error
    (check_limits), as the usual reading raises it."""
    try:
        call = _READ_LOG_BATCH.decode(body)
    except msgspec.MsgspecError:
        return None
    check_limits(call.metrics, call.params, call.tags)
    points: dict[str, Columns] = {}
    for metric in call.metrics:
        if metric.model_id or metric.dataset_name:
            return None
        columns = points.get(metric.key)
        if columns is None:
            columns = points[metric.key] = ([], [], [])
        columns[0].append(metric.step)
        columns[1].append(metric.timestamp)
        columns[2].append(metric.value)
    return (call.run_id, points, [(p.key, p.value) for p in call.params],
            [(t.key, t.value) for t in call.tags])


def log_batch_fields(data) -> tuple[list, list[tuple], list[tuple]]:
    """A log-batch request's metrics, params and tags, within MLflow's limits."""
    metrics = data.get("metrics") or []
    params = fields.key_values(data.get("params") or [], "params")
    tags = fields.key_values(data.get("tags") or [], "tags")
    if not isinstance(metrics, list):
        raise invalid("Invalid value for parameter 'metrics': expected a list")
    check_limits(metrics, params, tags)
    return metrics, params, tags


def log_batch_first(request) -> dict | None:
    """log-batch's plain case (tried by lane.py): {} when logged, else None."""
    call = read_log_batch(request.body) if is_json(request) else None
    if call is None:
        return None
    run_id, points, params, tags = call
    return log_in_lock(request, run_id, points=points, params=params, tags=tags)
