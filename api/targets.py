"""A project's target and guardrails, and the record of every change made to them."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView
from api.schema import FieldWarning, results
from reports import narrative
from tracker.models import Role, Target, TargetChange
from tracker.selectors import targets as target_selectors
from tracker.services import targets as target_services

TAGS = ["Target and guardrails"]


class TargetInput(serializers.Serializer):
    """The target to agree: a metric, its direction and a threshold."""

    metric = serializers.CharField(help_text="e.g. f1, accuracy, mae or a metric of your own")
    direction = serializers.ChoiceField(choices=["maximize", "minimize"])
    threshold = serializers.FloatField(
        help_text="the agreed bar; met when reached (inclusive). A fraction (accuracy, "
                  "precision, recall, F1, ROC AUC, error rate, or a definition that uses "
                  "{percent}) takes a bar between 0 and 1: 0.9, not 90")
    judged_on = serializers.CharField(
        required=False, default="test",
        help_text="the split whose value is quoted against the threshold")
    selected_on = serializers.CharField(required=False, default="validation",
                                        help_text="the split the winner is chosen on")
    agreed_by = serializers.CharField(required=False, allow_blank=True, default="")
    agreed_on = serializers.DateField(required=False, allow_null=True, default=None)
    definition = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="for a metric of your own: the sentence reports use, with {value} or "
                  "{percent}, e.g. '{percent} of every 100 churners are caught'")


class TargetOutput(TargetInput):
    """The agreed target."""

    judged_on = serializers.CharField()
    selected_on = serializers.CharField()
    agreed_by = serializers.CharField()
    agreed_on = serializers.DateField(allow_null=True)
    definition = serializers.CharField()
    sentence = serializers.CharField(
        help_text='The target in words, as the dashboard and reports say it: "F1 score of at '
                  'least 85 out of 100 on the test set".')


class GuardrailInput(serializers.Serializer):
    """A condition the winner must also meet, e.g. latency_ms <= 50 on test."""

    metric = serializers.CharField()
    split = serializers.CharField(
        required=False, default="test",
        help_text="on the judged split (test), only a measure of cost: latency, throughput, "
                  "model size, memory, or one of the project's cost_metrics")
    op = serializers.ChoiceField(choices=["<", "<=", ">", ">="])
    value = serializers.FloatField(help_text="in the metric's range: a fraction between 0 "
                                   "and 1 for accuracy, recall, F1...")


class GuardrailOutput(GuardrailInput):
    """A condition the winner must also meet."""

    split = serializers.CharField()


@extend_schema_field(TargetInput)
class TargetField(serializers.DictField):
    """A target, handed to services.set_target as sent: it names the field of any mistake."""


@extend_schema_field(GuardrailInput(many=True))
class GuardrailsField(serializers.ListField):
    """Guardrails, handed to services.set_guardrails as sent, for the same reason."""

    child = serializers.DictField()


def cost_metrics_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(), help_text="the project's own measures of cost (e.g. "
        "latency_p95_ms), which guardrails may check on the judged split as they may latency_ms,"
        " throughput, model_size_mb and memory_mb", **kwargs)


def warnings_field() -> FieldWarning:
    return FieldWarning(many=True, help_text="accepted, but worth a look: a metric no run has "
                        "logged on the split named, a stored guardrail that is not applied")


class TargetBody(serializers.Serializer):
    target = TargetOutput(allow_null=True)
    warnings = warnings_field()


class GuardrailsBody(serializers.Serializer):
    guardrails = GuardrailOutput(many=True)
    cost_metrics = cost_metrics_field()
    warnings = warnings_field()


def target_answer(target: Target | None) -> dict | None:
    """The target as the API answers it: its fields and the sentence people read."""
    if target is None:
        return None
    return {**target.as_dict(),
            "sentence": narrative.target_phrase(narrative.TargetFacts.from_target(target))}


def target_data(project) -> dict | None:
    return target_answer(Target.objects.filter(project=project).first())


def target_body(project) -> dict:
    """The target with what is worth a look about it."""
    return {"target": target_data(project),
            "warnings": target_selectors.target_warnings(project=project)}


def guardrails_body(project) -> dict:
    """The guardrails and the project's own measures of cost, with what is worth a look."""
    return {"guardrails": [g.as_dict() for g in project.guardrails.all()],
            "cost_metrics": project.cost_metrics,
            "warnings": target_selectors.guardrail_warnings(project=project)}


