"""The fields each MLflow call requires and their types, checked as `mlflow server` checks them
(mlflow/server/handlers.py) and before anything else, with its messages.

`mlflow server` reads a request against a schema per call before it looks anything up: a
`run_id` that is a number is "Invalid value 31 for parameter 'run_id' supplied", not an
unknown run. Targetline does the same, from the same schemas (checked), so its answers to
malformed calls are MLflow's (tests/mlflow/test_parity.py replays a recording of
mlflow server's answers). Only the token's error comes first, then, as with mlflow server's
auth app, that of the run or experiment the call names (unknown to the user, or not theirs
to change).

Bodies are decoded with every field of the schema kept raw (msgspec.Raw); only a field that
is not what it should be is read further, to be quoted in the message. The logging calls
(log-batch and its batches of one) are not decoded here at all: their endpoint decodes the
body once and checks its fields with check_decoded.
"""

import functools
import json

import msgspec
from django.views.decorators.csrf import csrf_exempt

from api.mlflow import authorization
from api.mlflow.authorization import authenticate
from api.mlflow.endpoint import error_response, is_json
from api.mlflow.errors import MlflowError, invalid
from api.mlflow.fields import DOCS, not_a

# The checks of mlflow's handlers: (name, test). A value passes what int() or float() takes,
# as there ("12", 1.5 and true are intlike). A test that raises (int("x"), int([])) fails:
# mlflow server answers the latter with a 500; here it is the same 400 as the former.
STRING = ("string", lambda value: isinstance(value, str))
INTLIKE = ("intlike", lambda value: isinstance(int(value), int))
FLOATLIKE = ("floatlike", lambda value: isinstance(float(value), float))
# An enum: protobuf reads any name ("ACTIVE_ONLY", and one it does not know as absent), so
# mlflow server's intlike check, run only when protobuf could not read the body, never sees
# a string.
VIEW_TYPE = ("view type", lambda value: isinstance(value, str) or isinstance(int(value), int))
ARRAY = ("array", lambda value: isinstance(value, list))
STRING_ITEMS = ("string items", lambda value: all(isinstance(item, str) for item in value))
REQUIRED = ("required", None)


def at_most(limit: int):
    return (f"at most {limit}", lambda value: int(value) <= limit)


_RUN = {"run_id": (REQUIRED, STRING)}
_EXPERIMENT = {"experiment_id": (REQUIRED, STRING)}
_KEY_VALUE = {**_RUN, "key": (REQUIRED, STRING), "value": (STRING,)}
_SEARCH = {"filter": (STRING,), "order_by": (ARRAY, STRING_ITEMS), "page_token": (STRING,)}

