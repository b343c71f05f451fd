"""One exception handler: every error is `{"error": "...", "field": "..."}` with a 4xx status,
or 503 while the database is away."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from tracker import database
from tracker.errors import TargetlineError

logger = logging.getLogger("api")


class ErrorOutput(serializers.Serializer):
    """What went wrong, in a sentence that says what to do about it."""

    error = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="the input it concerns, as a "
                                  "dotted path such as target.threshold or metrics[2].split")
    position = serializers.IntegerField(required=False, help_text="filter and order_by: "
                                        "where in the text the problem starts")
    similar = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text="a project not found, or not created unasked: your projects whose slug "
        "the one sent may be a typo of, closest first")


def _first_error(detail, prefix: str = ""):
    """The first (field, message) of a DRF ValidationError detail, with a dotted field path."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            path = f"{prefix}.{field}" if prefix and field else (field or prefix)
            return _first_error(value, path)
    if isinstance(detail, list) and detail:
        for i, item in enumerate(detail):
            if item:
                if isinstance(item, dict):
                    return _first_error(item, f"{prefix}[{i}]")
                return _first_error(item, prefix)
    return prefix or None, str(detail)


def exception_handler(exc, context):
    if isinstance(exc, TargetlineError):
        return Response({"error": exc.message, "field": exc.field, **exc.extra},
                        status=exc.status)
    if isinstance(exc, Http404):
        return Response({"error": str(exc) or "not found", "field": None}, status=404)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        text = f"{field}: {message}" if field else message
        return Response({"error": text, "field": field}, status=400)
    if isinstance(exc, exceptions.NotAuthenticated):
        response = Response(
            {"error": "authentication required: send the header Authorization: Bearer <token>",
             "field": None}, status=401)
    elif isinstance(exc, exceptions.APIException):
        response = Response({"error": str(exc.detail), "field": None}, status=exc.status_code)
    elif database.unavailable(exc):
        logger.warning("%s %s: %s", context["request"].method, context["request"].path, exc)
        return database_unavailable()
    else:
        return None
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        response["Retry-After"] = str(int(exc.wait))
    return response


def database_unavailable() -> JsonResponse:
    """503 with Retry-After: the database is away for a moment (tracker.database). Also
    config/urls.py's answer for a v1 request that failed outside its view."""
    response = JsonResponse({"error": database.message(), "field": None}, status=503)
    response["Retry-After"] = str(database.retry_after())
    return response
