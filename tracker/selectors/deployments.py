"""Deployments as a user sees them: a project's deployments (all, per environment, live),
the one live in an environment, one deployment with the user's role, its live results."""

from django.db.models import QuerySet

from tracker.errors import NotFound
from tracker.models import Deployment, LiveResult, Project
from tracker.selectors.access import role_of

_RELATIONS = ("project", "run", "created_by")


def project_deployments(*, project: Project, environment: str | None = None,
                        live: bool | None = None) -> QuerySet[Deployment]:
    """The project's deployments, the latest start first; only those of `environment`
    when given, only the live (or only the ended) ones when `live` is True (False)."""
    deployments = Deployment.objects.filter(project=project).select_related(*_RELATIONS)
    if environment is not None:
        deployments = deployments.filter(environment=environment)
    if live is not None:
        deployments = deployments.filter(ended_at__isnull=live)
    return deployments


def live_deployment(*, project: Project, environment: str = "production") -> Deployment | None:
    """What is live in the environment now: the project's deployment there not ended (a new
    deployment ends the previous one, so there is at most one)."""
    return project_deployments(project=project, environment=environment, live=True).first()


def deployment_for_user(*, user, deployment_id) -> tuple[Deployment, str]:
    """The deployment and the user's role in its project; NotFound for outsiders, unknown
    ids and deployments of a project in the trash (they learn nothing)."""
    try:
        pk = int(str(deployment_id))
    except ValueError:
        pk = None
    deployment = (Deployment.objects.select_related(*_RELATIONS).filter(pk=pk).first()
                  if pk is not None and 0 < pk < 2**63 else None)
    role = role_of(user=user, project=deployment.project) if deployment else None
    if deployment is None or role is None or deployment.project.deleted_at is not None:
        # The id is not repeated: a number alone says nothing worth reading back.
        raise NotFound("no deployment of that id in your projects", field="deployment")
    return deployment, role


def live_results(*, deployment: Deployment) -> QuerySet[LiveResult]:
    """The deployment's live results, one per window, oldest window first."""
    return LiveResult.objects.filter(deployment=deployment)