class TargetDetailView(ProjectView):
    """The project's agreed target, or `{"target": null}` before one is agreed."""

    @extend_schema(tags=TAGS, summary="Read the target", responses=TargetBody)
    def get(self, request, slug):
        return Response(target_body(self.project))


class TargetSetView(ProjectView):
    """Agree or change the target. Owners only; every change is recorded (who, when, old,
    new) and named in the next report. The body is the target, or `{"target": {...}}` as
    the read answers. A threshold outside the metric's range is refused (400); a metric no
    run has logged on the selection split is accepted with a warning."""

    write_role = Role.OWNER

    @extend_schema(tags=TAGS, summary="Agree or change the target", request=TargetInput,
                   responses=TargetBody)
    def put(self, request, slug):
        target_services.set_target(project=self.project, user=request.user,
                                   target=self.unwrapped("target"), address=self.address)
        return Response(target_body(self.project))


class TargetWithdrawView(ProjectView):
    """Withdraw the target (owners; recorded). The project then has no winner."""

    write_role = Role.OWNER

    @extend_schema(tags=TAGS, summary="Withdraw the target", responses={204: None})
    def delete(self, request, slug):
        target_services.set_target(project=self.project, user=request.user, target=None,
                                   address=self.address)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TargetHistoryView(ProjectView):
    """Every change of the target and the guardrails, oldest first: who, when, old, new."""

    class Change(serializers.Serializer):
        what = serializers.ChoiceField(choices=["target", "guardrails"])
        changed_by = serializers.CharField(allow_null=True)
        changed_at = serializers.DateTimeField()
        old = serializers.JSONField(allow_null=True)
        new = serializers.JSONField(allow_null=True)

    @extend_schema(tags=TAGS, summary="Read the history of the target and guardrails",
                   responses=results("TargetHistory", Change))
    def get(self, request, slug):
        changes = TargetChange.objects.filter(project=self.project).select_related("changed_by")
        return Response({"results": [
            {"what": c.what, "changed_by": c.changed_by.username if c.changed_by else None,
             "changed_at": c.changed_at.isoformat(), "old": c.old, "new": c.new}
            for c in changes
        ]})


class GuardrailListView(ProjectView):
    """The conditions a winner must meet besides the target, and the project's own measures
    of cost."""

    @extend_schema(tags=TAGS, summary="List the guardrails", responses=GuardrailsBody)
    def get(self, request, slug):
        return Response(guardrails_body(self.project))


class GuardrailReplaceView(ProjectView):
    """Replace every guardrail at once (owners; recorded). The body is
    `{"guardrails": [...]}` or the bare list; an empty list clears them. `cost_metrics`, when
    sent, replaces the project's own measures of cost first. A limit outside the metric's
    range, or a measure of quality on the judged split, is refused (400)."""

    write_role = Role.OWNER

    class Input(serializers.Serializer):
        guardrails = GuardrailInput(many=True)
        cost_metrics = cost_metrics_field(required=False)

    @extend_schema(tags=TAGS, summary="Replace the guardrails", request=Input,
                   responses=GuardrailsBody)
    def put(self, request, slug):
        data = request.data if isinstance(request.data, dict) else {"guardrails": request.data}
        target_services.set_guardrails(project=self.project, user=request.user,
                                       guardrails=data.get("guardrails"),
                                       cost_metrics=data.get("cost_metrics"),
                                       address=self.address)
        return Response(guardrails_body(self.project))
