"""The logging calls' bodies (log-batch, log-metric, log-parameter, set-tag), read once.

Each body is decoded in one typed pass (msgspec) into the structs below, whose fields take
any JSON value, so that decoding never refuses a body MLflow's clients may send: int64 as
numbers or as strings ("12", protobuf's JSON), values as numbers or strings ("NaN"). Each
call then becomes a LogBatch, the one shape logging_calls.py writes (every single-item write
is a batch of one), or MLflow's error for the first thing wrong: the body's shape and
MLflow's limits (read_log_batch), then params and tags, then metrics (_checked_points).

A training loop's batch is read at the least cost: when every step and timestamp is already
a 64-bit integer and every value a float (as the mlflow client sends them), its points are
taken as they are, which is what tracker.services.metrics.clean_points would make of them; any other
batch goes through clean_points, which converts and checks each point (and says which one
is wrong).
"""

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import msgspec

from api.mlflow import fields, shapes
from api.mlflow.endpoint import check_storable, json_body, json_object
from api.mlflow.errors import MlflowError, invalid
from tracker.errors import InvalidInput
from tracker.points import Columns
from tracker.services import metrics as metric_services
from tracker.validation import may_hold_unstorable_text

# MLflow's own limits (mlflow/utils/validation.py), not Targetline's larger v1 ones.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000

class LogBatch(NamedTuple):
    """What a logging call writes, as services.log_batch takes it."""

    points: dict[str, Columns]  # by the name the client logged them under
    params: dict[str, str]
    tags: dict[str, str]
    new_name: str | None  # the run's new name (MLflow's tag mlflow.runName), or None
    # The metrics logged for a logged model (MLflow 3's model_id), as record_model_metrics
    # keeps them: key, value, step, timestamp, model_id and their dataset.
    model_metrics: list[dict]
    # The dataset each metric name was first logged against: (name, digest).
    datasets: dict[str, tuple[str, str]]


# --- The bodies -----------------------------------------------------------------------

_NOT_A_NUMBER = str | bool | list | dict | None  # what else JSON may hold


class Metric(msgspec.Struct):
    """One metric as MLflow sends it. Numbers keep their JSON type (a JSON integer is read as
    a float for the value), anything else is kept to be converted or refused."""

    key: Any = None
    value: float | _NOT_A_NUMBER = None
    timestamp: int | float | _NOT_A_NUMBER = None
    step: int | float | _NOT_A_NUMBER = 0
    model_id: Any = None
    dataset_name: Any = None
    dataset_digest: Any = None


_METRICS = list[Metric | str | int | float | bool | list | None]  # what is no Metric is no object


class LogBatchBody(msgspec.Struct):
    run_id: Any = None
    run_uuid: Any = None  # MLflow's old name: mlflow server's check takes it for run_id
    metrics: _METRICS | str | int | float | bool | dict | None = None  # else: not a list
    params: Any = None
    tags: Any = None


class LogMetricBody(Metric):
    run_id: Any = None
    run_uuid: Any = None


class KeyValueBody(msgspec.Struct):
    """log-parameter's and set-tag's body."""

    run_id: Any = None
    run_uuid: Any = None
    key: Any = None
    value: Any = None


_DECODERS = {body: msgspec.json.Decoder(body)
             for body in (LogBatchBody, LogMetricBody, KeyValueBody)}


def read(request, body_type: type[msgspec.Struct],
         check_fields: Callable[[object], None] = lambda fields: None) -> msgspec.Struct:
    """A logging call's JSON body as `body_type`, in one typed pass; `check_fields` is given
    its fields first (a dict, or the decoded struct) to refuse them as mlflow server would
    (logging_calls.py passes schemas.check_decoded)."""
    body = json_body(request)
    if body is None:
        check_fields({})
        return body_type()
    try:
        decoded = _DECODERS[body_type].decode(body)
    except (msgspec.MsgspecError, RecursionError):  # bare NaN, a double-encoded body, a
        data = json_object(body)                     # number beyond a double, deep nesting
        check_fields(data)
    else:
        check_fields(decoded)
        if may_hold_unstorable_text(body):
            check_storable(msgspec.to_builtins(decoded))
        return decoded
    try:
        return msgspec.convert(data, body_type)
    except msgspec.ValidationError as exc:  # an integer too large even for a float
        raise invalid(f"the request body is not valid: {exc}") from None


