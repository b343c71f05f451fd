"""What operators probe and scrape: GET /healthz, /readyz and /metrics (docs/operations.md).

- /healthz: the process answers. It touches nothing else, so a database outage never gets
  a healthy web process restarted.
- /readyz: the database, the broker and the artifact storage, each named with its state
  and what was seen (reports.health); 503 with Retry-After while one of them is down.
- /metrics: Prometheus' text format. The counters each process keeps (request latency
  here, points and runs in tracker.telemetry), added up over gunicorn's workers when
  PROMETHEUS_MULTIPROC_DIR is set (config/gunicorn.py sets it), and the figures read at
  scrape time (reports.telemetry). With METRICS_TOKEN set, only `Authorization: Bearer
  <METRICS_TOKEN>` is answered.

None of them needs a session or an API token, none is throttled, and none is in the API
schema: they are for machines inside the deployment, not for API clients.
"""

import hmac
import os
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from reports import health, telemetry

# How long a load balancer should wait before asking /readyz again after a 503.
READY_RETRY_AFTER = 5  # seconds
NO_STORE = {"Cache-Control": "no-store"}

REQUEST_LATENCY = Histogram(
    "targetline_http_request_duration_seconds",
    "Time from a request's arrival to its answer (the first byte of a streamed one), "
    "by route (the URL pattern, not the path), method and status class.",
    ["route", "method", "status"])
# Methods outside these are counted as "other": a label's values stay few.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestLatencyMiddleware:
    """Times every request, first in the chain so that MLflow's lane and static files are
    timed too. The route label is the URL pattern that answered (`api/v1/runs/<str:run_id>/`),
    `static` for static files and `unmatched` for an address no pattern matches, so the
    number of series stays bounded whatever paths clients send."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None:
            route = match.route
        elif request.path_info.startswith(settings.STATIC_URL):
            route = "static"
        else:
            route = "unmatched"
        method = request.method if request.method in _METHODS else "other"
        REQUEST_LATENCY.labels(route, method, f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
        return response


@csrf_exempt
@require_safe
def healthz(request):
    """The process is alive and answers: nothing else is looked at."""
    return JsonResponse({"status": "ok"}, headers=NO_STORE)


@csrf_exempt
@require_safe
def readyz(request):
    """200 when the database, the broker and the artifact storage all work; else 503."""
    checks = health.readiness()
    ready = all(check.up for check in checks)
    body = {"status": "ok" if ready else "unavailable",
            "checks": {check.name: {"state": "up" if check.up else "down",
                                    "detail": check.detail} for check in checks}}
    headers = dict(NO_STORE)
    if not ready:
        headers["Retry-After"] = str(READY_RETRY_AFTER)
    return JsonResponse(body, status=200 if ready else 503, headers=headers)


def _token_matches(request, token: str) -> bool:
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    # compare_digest takes as long whatever the first differing byte: no timing hint
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def _registry() -> CollectorRegistry:
    """This scrape's figures: the processes' counters and the scrape-time collectors."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # every worker's files, live or gone, added up
    else:
        registry.register(REGISTRY)  # this one process's counters and its own figures
    for collector in telemetry.COLLECTORS:
        registry.register(collector)
    return registry


@csrf_exempt
@require_safe
def metrics(request):
    """Prometheus' exposition, in the format the scraper asks for (text or OpenMetrics)."""
    token = settings.METRICS_TOKEN
    if token and not _token_matches(request, token):
        return JsonResponse(
            {"error": "send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`",
             "field": None},
            status=401, headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="metrics"'})
    encoder, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
    return HttpResponse(encoder(_registry()), content_type=content_type, headers=NO_STORE)
