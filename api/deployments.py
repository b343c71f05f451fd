"""Deployments (a run or registered model version live in an environment) and their live
results (metrics on labelled production cases, per time window)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView, ScopedView
from api.schema import results
from tracker.errors import InvalidInput
from tracker.models import Deployment, LiveResult
from tracker.selectors import deployments as deployment_selectors
from tracker.services import deployments as deployment_services

TAGS = ["Deployments and live results"]


class ModelRef(serializers.Serializer):
    """A registered model version of the project."""

    name = serializers.CharField()
    version = serializers.IntegerField(min_value=1)


NUMBERS = {"type": "object", "additionalProperties": {"type": "number"}}


@extend_schema_field({**NUMBERS, "description": 'metric name: finite number, e.g. '
                                                '{"f1": 0.83}'})
class MetricsField(serializers.JSONField):
    """Metrics handed to the service as sent: it names the metric of any mistake."""


@extend_schema_field({"type": "object", "additionalProperties": NUMBERS,
                      "description": 'slice: its metrics, e.g. {"long_texts": {"f1": 0.71}}'})
class SlicesField(serializers.JSONField):
    """Slices handed to the service as sent, for the same reason."""


@extend_schema_field({"type": "string", "format": "uuid", "nullable": True,
                      "description": "the id of a run of the project"})
class RunRefField(serializers.JSONField):
    """A run's id, checked by the service (a run of another project is no run here)."""


@extend_schema_field(ModelRef(allow_null=True))
class ModelRefField(serializers.JSONField):
    """A model version, checked by the service, which names the field of any mistake."""


class DeploymentOutput(serializers.Serializer):
    """A run or registered model version live in an environment from a start to an end."""

    id = serializers.IntegerField()
    project = serializers.CharField(help_text="the project's slug")
    environment = serializers.CharField()
    run = serializers.UUIDField(allow_null=True, help_text="the run deployed (a model "
                                "version's run); null once the run is purged")
    run_name = serializers.CharField()
    model = ModelRef(allow_null=True, help_text="the registered model version deployed; "
                     "null for a run deployed as such")
    what = serializers.CharField(help_text='what is deployed, in words: "topic-classifier '
                                 'version 3" or "run lr-c1"')
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    live = serializers.BooleanField(help_text="not ended yet")
    note = serializers.CharField()
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()


def deployment_data(deployment: Deployment) -> dict:
    run = deployment.run
    return {
        "id": deployment.pk,
        "project": deployment.project.slug,
        "environment": deployment.environment,
        "run": str(run.id) if run else None,
        "run_name": run.name if run else "",
        "model": ({"name": deployment.model_name, "version": deployment.model_version_number}
                  if deployment.model_name else None),
        "what": deployment.what,
        "started_at": deployment.started_at.isoformat(),
        "ended_at": deployment.ended_at.isoformat() if deployment.ended_at else None,
        "live": deployment.is_live,
        "note": deployment.note,
        "created_by": deployment.created_by.get_username() if deployment.created_by else "",
        "created_at": deployment.created_at.isoformat(),
    }


class DeploymentView(ScopedView):
    """A view under /deployments/{id}/: sets self.deployment, self.project and self.role."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.deployment, self.role = deployment_selectors.deployment_for_user(
            user=request.user, deployment_id=kwargs["deployment_id"])
        self.project = self.deployment.project
        self.check_write(request)


def _live_filter(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidInput(f"live must be true or false, not {value!r}", field="live")


class DeploymentListView(ProjectView):
    """The project's deployments, the latest start first: its timeline. `environment` keeps
    one environment's; `live=true` only those not ended (at most one per environment)."""

    @extend_schema(tags=TAGS, summary="List the deployments", parameters=[
        OpenApiParameter("environment", OpenApiTypes.STR, description="e.g. production"),
        OpenApiParameter("live", OpenApiTypes.BOOL, description="true: only those not ended; "
                         "false: only those ended")],
        responses=results("DeploymentList", DeploymentOutput))
    def get(self, request, slug):
        environment = request.query_params.get("environment")
        if environment is not None:
            deployment_services.check_environment(environment)
        deployments = deployment_selectors.project_deployments(
            project=self.project, environment=environment,
            live=_live_filter(request.query_params.get("live")))
        return Response({"results": [deployment_data(d) for d in deployments]})


