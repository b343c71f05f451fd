"""The plumbing every MLflow endpoint shares: method, token, JSON in, JSON out, errors.

Plain Django views rather than DRF: a training loop calls log-batch dozens of
times a second, so each request does only what it must (one token lookup, one
JSON parse, one json.dumps; the logging calls less still, logging_calls.py).
"""

import functools
import json
import logging

import orjson
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from api.mlflow.authorization import authenticate
from api.mlflow.errors import (
    BAD_REQUEST,
    ENDPOINT_NOT_FOUND,
    INTERNAL_ERROR,
    UNAUTHENTICATED,
    MlflowError,
    database_unavailable,
    from_domain,
    invalid,
)
from tracker import database
from tracker.errors import TargetlineError
from tracker.validation import may_hold_unstorable_text, unstorable_text

logger = logging.getLogger("api.mlflow")


def json_response(data: dict, status: int = 200) -> HttpResponse:
    """The answer as compact JSON, with its length (json_text_response)."""
    return json_text_response(json.dumps(data, separators=(",", ":"), allow_nan=False),
                              status=status)


def json_text_response(text: str, status: int = 200) -> HttpResponse:
    """JSON already written as text, with its length: sent whole rather than chunked,
    although it skips the middleware that would add it (lane.py)."""
    response = HttpResponse(text, status=status, content_type="application/json")
    response["Content-Length"] = str(len(response.content))
    return response


def error_response(exc: MlflowError) -> HttpResponse:
    response = json_response(exc.as_dict(), status=exc.status)
    if exc.error_code == UNAUTHENTICATED:
        response["WWW-Authenticate"] = 'Bearer realm="targetline"'
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def is_json(request) -> bool:
    """Whether the request says its body is JSON."""
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower() == "application/json"


def json_body(request) -> bytes | None:
    """A POST's body, checked to be JSON by its content type; None when it is blank."""
    body = request.body
    if not body.strip():
        return None
    if not is_json(request):
        raise MlflowError("Bad Request. Content-Type must be 'application/json'.", BAD_REQUEST)
    return body


def json_object(body: bytes) -> dict:
    """A JSON body as a dict, in every dialect MLflow's clients write: bare NaN and Infinity
    (which orjson refuses), and the double-encoded bodies of old clients."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # bare NaN and Infinity, or a clearer error message
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid(f"the request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise invalid("the request body is not valid JSON: it is nested too deeply") from None
    if isinstance(data, str):  # old clients double-encode
        try:
            data = json.loads(data)
        except ValueError:
            data = None
    if not isinstance(data, dict):
        raise invalid("the request body must be a JSON object")
    if may_hold_unstorable_text(body):
        check_storable(data)
    return data


def check_storable(data) -> None:
    """Refuse text the database cannot store (NUL, lone surrogates), naming the field."""
    if found := unstorable_text(data):
        where, problem = found
        raise invalid(f"Invalid value for parameter '{where}': it {problem}")


def request_data(request) -> dict:
    """The request's fields: the JSON body of a POST, the query string of a GET."""
    if request.method == "GET":
        check_storable({key: values[0] if len(values) == 1 else values
                        for key, values in request.GET.lists()})
        return request.GET
    body = json_body(request)
    return {} if body is None else json_object(body)


def handle_errors(view):
    """Answer every failure in MLflow's error shape, never as HTML or a 5xx for bad input;
    503 TEMPORARILY_UNAVAILABLE while the database is away."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except MlflowError as exc:
            return error_response(exc)
        except TargetlineError as exc:
            return error_response(from_domain(exc))
        except Exception as exc:
            if database.unavailable(exc):
                logger.warning("MLflow endpoint %s: %s", request.path, exc)
                return error_response(database_unavailable())
            logger.exception("MLflow endpoint %s failed", request.path)
            return error_response(MlflowError(
                "internal server error; the server log has the details", INTERNAL_ERROR))
    return csrf_exempt(wrapper)


def mlflow_view(*methods: str):
    """An MLflow endpoint that reads its request itself: `view(request, ...) -> dict` (or a
    response), answered in MLflow's shapes; other methods are ENDPOINT_NOT_FOUND."""
    def decorate(view):
        @handle_errors
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                raise MlflowError(f"{request.method} is not supported on {request.path}; "
                                  f"use {' or '.join(methods)}", ENDPOINT_NOT_FOUND)
            result = view(request, *args, **kwargs)
            return result if isinstance(result, HttpResponse) else json_response(result)
        return wrapper
    return decorate


def endpoint(*methods: str):
    """An MLflow JSON endpoint: `view(request, user, data) -> dict`.

    The run (`run_id`) or experiment (`experiment_id`) the request names is read with the
    token's user (authorization.authenticate), for the view's run_for or experiment_for.
    The logging calls, which a lock authorises, are mlflow_views (logging_calls.py).
    """
    def decorate(view):
        @mlflow_view(*methods)
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                data = request_data(request)
            except MlflowError:  # a missing token is told before a bad body
                data = None
            names = {} if data is None else {
                "run_id": data.get("run_id") or data.get("run_uuid"),
                "experiment_id": data.get("experiment_id")}
            user = authenticate(request, **names)
            if data is None:
                data = request_data(request)
            return view(request, user, data, *args, **kwargs)
        return wrapper
    return decorate


@handle_errors
def not_found(request, rest: str = ""):
    """Every route the MLflow client may call that Targetline does not serve."""
    raise MlflowError(f"Targetline does not serve the MLflow endpoint {request.method} "
                      f"{request.path}", ENDPOINT_NOT_FOUND)
