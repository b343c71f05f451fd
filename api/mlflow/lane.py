"""MLflow's API calls, handed to their endpoint ahead of the rest of the request's handling.

A training script calls the MLflow API every few milliseconds and waits for each answer.
Those calls carry a token, never a session or a CSRF cookie, and answer JSON: the session,
CSRF, user, message and clickjacking middlewares have nothing to do for them. This
middleware, placed right after Django's security headers, hands every one of them to its
endpoint (urls.py), which answers it whole: a logging call's only path is its endpoint
(logging_calls.py). The routes without a parameter are looked up once per path.

What it saves is a fraction of a millisecond a call, but a real share of one the server
meets cold, after idling while the client worked (docs/benchmarks.md). The artifact proxy
(files, large and few) and gzipped bodies (the gzip middleware) take the usual way, to the
same endpoints.
"""

import functools

from django.urls import ResolverMatch, resolve

from api.mlflow.urls import API_PREFIXES, OPERATIONS

_MOUNTS = tuple(f"/{prefix}" for prefix in API_PREFIXES)
_OPERATION_PATHS = frozenset(f"/{prefix}{route}" for prefix in API_PREFIXES
                             for route in OPERATIONS)


@functools.cache
def _operation(path: str) -> ResolverMatch:
    """The route of one of MLflow's operations (a path of _OPERATION_PATHS)."""
    return resolve(path)


class MlflowLane:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(_MOUNTS) or request.META.get("HTTP_CONTENT_ENCODING"):
            return self.get_response(request)
        # the MLflow routes end in a catch-all (ENDPOINT_NOT_FOUND): every path resolves
        match = _operation(path) if path in _OPERATION_PATHS else resolve(path)
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)