class DeploymentCreateView(ProjectView):
    """Deploy a run (`run`) or a registered model version (`model`) to an environment
    (owners and members). The deployment live in that environment ends at this one's start,
    so one deployment is live per environment. Recorded in the audit log."""

    class Input(serializers.Serializer):
        run = RunRefField(required=False, default=None)
        model = ModelRefField(required=False, default=None,
                              help_text='a registered model version of the project: '
                              '{"name": "topic-classifier", "version": 3}')
        environment = serializers.CharField(
            help_text="production, shadow, canary or a short name of yours (lower-case "
                      "letters and digits joined by - or _)")
        started_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                               help_text="default: now")
        note = serializers.CharField(required=False, allow_blank=True, default="",
                                     max_length=10_000)

    @extend_schema(tags=TAGS, summary="Deploy a run or model version", request=Input,
                   responses={201: DeploymentOutput})
    def post(self, request, slug):
        data = self.validated(self.Input)
        deployment = deployment_services.start_deployment(
            project=self.project, user=request.user, environment=data["environment"],
            run_id=data["run"], model=data["model"], started_at=data["started_at"],
            note=data["note"], address=self.address)
        return Response(deployment_data(deployment), status=status.HTTP_201_CREATED)


class DeploymentDetailView(DeploymentView):
    """One deployment: what, where, since when and until when."""

    @extend_schema(tags=TAGS, summary="Read a deployment", responses=DeploymentOutput)
    def get(self, request, deployment_id):
        return Response(deployment_data(self.deployment))


class DeploymentEndView(DeploymentView):
    """End a live deployment (owners and members; recorded in the audit log). Ending one
    already ended is a 409 saying when it ended."""

    class Input(serializers.Serializer):
        ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                             help_text="default: now; not before the start")

    @extend_schema(tags=TAGS, summary="End a deployment", request=Input,
                   responses=DeploymentOutput)
    def post(self, request, deployment_id):
        data = self.validated(self.Input)
        deployment = deployment_services.end_deployment(
            deployment=self.deployment, user=request.user, ended_at=data["ended_at"],
            address=self.address)
        return Response(deployment_data(deployment))


class LiveResultOutput(serializers.Serializer):
    """The deployment's metrics on the labelled production cases of one window."""

    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    metrics = serializers.DictField(child=serializers.FloatField(),
                                    help_text='metric name: value, e.g. {"f1": 0.83}')
    count = serializers.IntegerField(help_text="production cases in the window")
    labelled = serializers.IntegerField(help_text="of them, with a known answer: the "
                                        "metrics are measured on these")
    slices = serializers.DictField(child=serializers.DictField(
        child=serializers.FloatField()), help_text='slice: its metrics, e.g. '
        '{"long_texts": {"f1": 0.71}}')
    updated_at = serializers.DateTimeField(help_text="when this window was last posted")


def live_result_data(result: LiveResult) -> dict:
    return {"window_start": result.window_start.isoformat(),
            "window_end": result.window_end.isoformat(), "metrics": result.metrics,
            "count": result.count, "labelled": result.labelled, "slices": result.slices,
            "updated_at": result.updated_at.isoformat()}


class LiveResultListView(DeploymentView):
    """The deployment's live results, one per window, oldest window first."""

    @extend_schema(tags=TAGS, summary="List a deployment's live results",
                   responses=results("LiveResultList", LiveResultOutput))
    def get(self, request, deployment_id):
        found = deployment_selectors.live_results(deployment=self.deployment)
        return Response({"results": [live_result_data(r) for r in found]})


class LiveResultRecordView(DeploymentView):
    """Record the deployment's live results of one window (owners and members): its
    metrics on the labelled production cases, the counts, and per slice. The same window
    posted again replaces the first: 201 for a new window, 200 for one replaced."""

    class Input(serializers.Serializer):
        window_start = serializers.DateTimeField()
        window_end = serializers.DateTimeField(help_text="after window_start")
        metrics = MetricsField()
        count = serializers.IntegerField(min_value=0, max_value=2**63 - 1,
                                         help_text="production cases in the window")
        labelled = serializers.IntegerField(min_value=0, max_value=2**63 - 1,
                                            help_text="of them, with a known answer (at most "
                                            "count): the metrics are measured on these")
        slices = SlicesField(required=False, default=None)

    @extend_schema(tags=TAGS, summary="Record a window's live results", request=Input,
                   responses={201: OpenApiResponse(LiveResultOutput, description="A new window"),
                              200: OpenApiResponse(LiveResultOutput,
                                                   description="The window replaced")})
    def post(self, request, deployment_id):
        data = self.validated(self.Input)
        result, created = deployment_services.record_live_result(
            deployment=self.deployment, **data)
        return Response(live_result_data(result),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
