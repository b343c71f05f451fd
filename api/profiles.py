"""Input profiles and drift: a run's reference profile of its inputs, a deployment's live
profile per window, the reference it is compared with, and the drift per window.

One JSON shape for every profile (docs/production.md#the-profile): {"count", "features":
{name: {"kind": "numeric", "edges", "counts"} | {"kind": "categorical", "counts"}}}. The
services check it and name the path of any mistake ("features.length.edges").
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import RunView
from api.deployments import DeploymentView
from api.production import FeatureDriftOutput, PredictionsOutput, predictions_data
from api.schema import results
from tracker.errors import InvalidInput, LimitExceeded, NotFound, TargetlineError
from tracker.models import Deployment, LiveProfile, Run, RunProfile
from tracker.selectors import production as production_selectors
from tracker.services import production as production_services

TAGS = ["Profiles and drift"]

COUNT = {"type": "integer", "minimum": 0}
HISTOGRAM = {
    "type": "object", "required": ["kind", "counts"],
    "description": 'numeric: {"kind": "numeric", "edges": [n + 1 finite, increasing '
                   'numbers], "counts": [n counts]} (values outside the edges counted in the '
                   'first or last bin); categorical: {"kind": "categorical", "counts": '
                   '{category: count}} (rare ones under "other"); optional "missing": the '
                   'cases without a value, left out of the counts',
    "properties": {
        "kind": {"type": "string", "enum": ["numeric", "categorical"]},
        "edges": {"type": "array", "items": {"type": "number"}, "minItems": 2},
        "counts": {"oneOf": [{"type": "array", "items": COUNT},
                             {"type": "object", "additionalProperties": COUNT}]},
        "missing": COUNT,
    },
}
PROFILE = {
    "type": "object", "required": ["count", "features"],
    "properties": {"count": {**COUNT, "description": "the cases profiled"},
                   "features": {"type": "object", "additionalProperties": HISTOGRAM,
                                "description": 'feature name: its histogram; "prediction" '
                                               'holds the model\'s predictions'}},
}


@extend_schema_field(PROFILE)
class ProfileField(serializers.JSONField):
    """A profile handed to the service as sent: it names the path of any mistake."""


def _no_reference(deployment: Deployment) -> NotFound:
    """Why the deployment has no reference profile, in words."""
    if deployment.run is None:
        return NotFound(f"deployment {deployment.pk} has no run any more (it was purged), so "
                        "no reference profile", field="reference")
    return NotFound(f"run {deployment.run.name or deployment.run.id} (deployed by deployment "
                    f"{deployment.pk}) logged no reference profile: log one with "
                    f"run.log_profile(X_train) or POST /api/v1/runs/{deployment.run.id}/"
                    "profile", field="reference")


def _in_profile(exc: TargetlineError) -> TargetlineError:
    """A mistake inside the posted profile, named from the body's top: the service names
    "features.length.edges", the body holds it under "profile"."""
    if exc.field in (None, "profile", "window_end"):
        return exc
    message = f"profile.{exc.message}" if exc.message.startswith(exc.field) else exc.message
    return type(exc)(message, field=f"profile.{exc.field}")


# --- a run's reference profile -----------------------------------------------------------


class RunProfileOutput(serializers.Serializer):
    """The distribution of the inputs a run was trained on."""

    run = serializers.UUIDField()
    run_name = serializers.CharField()
    profile = ProfileField()
    updated_at = serializers.DateTimeField(help_text="when it was last posted")


def run_profile_data(run: Run, stored: RunProfile) -> dict:
    return {"run": str(run.id), "run_name": run.name, "profile": stored.profile,
            "updated_at": stored.updated_at.isoformat()}


class RunProfileView(RunView):
    """The run's reference profile: what its deployments' live profiles are compared with.
    404 when it logged none."""

    @extend_schema(tags=TAGS, summary="Read a run's reference profile",
                   responses=RunProfileOutput)
    def get(self, request, run_id):
        stored = RunProfile.objects.filter(run=self.run).first()
        if stored is None:
            raise NotFound(f"run {self.run.name or self.run.id} logged no reference profile: "
                           "log one with run.log_profile(X_train) or POST it here",
                           field="profile")
        return Response(run_profile_data(self.run, stored))


class RunProfileRecordView(RunView):
    """Record the run's reference profile (owners and members, as its points): the profile
    itself, or wrapped as the read answers it (`{"profile": {...}}`). Posting again replaces
    it: 201 the first time, 200 after. A deleted run takes none (409)."""

    @extend_schema(tags=TAGS, summary="Record a run's reference profile",
                   request={"application/json": PROFILE},
                   responses={201: OpenApiResponse(RunProfileOutput, description="Recorded"),
                              200: OpenApiResponse(RunProfileOutput,
                                                   description="The earlier one replaced")})
    def post(self, request, run_id):
        stored, created = production_services.record_run_profile(
            run=self.run, profile=self.unwrapped("profile"))
        return Response(run_profile_data(self.run, stored),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- a deployment's live profiles, reference and drift -----------------------------------


class LiveProfileOutput(serializers.Serializer):
    """The distribution of a deployment's inputs (and predictions) over one window."""

    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    profile = ProfileField()
    updated_at = serializers.DateTimeField(help_text="when this window was last posted")