def run_id_of(body) -> object:
    """The run a single-item call names (MLflow's old clients call it run_uuid)."""
    return body.run_id or body.run_uuid


# --- log-batch ------------------------------------------------------------------------

def read_log_batch(request, check_fields: Callable[[object], None] = lambda fields: None,
                   ) -> LogBatchBody:
    """log-batch's body, its lists shaped as MLflow's and within MLflow's limits."""
    body = read(request, LogBatchBody, check_fields)
    body.metrics = body.metrics or []
    if not isinstance(body.metrics, list):
        raise fields.not_a("metrics", body.metrics)
    body.params = fields.key_values(body.params or [], "params")
    body.tags = fields.key_values(body.tags or [], "tags")
    check_limits(body.metrics, body.params, body.tags)
    return body


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


def log_batch_call(body: LogBatchBody) -> LogBatch:
    """What a log-batch body writes; MLflow's error for its names and values."""
    params, tags, new_name = clean_params_tags(body.params, body.tags)
    return _with_metrics(body.metrics, params, tags, new_name, lambda i: f"metrics[{i}]")


# --- The calls of one item: batches of one ------------------------------------------------

def log_metric_call(body: LogMetricBody) -> LogBatch:
    """What a log-metric body writes: a batch of one metric, its fields named as MLflow's
    log-metric names them ("value", not "metrics[0].value")."""
    fields.required(msgspec.structs.asdict(body), "key")
    for field in ("value", "timestamp"):
        if getattr(body, field) is None:
            raise invalid(f"Missing value for required parameter '{field}'.{fields.DOCS}")
    try:
        return _with_metrics([body], {}, {}, None, lambda i: "")
    except InvalidInput as error:
        raise invalid(error.message.replace("metrics[0].", "")) from None


def log_param_call(body: KeyValueBody) -> LogBatch:
    """What a log-parameter body writes: a batch of one param."""
    key = fields.required(msgspec.structs.asdict(body), "key")
    params, _, _ = clean_params_tags([(key, body.value)], [], batch=False)
    return LogBatch({}, params, {}, None, [], {})


def set_tag_call(body: KeyValueBody) -> LogBatch:
    """What a set-tag body writes: a batch of one tag (or the run's new name)."""
    key = fields.required(msgspec.structs.asdict(body), "key")
    _, tags, new_name = clean_params_tags([], [(key, body.value)], batch=False)
    return LogBatch({}, {}, tags, new_name, [], {})


# --- Params and tags ----------------------------------------------------------------------

def clean_params_tags(params: list[tuple], tags: list[tuple], *, batch: bool = True
                      ) -> tuple[dict[str, str], dict[str, str], str | None]:
    """A logging call's params and tags as services.log_batch takes them (MLflow's errors for
    bad ones, naming `params[0].key` in a batch, `key` in a call of one), and the run's new
    name when a tag sets it (MLflow's mlflow.runName)."""
    clean_params: dict[str, str] = {}
    for i, (key, value) in enumerate(params):
        fields.check_name(key, fields.json_path(f"params[{i}]" if batch else "", "key"),
                          "Param key")
        value = "" if value is None else value
        if not isinstance(value, str):
            value = str(value)
        if key in clean_params:
            raise invalid(f"Duplicate parameter keys have been submitted: ['{key}']. Please "
                          "ensure the request contains only one param value per param key.")
        clean_params[key] = value
    clean_tags: dict[str, str] = {}
    for i, (key, value) in enumerate(tags):
        fields.check_name(key, fields.json_path(f"tags[{i}]" if batch else "", "key"))
        clean_tags[key] = "" if value is None else str(value)
    return clean_params, clean_tags, clean_tags.pop(shapes.RUN_NAME_TAG, None) or None


# --- Metrics ------------------------------------------------------------------------------

