"""The trash: a deleted project (with its experiments and runs), experiment or run stays
restorable, as it was, for settings.TRASH_DAYS; then `purge_expired` removes it for good
with its points and artifact files.

A project is trashed by stamping it, and every live experiment and run in it, with one
instant: restoring brings back exactly what went with it, not what was deleted on its own
before (as `tracker.services.experiments.delete_experiment` does for its runs). Its
reports, check-in, target, members and artifacts are never touched until the purge.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from tracker import signals
from tracker.errors import Conflict
from tracker.models import Artifact, AuditAction, Experiment, Project, Run
from tracker.services import audit


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
    if project.deleted_at is None:
        raise Conflict(f"project {project.slug!r} is not in the trash", field="project")
    Run.objects.filter(project=project, deleted_at=project.deleted_at).update(deleted_at=None)
    Experiment.objects.filter(project=project, deleted_at=project.deleted_at).update(
        deleted_at=None)
    project.deleted_at = None
    project.save(update_fields=["deleted_at"])
    audit.record(action=AuditAction.PROJECT_RESTORE, project=project, user=user,
                 subject=f"project {project.slug}", address=address)
    return project


def check_in_trash(run: Run) -> None:
    """Restoring asks for a run in the trash: Conflict for a live one."""
    if run.deleted_at is None:
        raise Conflict(f"run {run.id} is not in the trash", field="run")


def purge_expired(*, now: datetime | None = None) -> dict[str, int]:
    """Remove for good what has been in the trash longer than TRASH_DAYS: projects, then
    experiments and runs of live projects, with their points, summaries and artifact files.
    Returns how many of each went. Run by beat (reports.tasks.purge_trash)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TRASH_DAYS)
    purged = {"projects": 0, "experiments": 0, "runs": 0}
    for project in Project.objects.filter(deleted_at__lt=cutoff):
        others = [name for _, names in signals.project_purging.send(sender=Project,
                                                                    project=project)
                  for name in names or ()]
        _purge(runs=Run.objects.filter(project=project), then=project, files=others)
        purged["projects"] += 1
    live_projects = {"project__deleted_at__isnull": True}
    for experiment in (Experiment.objects.filter(deleted_at__lt=cutoff, **live_projects)
                       .select_related("project")):
        _purge(runs=Run.objects.filter(experiment=experiment), then=experiment)
        audit.record(action=AuditAction.EXPERIMENT_PURGE, project=experiment.project,
                     subject=f"experiment {experiment.name}")
        purged["experiments"] += 1
    for run in Run.objects.filter(deleted_at__lt=cutoff, **live_projects).select_related(
            "project"):
        _purge(runs=Run.objects.filter(pk=run.pk))
        audit.record(action=AuditAction.RUN_PURGE, project=run.project,
                     subject=audit.run_subject(run))
        purged["runs"] += 1
    return purged


def _purge(*, runs, then=None, files: list[str] = ()) -> None:
    """Delete the runs (their points, summaries and artifacts go with them), then `then`;
    the artifact files (and `files`) are removed once the rows are gone for good."""
    files = [*files, *Artifact.objects.filter(run__in=runs).values_list("file", flat=True)]
    with transaction.atomic():
        runs.delete()
        if then is not None:
            then.delete()
        transaction.on_commit(lambda: _remove_files(files))


def _remove_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