def live_profile_data(stored: LiveProfile) -> dict:
    return {"window_start": stored.window_start.isoformat(),
            "window_end": stored.window_end.isoformat(), "profile": stored.profile,
            "updated_at": stored.updated_at.isoformat()}


class LiveProfileListView(DeploymentView):
    """The deployment's live profiles, one per window, oldest window first."""

    @extend_schema(tags=TAGS, summary="List a deployment's live profiles",
                   responses=results("LiveProfileList", LiveProfileOutput))
    def get(self, request, deployment_id):
        found = production_selectors.live_profiles(deployment=self.deployment)
        return Response({"results": [live_profile_data(p) for p in found]})


class LiveProfileRecordView(DeploymentView):
    """Record the deployment's live profile of one window (owners and members), binned with
    the reference's edges when the deployed run has a reference profile (a live profile with
    other edges is a 400 naming `profile.features.<name>.edges`). The same window posted
    again replaces the first: 201 for a new window, 200 for one replaced."""

    class Input(serializers.Serializer):
        window_start = serializers.DateTimeField()
        window_end = serializers.DateTimeField(help_text="after window_start")
        profile = ProfileField(help_text="the window's profile, in the reference's bins")

    @extend_schema(tags=TAGS, summary="Record a window's live profile", request=Input,
                   responses={201: OpenApiResponse(LiveProfileOutput,
                                                   description="A new window"),
                              200: OpenApiResponse(LiveProfileOutput,
                                                   description="The window replaced")})
    def post(self, request, deployment_id):
        data = self.validated(self.Input)
        try:
            stored, created = production_services.record_live_profile(
                deployment=self.deployment, window_start=data["window_start"],
                window_end=data["window_end"], profile=data["profile"])
        except (InvalidInput, LimitExceeded) as exc:
            raise _in_profile(exc) from None
        return Response(live_profile_data(stored),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ReferenceOutput(RunProfileOutput):
    """The deployed run's reference profile: bin live windows with its edges and
    categories."""

    deployment = serializers.IntegerField()


class ReferenceView(DeploymentView):
    """The reference profile of the deployed run (a deployed model version's run): the edges
    and categories to bin live windows with. 404 saying why when there is none."""

    @extend_schema(tags=TAGS, summary="Read a deployment's reference profile",
                   responses=ReferenceOutput)
    def get(self, request, deployment_id):
        stored = production_selectors.reference_profile(deployment=self.deployment)
        if stored is None:
            raise _no_reference(self.deployment)
        return Response({"deployment": self.deployment.pk,
                         **run_profile_data(self.deployment.run, stored)})


class DriftWindowOutput(serializers.Serializer):
    """One live window's drift against the reference."""

    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    features = FeatureDriftOutput(many=True, help_text="the most drifted first; the "
                                  "prediction, and features of another kind or other edges "
                                  "than the reference's, are left out")
    predictions = PredictionsOutput(allow_null=True, help_text="null unless both profiles "
                                    "hold a categorical prediction")


def drift_data(reading: production_selectors.DriftReading) -> dict:
    return {"window_start": reading.window_start.isoformat(),
            "window_end": reading.window_end.isoformat(),
            "features": [d.as_dict() for d in reading.features],
            "predictions": predictions_data(reading.predictions)}


class DriftView(DeploymentView):
    """The drift of each live window against the reference profile, oldest window first:
    per feature the population stability index and its band, and the predictions' shares.
    404 saying why when the deployed run has no reference profile."""

    @extend_schema(tags=TAGS, summary="Read a deployment's drift per window",
                   responses=results("DriftList", DriftWindowOutput))
    def get(self, request, deployment_id):
        if production_selectors.reference_profile(deployment=self.deployment) is None:
            raise _no_reference(self.deployment)
        readings = production_selectors.drift_readings(deployment=self.deployment)
        return Response({"results": [drift_data(r) for r in readings]})
