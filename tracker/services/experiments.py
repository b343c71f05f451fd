"""Experiments: named lines of work in a project. Create (or find by name), rename,
soft-delete with their runs and restore, tag."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from tracker.errors import Conflict
from tracker.models import AuditAction, Experiment, Project, Run
from tracker.services import audit
from tracker.services.json_fields import change_json_field, remove_tag
from tracker.services.trash import lock_in_trash
from tracker.validation import check_name, clean_tags


def create_experiment(*, project: Project, user, name: str, hypothesis: str = "") -> Experiment:
    """Create a named line of work in a project."""
    _check_project_not_trashed(project)
    name = check_name(name, field="name", what="experiment name")
    try:
        with transaction.atomic():
            return Experiment.objects.create(project=project, name=name,
                                             hypothesis=hypothesis or "", created_by=user)
    except IntegrityError:
        raise Conflict(f"experiment {name!r} already exists in {project.slug}",
                       field="name") from None


def get_or_create_experiment(*, project: Project, user, name: str) -> Experiment:
    """The experiment of that name, created on first use."""
    _check_project_not_trashed(project)
    name = check_name(name, field="experiment", what="experiment name")
    experiment = Experiment.objects.filter(project=project, name=name).first()
    if experiment:
        return experiment
    try:
        with transaction.atomic():
            return Experiment.objects.create(project=project, name=name, created_by=user)
    except IntegrityError:  # created concurrently by another run of the same sweep
        return Experiment.objects.get(project=project, name=name)


def rename_experiment(*, experiment: Experiment, name: str) -> Experiment:
    """Rename an experiment (unique within its project); a deleted one cannot be renamed."""
    _check_not_deleted(experiment)
    name = check_name(name, field="name", what="experiment name")
    if name == experiment.name:
        return experiment
    if Experiment.objects.filter(project_id=experiment.project_id, name=name).exists():
        raise Conflict(f"experiment {name!r} already exists in this project", field="name")
    experiment.name = name
    experiment.save(update_fields=["name", "updated_at"])
    return experiment


@transaction.atomic
def delete_experiment(*, experiment: Experiment, user=None, address: str = "") -> Experiment:
    """Soft-delete an experiment and every live run in it, all at one instant.

    The shared instant lets `restore_experiment` bring back exactly the runs that
    went with the experiment, not those deleted on their own before.
    """
    if experiment.deleted_at is not None:
        return experiment
    now = timezone.now()
    experiment.deleted_at = now
    experiment.save(update_fields=["deleted_at", "updated_at"])
    Run.objects.live().filter(experiment=experiment).update(deleted_at=now)
    audit.record(action=AuditAction.EXPERIMENT_DELETE, project=experiment.project, user=user,
                 subject=f"experiment {experiment.name}", address=address)
    return experiment


@transaction.atomic
def restore_experiment(*, experiment: Experiment, user=None, address: str = "") -> Experiment:
    """Undo `delete_experiment`: the experiment and the runs deleted with it come back. One
    trashed with its project comes back with it (Conflict here); one purged meanwhile is
    NotFound."""
    if experiment.deleted_at is None or not lock_in_trash(
            experiment, f"experiment {experiment.name!r}", field="experiment"):
        return experiment
    if experiment.project.deleted_at is not None:
        raise Conflict(f"project {experiment.project.slug!r} is in the trash; restore it "
                       "first", field="project")
    Run.objects.filter(experiment=experiment, deleted_at=experiment.deleted_at).update(
        deleted_at=None)
    experiment.deleted_at = None
    experiment.save(update_fields=["deleted_at", "updated_at"])
    audit.record(action=AuditAction.EXPERIMENT_RESTORE, project=experiment.project, user=user,
                 subject=f"experiment {experiment.name}", address=address)
    return experiment


def set_experiment_tags(*, experiment: Experiment, tags: dict) -> Experiment:
    """Set tags on an experiment (last write wins); deleted experiments take none."""
    _check_not_deleted(experiment)
    clean = clean_tags(tags)
    change_json_field(experiment, "tags", lambda current: {**current, **clean})
    return experiment


def delete_experiment_tag(*, experiment: Experiment, key: str) -> Experiment:
    """Remove one tag from an experiment; NotFound when it has no such tag."""
    _check_not_deleted(experiment)
    remove_tag(experiment, key, missing=f"experiment {experiment.name!r} has no tag {key!r}")
    return experiment


def _check_not_deleted(experiment: Experiment) -> None:
    """A deleted experiment takes no changes until it is restored."""
    if experiment.deleted_at is not None:
        raise Conflict(f"experiment {experiment.name!r} was deleted; restore it first",
                       field="experiment")


def _check_project_not_trashed(project: Project) -> None:
    """A project in the trash takes no experiments and no runs (MLflow may still name it)."""
    if project.deleted_at is not None:
        raise Conflict(f"project {project.slug!r} is in the trash; its owners may restore it",
                       field="project")
