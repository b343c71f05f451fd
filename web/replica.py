"""Pages read from the replica when one is configured (settings.DATABASE_REPLICA_URL).

A GET or HEAD of a web page (the `web` namespace: dashboard, runs table, compare, run and
settings pages) reads through tracker.replica.replica_reads(), except for a browser that
wrote something in the last DATABASE_REPLICA_PIN_SECONDS: any POST (a saved setting, a
sign-in) sets a short-lived cookie that keeps its pages on the primary, so the page shown
after a change shows the change even while the replica trails. The API, the MLflow
endpoints and the probes always use the primary: clients read back what they just logged.
"""

from django.conf import settings
from django.urls import Resolver404, resolve

from tracker.replica import replica_reads

PIN_COOKIE = "tl_primary"
_READS = frozenset({"GET", "HEAD"})


class ReplicaReadsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._may_read_replica(request):
            with replica_reads():
                return self.get_response(request)
        response = self.get_response(request)
        if request.method not in _READS:
            response.set_cookie(PIN_COOKIE, "1", max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                                httponly=True, samesite="Lax",
                                secure=settings.SESSION_COOKIE_SECURE)
        return response

    @staticmethod
    def _may_read_replica(request) -> bool:
        if request.method not in _READS or PIN_COOKIE in request.COOKIES:
            return False
        try:
            return resolve(request.path_info).namespace == "web"
        except Resolver404:
            return False
