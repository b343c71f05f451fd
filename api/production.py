"""The production answer: is the model live in an environment still above the agreed bar,
how it drifted, and what to do (tracker.selectors.production)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ProjectView
from api.deployments import DeploymentOutput, deployment_data
from tracker import drift as drift_rules
from tracker import production_rules
from tracker.selectors import production as production_selectors
from tracker.services import deployments as deployment_services

TAGS = ["Production and business impact"]


class LiveOutput(serializers.Serializer):
    """The live window quoted: the latest with enough labelled cases."""

    metric = serializers.CharField(help_text="the target metric")
    value = serializers.FloatField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    labelled = serializers.IntegerField(help_text="the checked cases the value is measured on")
    count = serializers.IntegerField(allow_null=True, help_text="the cases the model saw")


class TestOutput(serializers.Serializer):
    """The deployed run's figure on the target's judged split."""

    value = serializers.FloatField()
    split = serializers.CharField(help_text="the judged split, e.g. test")


class FeatureDriftOutput(serializers.Serializer):
    feature = serializers.CharField()
    psi = serializers.FloatField(help_text="population stability index against the "
                                 "deployed run's reference profile")
    band = serializers.ChoiceField(choices=["stable", "moderate", "significant"])


class WindowOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class PredictionsOutput(serializers.Serializer):
    """The share of predictions per class, in the reference and live profiles."""

    reference = serializers.DictField(child=serializers.FloatField())
    live = serializers.DictField(child=serializers.FloatField())
    psi = serializers.FloatField(allow_null=True)
    band = serializers.CharField(allow_null=True)


class LiveWindowOutput(serializers.Serializer):
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    value = serializers.FloatField(allow_null=True, help_text="the target metric; null when "
                                   "the window did not measure it")
    labelled = serializers.IntegerField()


class ProductionOutput(serializers.Serializer):
    """The production answer, in figures and in a sentence."""

    deployment = DeploymentOutput(allow_null=True, help_text="live in the environment; null "
                                  "when nothing is")
    live = LiveOutput(allow_null=True)
    test = TestOutput(allow_null=True)
    threshold = serializers.FloatField(allow_null=True, help_text="the agreed bar")
    direction = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=list(production_rules.STATUSES))
    reason = serializers.CharField(help_text='why slipping: "just under", "below test", '
                                   '"falling"; empty otherwise')
    retrain = serializers.BooleanField(help_text="retraining is recommended")
    drift = FeatureDriftOutput(many=True, help_text="the latest live profile's drift per "
                               "feature, most drifted first")
    drift_window = WindowOutput(allow_null=True, help_text="the live profile's window")
    predictions = PredictionsOutput(allow_null=True)
    sentence = serializers.CharField()
    windows = LiveWindowOutput(many=True, help_text="every live window, oldest first")


def _iso(moment) -> str:
    return moment.isoformat()


def predictions_data(predictions: drift_rules.Predictions | None) -> dict | None:
    """How the share of predictions per class moved, as PredictionsOutput says."""
    if predictions is None:
        return None
    return {"reference": predictions.reference, "live": predictions.live,
            "psi": predictions.psi, "band": predictions.band}


def production_data(answer: production_selectors.ProductionAnswer) -> dict:
    target, window, drift = answer.target, answer.window, answer.drift
    quoted = answer.quoted
    return {
        "deployment": deployment_data(answer.deployment) if answer.deployment else None,
        "live": {"metric": target.metric, "value": window.value,
                 "window_start": _iso(window.start), "window_end": _iso(window.end),
                 "labelled": window.labelled, "count": quoted.count if quoted else None}
        if window is not None and target is not None else None,
        "test": {"value": answer.test_value, "split": target.judged_on}
        if answer.test_value is not None and target is not None else None,
        "threshold": target.threshold if target else None,
        "direction": target.direction if target else None,
        "status": answer.status,
        "reason": answer.reason,
        "retrain": answer.retrain,
        "drift": [d.as_dict() for d in (drift.features if drift else [])],
        "drift_window": {"start": _iso(drift.window_start), "end": _iso(drift.window_end)}
        if drift else None,
        "predictions": predictions_data(drift.predictions if drift else None),
        "sentence": answer.sentence,
        "windows": [{"window_start": _iso(w.start), "window_end": _iso(w.end),
                     "value": w.value, "labelled": w.labelled} for w in answer.windows],
    }


class ProductionView(ProjectView):
    """Is the model live in production (or `environment`) still above the agreed bar? Its
    status (holding, slipping, below the bar, no results) by the rules of
    docs/production.md, the live window quoted against the bar and the test figure, the
    drift of the latest live profile, whether to retrain, and all of it in a sentence."""

    @extend_schema(tags=TAGS, summary="Read the production answer", parameters=[
        OpenApiParameter("environment", OpenApiTypes.STR, description="default production")],
        responses=ProductionOutput)
    def get(self, request, slug):
        environment = request.query_params.get("environment") or "production"
        deployment_services.check_environment(environment)
        answer = production_selectors.production_answer(project=self.project,
                                                        environment=environment)
        return Response(production_data(answer))
