"""A user's role in a project, as the MLflow endpoints read it: in SQL, in a queryset, and
the check before a write (tracker.permissions' rule, in MLflow's error)."""

from django.db.models import OuterRef, QuerySet, Subquery

from api.mlflow.errors import PERMISSION_DENIED, MlflowError
from tracker.models import Experiment, Membership
from tracker.permissions import can_write


def role_in(project_column: str, user_column: str = "%s") -> str:
    """SQL for the user's role in the project of `project_column`; the user is a parameter, or
    `user_column`."""
    return (f"(SELECT m.role FROM {Membership._meta.db_table} AS m "
            f"WHERE m.project_id = {project_column} AND m.user_id = {user_column})")


def role_subquery(user, project_ref: str) -> Subquery:
    """The user's role in the project `project_ref` names, for an annotation."""
    return Subquery(Membership.objects.filter(project=OuterRef(project_ref), user=user)
                    .values("role")[:1])


def check_write(role: str | None, what: str) -> None:
    """MLflow's PERMISSION_DENIED unless the role may write."""
    if not can_write(role):
        raise MlflowError(f"your role in the project of this {what} is {role}; only owners and "
                          "members may change it", PERMISSION_DENIED)


def visible_experiments(user) -> QuerySet[Experiment]:
    """Experiments in every project the user is a member of, with `role` annotated."""
    return (Experiment.objects.filter(project__memberships__user=user)
            .annotate(role=role_subquery(user, "project_id"))
            .select_related("project"))
