"""The logging calls of a training loop, answered ahead of the rest of the request's handling.

log-batch and log-metric come every few milliseconds from a script that waits for each
answer. Their plain case (batch.log_in_lock: the body, the token, one transaction) is
tried here, in a middleware placed right after Django's security headers: the session,
CSRF, user and message middlewares, URL resolution and the endpoint's wrappers are not
run for it. That is a fraction of a millisecond, but a real share of a call the server
meets cold, after idling while the client built its batch (docs/benchmarks.md).

A call the plain case does not take goes on as if this middleware were not there, and its
endpoint answers it as always, errors included: nothing was written.
"""

from api.mlflow import batch, views
from api.mlflow.endpoint import handle_errors, json_response
from api.mlflow.errors import MlflowError
from api.mlflow.urls import API_PREFIXES
from tracker.errors import TargetlineError

PLAIN_CASES = {"runs/log-batch": batch.log_batch_first,
               "runs/log-metric": views.log_metric_first}

_BY_PATH = {f"/{prefix}{route}": plain_case
            for prefix in API_PREFIXES for route, plain_case in PLAIN_CASES.items()}


class LoggingLane:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        plain_case = _BY_PATH.get(request.path_info)
        if (plain_case is not None and request.method == "POST"
                and not request.META.get("HTTP_CONTENT_ENCODING")):  # gzip: its middleware
            response = _answer(request, plain_case)
            if response is not None:
                return response
        return self.get_response(request)


@handle_errors  # an unexpected failure is answered in MLflow's shape, as by the endpoint
def _answer(request, plain_case):
    try:
        result = plain_case(request)
    except (MlflowError, TargetlineError):  # the endpoint tells it, in its usual order
        return None
    return None if result is None else json_response(result)
