"""Who sees what: the projects a user belongs to, and a project, run or experiment with
the user's role in it. Outsiders get NotFound, so they learn nothing about what exists.

Staff users (is_staff) also see every project they are no member of, with the role STAFF
(tracker.permissions): read-only, since neither write rule lets it in. The MLflow API asks
its own questions (api/mlflow/roles.py) and knows members only.
"""

import uuid

from django.db.models import QuerySet

from tracker.errors import NotFound
from tracker.models import Experiment, Membership, Project, Role, Run
from tracker.permissions import STAFF


def is_staff(user) -> bool:
    """A signed-in, active staff user: reads every project."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def visible_projects(*, user) -> QuerySet[Project]:
    """Every project the user may read, whatever the trash says: their projects, and every
    project for staff."""
    if is_staff(user):
        return Project.objects.all()
    return Project.objects.filter(id__in=Membership.objects.filter(user=user)
                                  .values("project_id"))


def projects_for_user(*, user) -> QuerySet[Project]:
    """Projects the user may read, in any role (not those in the trash): those they are a
    member of, and every project for staff."""
    return (visible_projects(user=user).filter(deleted_at__isnull=True)
            .select_related("target"))


def roles_of(*, user) -> dict[int, str]:
    """The user's role in each project they belong to, by project id. Staff read the others
    as STAFF: `roles_of(...).get(project_id, STAFF)` for them."""
    return dict(Membership.objects.filter(user=user).values_list("project_id", "role"))


def role_of(*, user, project: Project) -> str | None:
    """The user's role in the project: STAFF for a staff user who is no member; None for an
    anonymous user or anyone else who is no member."""
    if not user or not user.is_authenticated:
        return None
    role = (Membership.objects.filter(project=project, user=user)
            .values_list("role", flat=True).first())
    if role is None and is_staff(user):
        return STAFF
    return role


def project_for_user(*, user, slug: str, trashed: bool = False) -> tuple[Project, str]:
    """The project and the user's role in it; NotFound for outsiders (they learn nothing).

    A project in the trash is not found, but with trashed=True by its owners (to restore it).
    """
    project = Project.objects.select_related("target").filter(slug=slug).first()
    role = role_of(user=user, project=project) if project else None
    hidden = project is not None and project.deleted_at is not None and not (
        trashed and role == Role.OWNER)
    if project is None or role is None or hidden:
        raise NotFound(f"no project {slug!r}", field="project")
    return project, role


def run_for_user(*, user, run_id: str, include_deleted: bool = False) -> tuple[Run, str]:
    """The run and the user's role in its project; NotFound for outsiders and unknown ids."""
    try:
        pk = uuid.UUID(str(run_id))
    except ValueError:
        raise NotFound(f"no run {run_id!r}", field="run") from None
    run = Run.objects.select_related("project", "experiment").filter(pk=pk).first()
    role = role_of(user=user, project=run.project) if run else None
    if run is None or role is None or (run.deleted_at and not include_deleted):
        raise NotFound(f"no run {run_id!r}", field="run")
    return run, role


def experiment_for_user(*, user, experiment_id: int) -> tuple[Experiment, str]:
    """The experiment and the user's role in its project; NotFound for outsiders."""
    experiment = Experiment.objects.select_related("project").filter(pk=experiment_id).first()
    role = role_of(user=user, project=experiment.project) if experiment else None
    if experiment is None or role is None or experiment.deleted_at is not None:
        raise NotFound(f"no experiment {experiment_id}", field="experiment")
    return experiment, role
