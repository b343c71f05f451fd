"""What a user may restore: the projects, experiments and runs in the trash of the projects
they own, each with when it goes for good."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q

from tracker.errors import NotFound
from tracker.models import Experiment, Membership, Project, Role, Run


def purge_date(deleted_at: datetime) -> datetime:
    """When an item trashed at `deleted_at` is purged (settings.TRASH_DAYS later)."""
    return deleted_at + timedelta(days=settings.TRASH_DAYS)


def trash_of(*, user) -> dict[str, list]:
    """The user's trash, newest first: projects they own that are in the trash; experiments
    trashed on their own in projects they own; runs trashed on their own (not with their
    experiment or project, which bring them back). Each item carries `purge_at`."""
    owned = Membership.objects.filter(user=user, role=Role.OWNER).values("project_id")
    projects = list(Project.objects.filter(id__in=owned, deleted_at__isnull=False)
                    .annotate(run_count=Count("runs")).order_by("-deleted_at"))
    live = {"project_id__in": owned, "project__deleted_at__isnull": True}
    with_it = Q(runs__deleted_at=F("deleted_at"))  # the runs trashed with the experiment
    experiments = list(Experiment.objects.filter(deleted_at__isnull=False, **live)
                       .select_related("project")
                       .annotate(run_count=Count("runs", filter=with_it))
                       .order_by("-deleted_at"))
    runs = list(Run.objects.filter(deleted_at__isnull=False, experiment__deleted_at__isnull=True,
                                   **live)
                .select_related("project", "experiment").order_by("-deleted_at"))
    for item in (*projects, *experiments, *runs):
        item.purge_at = purge_date(item.deleted_at)
    return {"projects": projects, "experiments": experiments, "runs": runs}


def trashed_for_owner(*, user, kind: str, key: str) -> Project | Experiment | Run:
    """The project (by slug), experiment (by id) or run (by id) in the trash that the user
    may restore, as an owner of its project; NotFound for anything else (they learn
    nothing)."""
    owned = Membership.objects.filter(user=user, role=Role.OWNER).values("project_id")
    found = None
    if kind == "project":
        found = Project.objects.filter(slug=key, id__in=owned, deleted_at__isnull=False).first()
    elif kind in ("experiment", "run") and key:
        model = Experiment if kind == "experiment" else Run
        try:
            found = (model.objects.select_related("project")
                     .filter(pk=key, project_id__in=owned, deleted_at__isnull=False).first())
        except (ValueError, ValidationError):  # not an id of that kind
            found = None
    if found is None:
        raise NotFound(f"no {kind} {key!r} in your trash", field=kind or None)
    return found