# route -> (method, {field: checks}), as mlflow/server/handlers.py has them.
SCHEMAS = {
    "experiments/create": ("POST", {"name": (REQUIRED, STRING), "artifact_location": (STRING,),
                                    "tags": (ARRAY,)}),
    "experiments/get": ("GET", _EXPERIMENT),
    "experiments/get-by-name": ("GET", {"experiment_name": (REQUIRED, STRING)}),
    "experiments/delete": ("POST", _EXPERIMENT),
    "experiments/restore": ("POST", _EXPERIMENT),
    "experiments/update": ("POST", {**_EXPERIMENT, "new_name": (STRING, REQUIRED)}),
    "experiments/set-experiment-tag": ("POST", {**_EXPERIMENT, "key": (REQUIRED, STRING),
                                                "value": (STRING,)}),
    "experiments/delete-experiment-tag": ("POST", {**_EXPERIMENT, "key": (REQUIRED, STRING)}),
    "experiments/search": ("POST", {"view_type": (VIEW_TYPE,), "max_results": (INTLIKE,),
                                    **_SEARCH}),
    "runs/create": ("POST", {"experiment_id": (STRING,), "start_time": (INTLIKE,),
                             "run_name": (STRING,)}),
    "runs/update": ("POST", {**_RUN, "end_time": (INTLIKE,), "status": (STRING,),
                             "run_name": (STRING,)}),
    "runs/get": ("GET", _RUN),
    "runs/delete": ("POST", _RUN),
    "runs/restore": ("POST", _RUN),
    "runs/log-metric": ("POST", {**_RUN, "key": (REQUIRED, STRING),
                                 "value": (REQUIRED, FLOATLIKE),
                                 "timestamp": (INTLIKE, REQUIRED), "step": (INTLIKE,),
                                 "model_id": (STRING,), "dataset_name": (STRING,),
                                 "dataset_digest": (STRING,)}),
    "runs/log-parameter": ("POST", _KEY_VALUE),
    "runs/set-tag": ("POST", _KEY_VALUE),
    "runs/delete-tag": ("POST", {**_RUN, "key": (REQUIRED, STRING)}),
    "runs/log-batch": ("POST", {"run_id": (STRING, REQUIRED), "metrics": (ARRAY,),
                                "params": (ARRAY,), "tags": (ARRAY,)}),
    "runs/log-inputs": ("POST", {**_RUN, "datasets": (ARRAY,), "models": (ARRAY,)}),
    "runs/search": ("POST", {"experiment_ids": (ARRAY,), "max_results": (INTLIKE, at_most(50000)),
                             **_SEARCH}),
    "metrics/get-history": ("GET", {"run_id": (STRING, REQUIRED),
                                    "metric_key": (STRING, REQUIRED), "page_token": (STRING,)}),
    "artifacts/list": ("GET", {"run_id": (STRING, REQUIRED), "path": (STRING,),
                               "page_token": (STRING,)}),
    "registered-models/create": ("POST", {"name": (STRING, REQUIRED), "tags": (ARRAY,),
                                          "description": (STRING,)}),
    "registered-models/get": ("GET", {"name": (STRING, REQUIRED)}),
    "registered-models/search": ("GET", {"filter": (STRING,),
                                         "max_results": (INTLIKE, at_most(1000)),
                                         "order_by": (ARRAY, STRING_ITEMS),
                                         "page_token": (STRING,)}),
    "model-versions/create": ("POST", {"name": (STRING, REQUIRED), "source": (STRING, REQUIRED),
                                       "run_id": (STRING,), "tags": (ARRAY,),
                                       "run_link": (STRING,), "description": (STRING,),
                                       "model_id": (STRING,)}),
    "model-versions/get": ("GET", {"name": (STRING, REQUIRED), "version": (STRING, REQUIRED)}),
}


def missing(field: str) -> MlflowError:
    """mlflow server's error for a required field that is absent or empty."""
    return invalid(f"Missing value for required parameter '{field}'.{DOCS}")


def _check_field(field: str, value, checks) -> None:
    for name, test in checks:
        if name == "required":
            if value is None or value == "":
                raise missing(field)
            continue
        if value is None:  # null reads as absent, as protobuf reads it
            continue
        try:
            passed = test(value)
        except (TypeError, ValueError, OverflowError):
            passed = False
        if not passed:
            raise not_a(field, value)


_ABSENT = msgspec.Raw(b"")
_NULL = msgspec.Raw(b"null")
_DECODERS: dict[str, msgspec.json.Decoder] = {}


def _raw_fields(route: str, schema: dict, body: bytes) -> dict | None:
    """The schema's fields of a JSON body, each raw (msgspec.Raw), or None when the body is
    no JSON object (the view says so)."""
    decoder = _DECODERS.get(route)
    if decoder is None:
        struct = msgspec.defstruct("Body", [(name, msgspec.Raw, _ABSENT)
                                            for name in [*schema, "run_uuid"]])
        decoder = _DECODERS[route] = msgspec.json.Decoder(struct)
    try:
        decoded = decoder.decode(body)
    except (msgspec.MsgspecError, RecursionError):  # too deep: the view refuses it
        return None
    return {name: None if raw == _NULL else raw for name in [*schema, "run_uuid"]
            if (raw := getattr(decoded, name)) is not _ABSENT}


