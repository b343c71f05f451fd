"""MLflow's API calls, answered ahead of the rest of the request's handling.

A training script calls the MLflow API every few milliseconds and waits for each answer.
Those calls carry a token, never a session or a CSRF cookie, and answer JSON: the session,
CSRF, user, message and clickjacking middlewares have nothing to do for them. This
middleware, placed right after Django's security headers, hands them to their endpoint
directly. For the logging calls (log-batch, log-metric) it first tries their plain case
(batch.log_in_lock: the body, the token, one transaction), without the endpoint's wrappers;
a call the plain case does not take goes on to its endpoint, which answers it as always,
errors included: nothing was written.

What it saves is a fraction of a millisecond a call, but a real share of one the server
meets cold, after idling while the client worked (docs/benchmarks.md). The artifact proxy
(files, large and few) and gzipped bodies (the gzip middleware) take the usual way.
"""

from django.urls import resolve

from api.mlflow import batch, logging_calls
from api.mlflow.endpoint import handle_errors, json_response
from api.mlflow.errors import MlflowError
from api.mlflow.urls import API_PREFIXES
from tracker.errors import TargetlineError

PLAIN_CASES = {"runs/log-batch": batch.log_batch_first,
               "runs/log-metric": logging_calls.log_metric_first}

_MOUNTS = tuple(f"/{prefix}" for prefix in API_PREFIXES)
_BY_PATH = {f"/{prefix}{route}": plain_case
            for prefix in API_PREFIXES for route, plain_case in PLAIN_CASES.items()}


class MlflowLane:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(_MOUNTS) or request.META.get("HTTP_CONTENT_ENCODING"):
            return self.get_response(request)
        plain_case = _BY_PATH.get(path)
        if plain_case is not None and request.method == "POST":
            response = _answer(request, plain_case)
            if response is not None:
                return response
        # the MLflow routes end in a catch-all (ENDPOINT_NOT_FOUND): every path resolves
        match = resolve(path)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)


@handle_errors  # an unexpected failure is answered in MLflow's shape, as by the endpoint
def _answer(request, plain_case):
    try:
        result = plain_case(request)
    except (MlflowError, TargetlineError):  # the endpoint tells it, in its usual order
        return None
    return None if result is None else json_response(result)
