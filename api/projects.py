"""Projects: list yours, create one, read one, change one."""

from django.db import transaction
from django.db.models import Count, Max
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import OperationView, ProjectView
from api.schema import results
from api.targets import (
    GuardrailOutput,
    GuardrailsField,
    TargetField,
    TargetOutput,
    cost_metrics_field,
    target_data,
    warnings_field,
)
from tracker.models import Project, Role
from tracker.permissions import STAFF
from tracker.selectors import targets as target_selectors
from tracker.selectors.access import projects_for_user, roles_of
from tracker.services import projects as project_services
from tracker.services import targets as target_services

# Your role in a project as its answers say it: a membership's, or staff's look at it.
PROJECT_ROLES = [*Role.values, STAFF]

TAGS = ["Projects"]


class ProjectOutput(serializers.Serializer):
    """A project with its target, its guardrails and your role in it."""

    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    role = serializers.ChoiceField(choices=PROJECT_ROLES, help_text="your role in "
                                   "the project; staff: a staff user's read-only look at a "
                                   "project they are no member of")
    target = TargetOutput(allow_null=True)
    guardrails = GuardrailOutput(many=True)
    cost_metrics = cost_metrics_field()
    runs = serializers.IntegerField(help_text="runs not deleted")
    last_run_at = serializers.DateTimeField(allow_null=True, help_text="when the latest run "
                                            "started")
    deploy_alias = serializers.CharField(help_text="setting this registered-model alias "
                                         "through the MLflow API deploys the version to "
                                         "production; blank: no alias does")
    deploy_stage = serializers.CharField(help_text="moving a version to this stage through "
                                         "the MLflow API deploys it to production; blank: "
                                         "no stage does")
    case_noun = serializers.CharField(help_text='what the production cases are called, '
                                      'plural: the production and impact sentences count '
                                      'them ("on 310 checked tickets"); default cases')


def project_data(project: Project, role: str) -> dict:
    stats = project.runs.live().aggregate(runs=Count("id"), last_run_at=Max("started_at"))
    return {
        "slug": project.slug,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at.isoformat(),
        "role": role,
        "target": target_data(project),
        "guardrails": [g.as_dict() for g in project.guardrails.all()],
        "cost_metrics": project.cost_metrics,
        "runs": stats["runs"],
        "last_run_at": stats["last_run_at"].isoformat() if stats["last_run_at"] else None,
        "deploy_alias": project.deploy_alias,
        "deploy_stage": project.deploy_stage,
        "case_noun": project.case_noun or "cases",
    }


class ProjectListView(OperationView):
    """The projects you are a member of, by slug, each with your role in it; staff users
    get every project, `staff` as their role in those they are no member of."""

    @extend_schema(tags=TAGS, summary="List your projects",
                   responses=results("ProjectList", ProjectOutput))
    def get(self, request):
        projects = projects_for_user(user=request.user)
        roles = roles_of(user=request.user)
        return Response({"results": [project_data(p, roles.get(p.id, STAFF)) for p in projects]})


class ProjectCreateView(OperationView):
    """Create a project, optionally with its target and guardrails; you become its owner.
    Any signed-in user may create one. A slug within two edits of one of your projects
    (one edit below six characters; case and - or _ aside) is taken for a typo: a 400
    naming the projects it is close to, in `similar`, unless `create` is true."""

    class Input(serializers.Serializer):
        slug = serializers.CharField(help_text="lower-case letters and digits separated by - "
                                     "or _, e.g. news-topics; it is the project's URL")
        name = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text="default: the slug")
        description = serializers.CharField(required=False, allow_blank=True, default="")
        target = TargetField(required=False, allow_null=True, default=None)
        guardrails = GuardrailsField(required=False, default=list)
        cost_metrics = cost_metrics_field(required=False, default=list)
        create = serializers.BooleanField(
            required=False, default=False, help_text="true: create it even when its slug is "
            "close to one of your projects' (without it, that is a 400 naming them)")

    @extend_schema(tags=TAGS, summary="Create a project", request=Input,
                   responses={201: ProjectOutput})
    def post(self, request):
        data = self.validated(self.Input)
        confirmed = data.pop("create")
        project = project_services.create_project(user=request.user, allow_similar=confirmed,
                                                  **data)
        return Response(project_data(project, Role.OWNER), status=status.HTTP_201_CREATED)


class ProjectDetailView(ProjectView):
    """One project with its target, its guardrails and your role in it."""

    @extend_schema(tags=TAGS, summary="Read a project", responses=ProjectOutput)
    def get(self, request, slug):
        return Response(project_data(self.project, self.role))


class ProjectUpdateView(ProjectView):
    """Change the name, the description, the target, the guardrails, the project's own
    measures of cost, the alias and stage that deploy a registered model or what the
    production cases are called (owners). A change
    of target or guardrails is recorded; a mistake in any field changes nothing. The answer
    warns of a target or guardrail on a metric no run has logged on its split."""

    write_role = Role.OWNER

    class Input(serializers.Serializer):
        name = serializers.CharField(required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        target = TargetField(required=False, allow_null=True)
        guardrails = GuardrailsField(required=False)
        cost_metrics = cost_metrics_field(required=False)
        deploy_alias = serializers.CharField(required=False, allow_blank=True, help_text=(
            "the registered-model alias that deploys a version to production when set "
            "through the MLflow API (default champion); blank: none"))
        deploy_stage = serializers.CharField(required=False, allow_blank=True, help_text=(
            "the stage (Staging or Production) that deploys a version to production when "
            "set through the MLflow API (default Production); blank: none"))
        case_noun = serializers.CharField(required=False, allow_blank=True, help_text=(
            'what the production cases are called, plural ("tickets", "support calls"): 1 '
            "to 50 characters of words"))

    class Output(ProjectOutput):
        warnings = warnings_field()

    @extend_schema(tags=TAGS, summary="Change a project", request=Input,
                   responses=Output)
    @transaction.atomic  # a bad target must not leave the project half-updated
    def patch(self, request, slug):
        data = self.validated(self.Input, partial=True)
        if "name" in data or "description" in data:
            project_services.update_project(project=self.project, name=data.get("name"),
                                            description=data.get("description"))
        if "target" in data:
            target_services.set_target(project=self.project, user=request.user,
                                       target=data["target"], address=self.address)
        if "guardrails" in data:
            target_services.set_guardrails(project=self.project, user=request.user,
                                           guardrails=data["guardrails"],
                                           cost_metrics=data.get("cost_metrics"),
                                           address=self.address)
        elif "cost_metrics" in data:
            target_services.set_cost_metrics(project=self.project,
                                             cost_metrics=data["cost_metrics"])
        if "deploy_alias" in data or "deploy_stage" in data:
            project_services.set_deploy_triggers(project=self.project,
                                                 deploy_alias=data.get("deploy_alias"),
                                                 deploy_stage=data.get("deploy_stage"))
        if "case_noun" in data:
            project_services.set_case_noun(project=self.project, case_noun=data["case_noun"])
        return Response({**project_data(self.project, self.role), "warnings": [
            *target_selectors.target_warnings(project=self.project),
            *target_selectors.guardrail_warnings(project=self.project)]})
