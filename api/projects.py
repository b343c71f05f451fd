"""Projects: list yours, create one, read one, change one."""

from django.db import transaction
from django.db.models import Count, Max
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import ProjectView, validated
from api.targets import GuardrailSerializer, TargetSerializer
from tracker import services
from tracker.models import Membership, Project, Role, Target
from tracker.selectors import projects_for_user


class ProjectInput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    target = serializers.DictField(required=False, allow_null=True, default=None)
    guardrails = serializers.ListField(child=serializers.DictField(), required=False,
                                       default=list)


class ProjectUpdateInput(serializers.Serializer):
    name = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    target = serializers.DictField(required=False, allow_null=True)
    guardrails = serializers.ListField(child=serializers.DictField(), required=False)


class ProjectOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    role = serializers.CharField()
    target = TargetSerializer(allow_null=True)
    guardrails = GuardrailSerializer(many=True)
    runs = serializers.IntegerField()
    last_run_at = serializers.DateTimeField(allow_null=True)


def project_data(project: Project, role: str) -> dict:
    target = Target.objects.filter(project=project).first()
    stats = project.runs.live().aggregate(
        runs=Count("id"), last_run_at=Max("started_at"))
    return {
        "slug": project.slug,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at.isoformat(),
        "role": role,
        "target": target.as_dict() if target else None,
        "guardrails": [g.as_dict() for g in project.guardrails.all()],
        "runs": stats["runs"],
        "last_run_at": stats["last_run_at"].isoformat() if stats["last_run_at"] else None,
    }


class ProjectListView(APIView):
    @extend_schema(responses=ProjectOutput(many=True), summary="Projects you are a member of")
    def get(self, request):
        projects = projects_for_user(user=request.user)
        roles = dict(Membership.objects.filter(user=request.user)
                     .values_list("project_id", "role"))
        return Response({"results": [project_data(p, roles[p.id]) for p in projects]})

    @extend_schema(request=ProjectInput, responses={201: ProjectOutput},
                   summary="Create a project; you become its owner")
    def post(self, request):
        data = validated(ProjectInput, request.data)
        project = services.create_project(user=request.user, **data)
        return Response(project_data(project, Role.OWNER), status=status.HTTP_201_CREATED)


class ProjectDetailView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(responses=ProjectOutput, summary="One project with its target")
    def get(self, request, slug):
        return Response(project_data(self.project, self.role))

    @extend_schema(request=ProjectUpdateInput, responses=ProjectOutput,
                   summary="Change name, description, target or guardrails (owners; recorded)")
    @transaction.atomic  # a bad target must not leave the project half-updated
    def patch(self, request, slug):
        data = validated(ProjectUpdateInput, request.data, partial=True)
        if "name" in data or "description" in data:
            services.update_project(project=self.project, name=data.get("name"),
                                    description=data.get("description"))
        if "target" in data:
            services.set_target(project=self.project, user=request.user, target=data["target"])
        if "guardrails" in data:
            services.set_guardrails(project=self.project, user=request.user,
                                    guardrails=data["guardrails"])
        return Response(project_data(self.project, self.role))
