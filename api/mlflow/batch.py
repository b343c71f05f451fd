"""The logging calls a training loop makes (log-batch, log-metric), at the least cost per call.

A script logs a batch every few milliseconds, and waits for each answer. The usual way
to answer one is a query for the token and the run, then the batch's transaction: the
run's lock with its series, then the writes with the commit. Here the plain case (points,
params or tags to a run, no rename) takes only the transaction: the lock's own statement
checks that the token's user may write to the run (access.locked_writer), and a log-batch
body is read straight into typed fields by msgspec, at C speed, rather than into a
thousand dicts that Python then checks one by one.

Whatever this path does not take, or finds wrong, it leaves untouched, having written
nothing; the usual way (views.py) then answers, so every error is told as it always is,
the token's first. For points it does take, its reading agrees with
services.clean_points, which stays the rule (a test holds the two equal).
"""

import msgspec

from api.auth import note_token_use
from api.mlflow import access, fields, shapes
from api.mlflow.errors import MlflowError, invalid
from tracker import mlflow_mapping, services
from tracker.errors import TargetlineError
from tracker.models import MetricSummary, Run
from tracker.points import Columns

# MLflow's own limits (mlflow/utils/validation.py), not Targetline's larger v1 ones.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


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


def resolve_series(names: list[str], summaries: list[MetricSummary]
                   ) -> dict[str, tuple[str, str]]:
    """The series each MLflow metric name of a batch goes to, given the run's summaries
    (services.log_batch calls it under the run's lock)."""
    existing = {(s.key, s.split): mlflow_mapping.mlflow_key(s.key, s.split, s.source_key)
                for s in summaries}
    return mlflow_mapping.resolve_series(names, existing)


def log_in_lock(request, run_id, *, points: dict[str, Columns], params: list[tuple],
                tags: list[tuple]) -> bool:
    """Log a plain call in one transaction whose run lock checks the token: True when done.

    False when it is not the plain case (a rename, or nothing to log), or anything fails:
    nothing was written then, and the usual way answers the request.
    """
    writer = access.locked_writer(request, run_id)
    if writer is None:
        return False
    try:
        clean_params, clean_tags, new_name = clean_params_tags(params, tags)
        if new_name is not None or not (points or clean_params or clean_tags):
            return False
        for name in points:
            fields.check_name(name, "metrics.key")
        services.log_batch(run=Run(pk=writer.run_pk), points=points, params=clean_params,
                           tags=clean_tags, series_of=resolve_series, guard=writer.guard)
    except (MlflowError, TargetlineError):
        return False
    note_token_use(writer.token_hash)
    return True


# --- log-batch's body, read by msgspec --------------------------------------------------------
# "Lax" reading takes MLflow's int64 fields as the strings its JSON carries them in, and
# "NaN" and "Infinity" as floats; anything these fields cannot hold (a null, a boolean,
# a number in the wrong place) fails the reading, and the usual way tells the error.

class _Metric(msgspec.Struct):
    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None  # MLflow 3: a logged model's metric (the usual way keeps it)


class _KeyValue(msgspec.Struct):
    key: str
    value: str | None = None


class _LogBatch(msgspec.Struct):
    run_id: str | None = None
    metrics: list[_Metric] = []
    params: list[_KeyValue] = []
    tags: list[_KeyValue] = []


_read_log_batch = msgspec.json.Decoder(_LogBatch, strict=False)


def read_points(body: bytes) -> tuple[str | None, dict[str, Columns], list, list] | None:
    """A log-batch body's run id, points by name (as services.clean_points(by_name=True)
    gives them), params and tags; None when msgspec cannot read it as such, when it names a
    model, or when a step or timestamp does not fit in 64 bits (the usual way tells why)."""
    try:
        batch = _read_log_batch.decode(body)
    except msgspec.MsgspecError:
        return None
    points: dict[str, Columns] = {}
    for metric in batch.metrics:
        if metric.model_id:
            return None
        columns = points.get(metric.key)
        if columns is None:
            columns = points[metric.key] = ([], [], [])
        columns[0].append(metric.step)
        columns[1].append(metric.timestamp)
        columns[2].append(metric.value)
    for steps, timestamps, _ in points.values():
        if (min(steps) < _INT64_MIN or max(steps) > _INT64_MAX
                or min(timestamps) < _INT64_MIN or max(timestamps) > _INT64_MAX):
            return None
    check_limits(batch.metrics, batch.params, batch.tags)
    return (batch.run_id, points, [(p.key, p.value) for p in batch.params],
            [(t.key, t.value) for t in batch.tags])


def log_batch_first(request) -> dict | None:
    """log-batch's plain case (endpoint's first_try): {} when logged, else None."""
    if request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json":
        return None
    read = read_points(request.body)
    if read is None:
        return None
    run_id, points, params, tags = read
    return {} if log_in_lock(request, run_id, points=points, params=params, tags=tags) else None