def _with_metrics(metrics: list, params: dict, tags: dict, new_name: str | None,
                  field) -> LogBatch:
    """A LogBatch of these metrics (and params, tags, name); `field(i)` names the i-th metric
    in MLflow's errors ("metrics[3]", or "" for log-metric's one)."""
    points, linked = _typed_points(metrics)
    if points is None:
        points, linked = _checked_points(metrics, field)
    else:
        _check_metric_names(points, metrics, field)
    if not linked:
        return LogBatch(points, params, tags, new_name, [], {})
    datasets: dict[str, tuple[str, str]] = {}
    for metric in linked:  # the first dataset a key is logged with decides
        if metric.dataset_name:
            datasets.setdefault(metric.key, (str(metric.dataset_name),
                                             str(metric.dataset_digest or "")))
    return LogBatch(points, params, tags, new_name,
                    [_model_metric(metric) for metric in linked if metric.model_id], datasets)


def _typed_points(metrics: list) -> tuple[dict[str, Columns] | None, list[Metric]]:
    """The metrics' points by name when each is already of its type: steps and timestamps
    64-bit integers, values floats (None otherwise); and the metrics linked to a logged
    model or a dataset."""
    points: dict[str, Columns] = {}
    linked = []
    try:
        for metric in metrics:
            columns = points.get(metric.key)
            if columns is None:
                columns = points[metric.key] = ([], [], [])
            columns[0].append(metric.step)
            columns[1].append(metric.timestamp)
            columns[2].append(metric.value)
            if metric.model_id or metric.dataset_name:
                linked.append(metric)
    except (AttributeError, TypeError):  # a metric that is no object, or a key that is no name
        return None, []
    try:  # in C: no bool, float or string among the integers, none beyond 64 bits
        msgspec.convert(points, _TYPED_POINTS)
    except msgspec.ValidationError:
        return None, []
    return points, linked


_INT64S = list[Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]]
_TYPED_POINTS = dict[str, tuple[_INT64S, _INT64S, list[float]]]


def _checked_points(metrics: list, field) -> tuple[dict[str, Columns], list[Metric]]:
    """The metrics' points by name, each converted and checked by services.clean_points.

    MLflow's error for the first metric that is wrong: for its name (MLflow checks a
    metric's name first) when every metric has one, else for the first metric that is no
    object or lacks a field; a missing field is told before a wrong value.
    """
    if all(isinstance(metric, Metric) and type(metric.key) is str and metric.key
           for metric in metrics):
        _check_metric_names(dict.fromkeys(metric.key for metric in metrics), metrics, field)
    else:
        _refuse(metrics, field)
    try:
        points = metric_services.clean_points(msgspec.to_builtins(metrics), by_name=True,
                                              timestamp_required=True)
    except InvalidInput:
        _refuse(metrics, field, names=False)
        raise
    return points, [metric for metric in metrics if metric.model_id or metric.dataset_name]


def _refuse(metrics: list, field, *, names: bool = True) -> None:
    """MLflow's error for the first metric that is no object or lacks its key, value or
    timestamp, and then (`names`) for the first whose key is no name."""
    for i, metric in enumerate(metrics):
        if not isinstance(metric, Metric):
            raise invalid(f"Invalid value for parameter '{field(i)}': expected an object")
        for name in ("key", "value", "timestamp"):
            if getattr(metric, name) is None:
                raise invalid(f"Missing value for required parameter "
                              f"'{fields.json_path(field(i), name)}'.{fields.DOCS}")
    for i, metric in enumerate(metrics if names else ()):
        fields.check_name(metric.key, fields.json_path(field(i), "name"), "Metric name")


def _check_metric_names(names, metrics: list, field) -> None:
    """MLflow's error for the first of `names` (the metrics' keys, once each) that is no
    name, naming the first metric that has it ("metrics[3].name", log-metric's "name")."""
    for name in names:
        try:
            fields.check_name(name, "name", "Metric name")
        except MlflowError:
            i = next(i for i, metric in enumerate(metrics) if metric.key == name)
            fields.check_name(name, fields.json_path(field(i), "name"), "Metric name")


def _model_metric(metric: Metric) -> dict:
    """A logged model's metric, its step, timestamp and value converted (and so checked)."""
    kept = msgspec.structs.asdict(metric)
    (steps, timestamps, values), = metric_services.clean_points(
        [kept], by_name=True, timestamp_required=True).values()
    return {**kept, "step": steps[0], "timestamp": timestamps[0], "value": values[0]}
