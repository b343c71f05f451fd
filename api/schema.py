"""How the v1 API describes itself: the generator of its OpenAPI schema.

Each operation is listed once: a route's trailing-slash twin and the catch-all route are
left out, and each operation is named after its view (`RunCreateView` -> `run_create`).
"""

import re

from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.settings import patched_settings
from drf_spectacular.utils import OpenApiParameter, extend_schema_field, inline_serializer
from rest_framework import serializers

from api.errors import ErrorOutput

# The groups of the docs page, in the order it shows them; every operation names one.
TAGS = [
    {"name": "Projects", "description": "A business problem with one agreed target."},
    {"name": "Target and guardrails",
     "description": "The one metric a project is judged on, the conditions a winner must "
                    "also meet, and every change made to them."},
    {"name": "Members", "description": "Who may read a project (viewers), log runs "
                                       "(members) and change it (owners)."},
    {"name": "Invitations", "description": "Emailed, single-use links that make a person a "
                                           "member with a role (owners)."},
    {"name": "Experiments", "description": "Named lines of work in a project."},
    {"name": "Runs", "description": "One execution of a training script: start, search, "
                                    "change, finish and delete."},
    {"name": "Metrics", "description": "Log points, params and tags; read a run's "
                                       "summaries and histories."},
    {"name": "Artifacts", "description": "Files kept with a run."},
    {"name": "Winner and leaderboard",
     "description": "Where the project stands against its target: chosen on the selection "
                    "split, quoted on the judged split."},
    {"name": "Registered models", "description": "Models registered with the MLflow client."},
    {"name": "Deployments and live results",
     "description": "What is live in production (or shadow, canary...) since when, and its "
                    "metrics measured on labelled production cases per time window."},
    {"name": "Profiles and drift",
     "description": "The distribution of a run's inputs (its reference profile) and of a "
                    "deployment's per window, and how far each window has drifted (PSI)."},
    {"name": "Production and business impact",
     "description": "Is the deployed model still above the agreed bar (and drifting)? And "
                    "did it move the business: A/B tests and backtests with their 95 % "
                    "intervals."},
    {"name": "Check-ins", "description": "When a project's report is sent, and to whom."},
    {"name": "Reports", "description": "The report archive: each check-in's verdict, HTML "
                                       "and PDF, and its delivery to each recipient."},
    {"name": "Webhooks", "description": "Reports and alerts posted to Slack, Microsoft Teams "
                                        "or any URL, and each webhook's delivery log "
                                        "(owners only)."},
    {"name": "Trash", "description": "Deleted projects and runs, restorable by owners for "
                                     "TRASH_DAYS (30 by default), then purged."},
    {"name": "Audit log", "description": "Who deleted, restored or changed permissions, "
                                         "when, and from which address."},
]

NON_FINITE = ["NaN", "Infinity", "-Infinity"]

ERRORS = ("An error, with the field it concerns: 400 invalid input, 401 no valid token, "
          "403 your role may not do this, 404 not found (or not yours to see), "
          "409 conflict, 413 too large, 429 too many failed token checks, 503 the database "
          "is unavailable for a moment (for both: wait the seconds of Retry-After).")


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "enum": NON_FINITE}],
                      "description": 'a number, or "NaN", "Infinity", "-Infinity"'})
class MetricValue(serializers.FloatField):
    """A metric's value. JSON has no NaN or infinity: the API writes them as strings."""


class FieldWarning(serializers.Serializer):
    """Accepted, but worth a look: what the warning concerns and why."""

    field = serializers.CharField(help_text="the input it concerns, as errors name it, e.g. "
                                  "target.metric or guardrails[0].split")
    message = serializers.CharField()


DEFAULT_PAGE = 50
MAX_PAGE = 200
# The query of a list read a page at a time, newest first (OperationView.page_query).
PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description=f"default {DEFAULT_PAGE}, at most {MAX_PAGE}"),
    OpenApiParameter("before", int, description="the `next` of the previous page")]


def results(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """The answer of a list: `{"results": [item, ...]}`."""
    return inline_serializer(name, {"results": item(many=True)})


def page_of(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """The answer of a list read a page at a time (PAGE_PARAMETERS):
    `{"results": [item, ...], "next": id or null}`."""
    return inline_serializer(name, {"results": item(many=True), "next": serializers.IntegerField(
        allow_null=True, help_text="`before` for the next page, or null")})


class OperationSchema(AutoSchema):
    """Names operations after their views and adds the error answer every operation has."""

    def get_operation_id(self) -> str:
        name = type(self.view).__name__.removesuffix("View")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

    def get_serializer_name(self, serializer, direction) -> str:
        # A serializer nested in a view is named after it: RunCreateView.Input -> RunCreateInput.
        name = type(serializer).__qualname__.replace("View.", "")
        return name.removesuffix("Output") or name

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            error = self.resolve_serializer(ErrorOutput, "response")
            operation["responses"]["default"] = {
                "description": ERRORS, "content": {"application/json": {"schema": error.ref}}}
        return operation


class OperationEnumerator(EndpointEnumerator):
    """Lists the operations of each route (api/routes.py) at its documented URL only."""

    def should_include_endpoint(self, path, callback):
        if hasattr(callback, "operations"):
            return callback.documented
        return super().should_include_endpoint(path, callback)

    def get_allowed_methods(self, callback):
        if hasattr(callback, "operations"):
            return list(callback.operations)
        return super().get_allowed_methods(callback)


class OperationSchemaGenerator(SchemaGenerator):
    """Describes each method of a route with the view that answers it."""

    endpoint_inspector_cls = OperationEnumerator
    # Here rather than in settings.py, so that the schema is the same whoever builds it.
    settings = {
        "TAGS": TAGS,
        "SORT_OPERATIONS": False,  # in the order of api/urls.py, grouped by resource
        # Several fields are named "status"; each set of choices gets a name of its own.
        "ENUM_NAME_OVERRIDES": {"RunStatusEnum": "api.runs.RUN_STATUSES",
                                "RoleEnum": "tracker.models.Role",
                                "ProjectRoleEnum": "api.projects.PROJECT_ROLES",
                                "WebhookKindEnum": "api.webhooks.WEBHOOK_KINDS",
                                "ImpactKindEnum": "tracker.impact.KINDS",
                                "WebhookEventEnum": "api.webhooks.WEBHOOK_EVENTS",
                                "WebhookStatusEnum": "api.webhooks.WEBHOOK_STATUSES",
                                "WebhookAttemptOutcomeEnum":
                                    "api.webhooks.ATTEMPT_OUTCOME_VALUES"},
    }

    def get_schema(self, request=None, public=False):
        with patched_settings(self.settings):
            return super().get_schema(request=request, public=public)

    def create_view(self, callback, method, request=None):
        view = getattr(callback, "operations", {}).get(method, callback)
        return super().create_view(view, method, request)
