"""What a user may restore: the projects, experiments and runs in the trash of the projects
they own, each with when it goes for good."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q

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
