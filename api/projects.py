"""Projects, their target and guardrails, members, experiments."""

from django.db import transaction
from django.db.models import Count, Max
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import ProjectView
from tracker.errors import NotFound
from tracker.models import (
    LIVE_RUNS,
    Experiment,
    Membership,
    Project,
    Role,
    Target,
    TargetChange,
)
from tracker.selectors.access import projects_for_user, role_of
from tracker.services import experiments as experiment_services
from tracker.services import projects as project_services
from tracker.services import targets as target_services


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
        data = _validated(ProjectInput, request.data)
        project = project_services.create_project(user=request.user, **data)
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
        data = _validated(ProjectUpdateInput, request.data, partial=True)
        if "name" in data or "description" in data:
            project_services.update_project(project=self.project, name=data.get("name"),
                                            description=data.get("description"))
        if "target" in data:
            target_services.set_target(project=self.project, user=request.user,
                                       target=data["target"])
        if "guardrails" in data:
            target_services.set_guardrails(project=self.project, user=request.user,
                                           guardrails=data["guardrails"])
        return Response(project_data(self.project, self.role))


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
        target = target_services.set_target(project=self.project, user=request.user, target=data)
        return Response({"target": target.as_dict()})

    @extend_schema(responses={204: None}, summary="Withdraw the target (recorded)")
    def delete(self, request, slug):
        target_services.set_target(project=self.project, user=request.user, target=None)
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
        rows = target_services.set_guardrails(project=self.project, user=request.user,
                                              guardrails=items)
        return Response({"guardrails": [g.as_dict() for g in rows]})


class MemberInput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.values)


def member_data(m: Membership) -> dict:
    return {"username": m.user.username, "role": m.role, "added_at": m.added_at.isoformat()}


class MemberListView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(responses=MemberInput(many=True), summary="Members and their roles")
    def get(self, request, slug):
        members = self.project.memberships.select_related("user").order_by("user__username")
        return Response({"results": [member_data(m) for m in members]})

    @extend_schema(request=MemberInput, responses={201: MemberInput},
                   summary="Add a member, or change their role (owners)")
    def post(self, request, slug):
        data = _validated(MemberInput, request.data)
        existed = role_of(user=_user(data["username"]), project=self.project) is not None
        membership = project_services.set_member(project=self.project, **data)
        return Response(member_data(membership), status=200 if existed else 201)


class MemberDetailView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(request=inline_serializer("RoleInput", {
        "role": serializers.ChoiceField(choices=Role.values)}), responses=MemberInput,
        summary="Change a member's role (owners)")
    def patch(self, request, slug, username):
        role = request.data.get("role") if isinstance(request.data, dict) else None
        membership = project_services.set_member(project=self.project, username=username, role=role,
                                                 create=False)
        return Response(member_data(membership))

    @extend_schema(responses={204: None}, summary="Remove a member (owners)")
    def delete(self, request, slug, username):
        project_services.remove_member(project=self.project, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExperimentInput(serializers.Serializer):
    name = serializers.CharField(max_length=250)
    hypothesis = serializers.CharField(required=False, allow_blank=True, default="")


def experiment_data(e: Experiment) -> dict:
    return {"id": e.id, "name": e.name, "hypothesis": e.hypothesis,
            "created_at": e.created_at.isoformat(),
            "runs": getattr(e, "run_count", None)}


class ExperimentListView(ProjectView):
    @extend_schema(responses=ExperimentInput(many=True), summary="Experiments of the project")
    def get(self, request, slug):
        return Response({"results": [experiment_data(e) for e in _experiments(self.project)]})

    @extend_schema(request=ExperimentInput, responses={201: ExperimentInput},
                   summary="Create an experiment with its hypothesis")
    def post(self, request, slug):
        data = _validated(ExperimentInput, request.data)
        experiment = experiment_services.create_experiment(project=self.project, user=request.user,
                                                           **data)
        experiment.run_count = 0
        return Response(experiment_data(experiment), status=status.HTTP_201_CREATED)


class ExperimentDetailView(ProjectView):
    @extend_schema(responses=ExperimentInput, summary="One experiment, by name")
    def get(self, request, slug, name):
        experiment = _experiments(self.project).filter(name=name).first()
        if experiment is None:
            raise NotFound(f"no experiment {name!r} in {self.project.slug}", field="experiment")
        return Response(experiment_data(experiment))


def _experiments(project: Project):
    return project.experiments.live().annotate(run_count=Count("runs", filter=LIVE_RUNS))


def _validated(serializer_class, data, partial: bool = False) -> dict:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=username).first()
