"""A project's target and guardrails, and the record of every change made to them."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView
from tracker import services
from tracker.models import Role, Target, TargetChange


class TargetSerializer(serializers.Serializer):
    metric = serializers.CharField()
    direction = serializers.ChoiceField(choices=["maximize", "minimize"])
    threshold = serializers.FloatField()
    judged_on = serializers.CharField(required=False, default="test")
    selected_on = serializers.CharField(required=False, default="validation")
    agreed_by = serializers.CharField(required=False, allow_blank=True, default="")
    agreed_on = serializers.DateField(required=False, allow_null=True, default=None)
    definition = serializers.CharField(required=False, allow_blank=True, default="")


class GuardrailSerializer(serializers.Serializer):
    metric = serializers.CharField()
    split = serializers.CharField(required=False, default="test")
    op = serializers.ChoiceField(choices=["<", "<=", ">", ">="])
    value = serializers.FloatField()


class TargetView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(responses=TargetSerializer(allow_null=True), summary="The agreed target")
    def get(self, request, slug):
        target = Target.objects.filter(project=self.project).first()
        return Response({"target": target.as_dict() if target else None})

    @extend_schema(request=TargetSerializer, responses=TargetSerializer,
                   summary="Agree or change the target (owners; every change is recorded)")
    def put(self, request, slug):
        data = request.data
        if isinstance(data, dict) and isinstance(data.get("target"), dict):
            data = data["target"]  # {"target": {...}} as GET answers, or the bare object
        target = services.set_target(project=self.project, user=request.user, target=data)
        return Response({"target": target.as_dict()})

    @extend_schema(responses={204: None}, summary="Withdraw the target (recorded)")
    def delete(self, request, slug):
        services.set_target(project=self.project, user=request.user, target=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TargetHistoryView(ProjectView):
    @extend_schema(summary="Every change of the target and guardrails: who, when, old, new",
                   responses=inline_serializer("TargetChange", {
                       "what": serializers.CharField(), "changed_by": serializers.CharField(),
                       "changed_at": serializers.DateTimeField(),
                       "old": serializers.JSONField(), "new": serializers.JSONField()},
                       many=True))
    def get(self, request, slug):
        changes = TargetChange.objects.filter(project=self.project).select_related("changed_by")
        return Response({"results": [
            {"what": c.what, "changed_by": c.changed_by.username if c.changed_by else None,
             "changed_at": c.changed_at.isoformat(), "old": c.old, "new": c.new}
            for c in changes
        ]})


class GuardrailsView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(responses=GuardrailSerializer(many=True), summary="The project's guardrails")
    def get(self, request, slug):
        return Response({"guardrails": [g.as_dict() for g in self.project.guardrails.all()]})

    @extend_schema(request=GuardrailSerializer(many=True), responses=GuardrailSerializer(many=True),
                   summary="Replace the guardrails (owners; recorded)")
    def put(self, request, slug):
        items = request.data.get("guardrails") if isinstance(request.data, dict) else request.data
        rows = services.set_guardrails(project=self.project, user=request.user, guardrails=items)
        return Response({"guardrails": [g.as_dict() for g in rows]})
