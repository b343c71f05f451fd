"""The trash: a deleted project (with its experiments and runs), experiment or run stays
restorable, as it was, for settings.TRASH_DAYS; then `purge_expired` removes it for good
with its points and artifact files.

A project is trashed by stamping it, and every live experiment and run in it, with one
instant: restoring brings back exactly what went with it, not what was deleted on its own
before (as `tracker.services.experiments.delete_experiment` does for its runs). Its
reports, check-in, target, members and artifacts are never touched until the purge.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tracker import signals
from tracker.errors import Conflict, NotFound
from tracker.models import Artifact, AuditAction, Experiment, Project, Run
from tracker.services import audit

logger = logging.getLogger(__name__)


@transaction.atomic
def delete_project(*, project: Project, user, address: str = "") -> Project:
    """Move a project to the trash: it leaves every list, its pages and API answer 404 to
    all but its owners' trash, its runs take no data, MLflow sees its experiments deleted,
    and its check-ins stop. Restorable for TRASH_DAYS."""
    if project.deleted_at is not None:
        return project
    now = timezone.now()
    project.deleted_at = now
    project.save(update_fields=["deleted_at"])
    Experiment.objects.live().filter(project=project).update(deleted_at=now)
    Run.objects.live().filter(project=project).update(deleted_at=now)
    audit.record(action=AuditAction.PROJECT_DELETE, project=project, user=user,
                 subject=f"project {project.slug}", address=address)
    return project


@transaction.atomic
def restore_project(*, project: Project, user, address: str = "") -> Project:
    """Bring a project back from the trash with the experiments and runs trashed with it,
    their points, summaries and artifacts, and its reports, as they were."""
    if not lock_in_trash(project, f"project {project.slug!r}", field="project"):
        raise Conflict(f"project {project.slug!r} is not in the trash", field="project")
    Run.objects.filter(project=project, deleted_at=project.deleted_at).update(deleted_at=None)
    Experiment.objects.filter(project=project, deleted_at=project.deleted_at).update(
        deleted_at=None)
    project.deleted_at = None
    project.save(update_fields=["deleted_at"])
    audit.record(action=AuditAction.PROJECT_RESTORE, project=project, user=user,
                 subject=f"project {project.slug}", address=address)
    return project


def lock_in_trash(item: Project | Experiment | Run, name: str, *, field: str) -> bool:
    """Lock `item`'s row and read its `deleted_at` again: whether it is still in the trash.
    A restore takes this lock as the purge does (_purge), so the two never both win; an
    item purged meanwhile is NotFound. Call it inside the restore's transaction."""
    locked = type(item).objects.select_for_update().filter(pk=item.pk).only("deleted_at").first()
    if locked is None:
        raise NotFound(f"{name} was removed from the trash for good", field=field)
    item.deleted_at = locked.deleted_at
    return item.deleted_at is not None


def check_in_trash(run: Run) -> None:
    """Restoring asks for a run in the trash: Conflict for a live one."""
    if run.deleted_at is None:
        raise Conflict(f"run {run.id} is not in the trash", field="run")


def purge_expired(*, now: datetime | None = None) -> dict[str, int]:
    """Remove for good what has been in the trash longer than TRASH_DAYS: projects, then
    experiments and runs of live projects, with their points, summaries and artifact files.
    Returns how many of each went. Run by beat (reports.tasks.purge_trash)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TRASH_DAYS)
    expired = {"deleted_at__lt": cutoff}
    live_project = {"project__deleted_at__isnull": True}
    purged = {"projects": 0, "experiments": 0, "runs": 0}
    for pk in Project.objects.filter(**expired).values_list("pk", flat=True):
        purged["projects"] += _purge(Project.objects.filter(pk=pk, **expired),
                                     runs=lambda project: Run.objects.filter(project=project))
    for pk in Experiment.objects.filter(**expired, **live_project).values_list("pk", flat=True):
        purged["experiments"] += _purge(
            Experiment.objects.filter(pk=pk, **expired), subject="experiment",
            action=AuditAction.EXPERIMENT_PURGE,
            runs=lambda experiment: Run.objects.filter(experiment=experiment))
    for pk in Run.objects.filter(**expired, **live_project).values_list("pk", flat=True):
        purged["runs"] += _purge(Run.objects.filter(pk=pk, **expired), subject="run",
                                 action=AuditAction.RUN_PURGE,
                                 runs=lambda run: Run.objects.filter(pk=run.pk))
    return purged


def _purge(still_trashed, *, runs, subject: str = "", action: str = "") -> bool:
    """Delete the item `still_trashed` finds (none when it was restored meanwhile: its row
    is locked and read again) with its runs, their points, summaries and artifacts; the
    files (artifacts, and what project_purging names) go once the rows are gone for good.
    Experiments and runs leave an audit entry in their project."""
    with transaction.atomic():
        item = still_trashed.select_for_update().first()
        if item is None:
            return False
        files = list(Artifact.objects.filter(
            Q(run__in=runs(item)) | Q(logged_model__experiment__in=_experiments(item)))
            .values_list("file", flat=True))
        if isinstance(item, Project):
            files += [name for _, names in signals.project_purging.send(sender=Project,
                                                                        project=item)
                      for name in names or ()]
        else:
            name = audit.run_subject(item) if subject == "run" else f"experiment {item.name}"
            audit.record(action=action, project=item.project, subject=name)
        runs(item).delete()
        item.delete()
        transaction.on_commit(lambda: _remove_files(files))
    return True


def _experiments(item) -> QuerySet[Experiment]:
    """The experiments purged with the item (whose logged models of no run go with them)."""
    if isinstance(item, Project):
        return Experiment.objects.filter(project=item)
    if isinstance(item, Experiment):
        return Experiment.objects.filter(pk=item.pk)
    return Experiment.objects.none()


def _remove_files(names: list[str]) -> None:
    """Delete the purged items' files; one the storage refuses now is logged and left (its
    rows are gone for good, so nothing lists it), and the others still go."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("trash: could not delete %s from the artifact storage", name)