def _is_list(raw: msgspec.Raw) -> bool:
    return memoryview(raw)[:1].tobytes() == b"["


def check(route: str, request) -> None:
    """mlflow server's error for the request's fields, if any."""
    method, schema = SCHEMAS[route]
    if request.method != method:
        return
    if method == "GET":
        data = {field: request.GET.getlist(field) if ARRAY in checks else request.GET.get(field)
                for field, checks in schema.items() if field in request.GET}
        if "run_uuid" in request.GET:
            data["run_uuid"] = request.GET["run_uuid"]
        raw = False
    else:
        body = request.body
        if not body.strip():
            data, raw = {}, False
        elif not is_json(request) or (data := _raw_fields(route, schema, body)) is None:
            return  # the view tells what is wrong with the body
        else:
            raw = True
    _check_values(schema, data, raw=raw)


def check_decoded(route: str, request, data) -> None:
    """mlflow server's error for the fields of a body its endpoint has decoded already
    (`data`: a dict, or a struct whose attributes are the fields), after the token's and
    the run's error, if any. The logging calls (READ_BY_THEIR_ENDPOINT) are checked so:
    their bodies, a thousand metrics each, are read once."""
    _, schema = SCHEMAS[route]
    if not isinstance(data, dict):
        data = {name: value for name in (*schema, "run_uuid")
                if (value := getattr(data, name, None)) is not None}
    try:
        _check_values(schema, data, raw=False)
    except MlflowError:
        _check_access(route, request)
        raise


def _check_values(schema: dict, data: dict, *, raw: bool) -> None:
    for field, checks in schema.items():
        if field not in data and REQUIRED not in checks:
            continue
        value = data.get(field)
        if field == "run_id" and value is None:
            value = data.get("run_uuid")
        if raw and value is not None:
            if ARRAY in checks and STRING_ITEMS not in checks and _is_list(value):
                continue  # a list: its items are the view's to read
            try:
                value = msgspec.json.decode(value)
            except RecursionError:
                return  # nested too deeply to quote: the view refuses the body
        _check_field(field, value, checks)


# The calls whose endpoint decodes the body and checks it with check_decoded (batch.read).
READ_BY_THEIR_ENDPOINT = frozenset({"runs/log-batch", "runs/log-metric", "runs/log-parameter",
                                    "runs/set-tag"})


def checked(route: str, view):
    """`view`, answering first mlflow server's error for a request whose fields are not of
    their types, or lack a required one (after the token's and the run's error, if any)."""
    if route not in SCHEMAS or route in READ_BY_THEIR_ENDPOINT:
        return view

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            check(route, request)
        except MlflowError as error:
            try:
                _check_access(route, request)
            except MlflowError as access_error:
                return error_response(access_error)
            return error_response(error)
        return view(request, *args, **kwargs)
    return csrf_exempt(wrapper)


_READS = {"runs/search", "experiments/search"}


def _check_access(route: str, request) -> None:
    """The error that comes before a malformed request's, as with mlflow server's auth app:
    the token's, then the run's or experiment's it names (unknown, or not the user's to
    change), when it names one by a string."""
    if request.method == "GET":
        data = request.GET
    else:
        try:
            data = json.loads(request.body)
        except ValueError:
            data = {}
    data = data if hasattr(data, "get") else {}
    run_id = data.get("run_id") or data.get("run_uuid")
    experiment_id = data.get("experiment_id")
    user = authenticate(request)
    write = request.method != "GET" and route not in _READS
    if isinstance(run_id, str) and run_id:
        authorization.run_for(user, run_id, write=write, allow_deleted=True, related=False)
    elif isinstance(experiment_id, str) and experiment_id.isdigit():
        authorization.experiment_for(user, experiment_id, write=write)
