"""Runs: start one (safe to retry with a client's own id), annotate, re-tag, keep alive,
finish, soft-delete and restore; a run's datasets and context. A deleted run takes no more
changes or data."""

import uuid
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from tracker import hot_sql, signals, telemetry
from tracker.errors import Conflict, InvalidInput
from tracker.ingest import save_run_fields
from tracker.models import AuditAction, Experiment, Project, Run, RunDataset, RunStatus
from tracker.services import audit
from tracker.services.experiments import get_or_create_experiment
from tracker.services.json_fields import remove_tag
from tracker.services.trash import lock_in_trash
from tracker.validation import check_name, clean_params, clean_tags


def create_run(*, project: Project, user, experiment: str | Experiment, name: str = "",
               run_id: str | uuid.UUID | None = None, params: dict | None = None,
               tags: dict | None = None, baseline: bool = False, notes: str = "",
               git_commit: str = "", data_version: str = "", host: str = "",
               context: dict | None = None, started_at: datetime | None = None,
               status: str = RunStatus.RUNNING) -> tuple[Run, bool]:
    """Start a run in an experiment (given, or named and created on first use).
    Returns (run, created).

    A client may choose the run id, so a script can start while the server is
    down; re-creating a run with the same id in the same project returns the
    existing run, which makes the creation itself safe to retry.
    """
    if run_id is not None:
        run_id, existing = _client_run_id(project, run_id)
        if existing is not None:
            return existing, False
    params = clean_params(params or {})
    tags = clean_tags(tags or {})
    if status not in RunStatus.values:
        raise InvalidInput(f"status must be one of {', '.join(RunStatus.values)}",
                           field="status")
    if name and len(name) > 250:
        raise InvalidInput("name is longer than 250 characters", field="name")
    exp = _experiment_of_new_run(project, user, experiment)
    now = timezone.now()
    run = Run(
        project=project, experiment=exp, name=name or "", params=params, tags=tags,
        baseline=bool(baseline), notes=notes or "", git_commit=(git_commit or "")[:64],
        data_version=data_version or "", host=host or "", context=context or {},
        started_at=started_at or now, last_heartbeat=now, created_by=user, status=status,
    )
    if run_id is not None:
        run.id = run_id
    if not run.name:  # the experiment's name may take all 250 characters: cut it short
        run.name = f"{exp.name[:241]}-{str(run.id)[:8]}"
    if run_id is None:  # a new random id: a single INSERT, no transaction of its own
        hot_sql.insert(run)
        telemetry.count_run()
        return run, True
    try:
        with transaction.atomic():
            run.save(force_insert=True)
    except IntegrityError:  # the same client id raced itself
        existing = Run.objects.filter(id=run.id, project=project).first()
        if existing is None:
            raise Conflict(f"run id {run.id} is already used", field="id") from None
        return existing, False
    telemetry.count_run()
    return run, True


def _client_run_id(project: Project, run_id: object) -> tuple[uuid.UUID, Run | None]:
    """A run id the client chose, and the run of this project it names already (a retried
    creation); Conflict when it names a run of another project or a deleted one."""
    try:
        run_id = uuid.UUID(str(run_id))
    except ValueError:
        raise InvalidInput(f"id must be a UUID, not {run_id!r}", field="id") from None
    existing = Run.objects.filter(id=run_id).first()
    if existing is not None:
        if existing.project_id != project.id:
            raise Conflict(f"run id {run_id} is already used", field="id")
        if existing.deleted_at is not None:
            raise Conflict(f"run {run_id} was deleted; start a run with a new id", field="id")
    return run_id, existing


def _experiment_of_new_run(project: Project, user, experiment: str | Experiment) -> Experiment:
    """The experiment given (it must be in the project), or the one named, made on first use."""
    if not isinstance(experiment, Experiment):
        return get_or_create_experiment(project=project, user=user, name=experiment)
    if experiment.project_id != project.pk:  # the caller read it already
        raise InvalidInput(f"experiment {experiment.name!r} is not in project "
                           f"{project.slug!r}", field="experiment")
    return experiment


def update_run(*, run: Run, name: str | None = None, status: str | None = None,
               notes: str | None = None, tags: dict | None = None,
               baseline: bool | None = None) -> Run:
    """Rename, annotate, re-tag or change the status of a run."""
    check_not_deleted(run)
    fields = []
    if name is not None:
        run.name = check_name(name, field="name", what="run name")
        fields.append("name")
    if notes is not None:
        run.notes = notes
        fields.append("notes")
    if tags is not None:
        run.tags = {**run.tags, **clean_tags(tags)}
        fields.append("tags")
    if baseline is not None:
        run.baseline = bool(baseline)
        fields.append("baseline")
    if status is not None:
        if status not in RunStatus.values:
            raise InvalidInput(f"status must be one of {', '.join(RunStatus.values)}, "
                               f"not {status!r}", field="status")
        run.status = status
        run.ended_at = None if status == RunStatus.RUNNING else (run.ended_at or timezone.now())
        fields += ["status", "ended_at"]
    if fields:
        run.save(update_fields=fields)
    return run


def heartbeat(*, run: Run) -> Run:
    """Record that the run's process is still alive."""
    check_not_deleted(run)
    run.last_heartbeat = timezone.now()
    run.save(update_fields=["last_heartbeat"])
    return run


def finish_run(*, run: Run, status: str = RunStatus.FINISHED,
               ended_at: datetime | None = None) -> Run:
    """End a run as finished, failed or killed. Finishing twice keeps the first end time."""
    check_not_deleted(run)
    if status not in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED):
        raise InvalidInput(f"status must be finished, failed or killed, not {status!r}",
                           field="status")
    run.status = status
    run.ended_at = run.ended_at or ended_at or timezone.now()
    run.last_heartbeat = timezone.now()
    # A plain UPDATE: every script's end_run() comes here, and the ORM's save costs more
    # in Python than the statement does in the database.
    save_run_fields(run, ["status", "ended_at", "last_heartbeat"])
    signals.run_results_changed.send(sender=Run, run=run)
    return run


def delete_run(*, run: Run, user=None, address: str = "") -> None:
    """Move the run to the trash: it disappears from searches and accepts no more data;
    restorable for TRASH_DAYS (tracker.services.trash). Recorded in the audit log."""
    if run.deleted_at is None:
        run.deleted_at = timezone.now()
        run.save(update_fields=["deleted_at"])
        audit.record(action=AuditAction.RUN_DELETE, project=run.project, user=user,
                     subject=audit.run_subject(run), address=address)


@transaction.atomic
def restore_run(*, run: Run, user=None, address: str = "") -> Run:
    """Undo `delete_run`: the run is found by searches again and takes data, its points,
    summaries and artifacts as they were. A run trashed with its experiment or project
    comes back with them (Conflict here). The run's row is locked and read again, so a
    restore and the trash's purge (which locks it too) never both win: a run purged
    meanwhile is NotFound."""
    if run.deleted_at is None or not lock_in_trash(run, f"run {run.id}", field="run"):
        return run
    if run.project.deleted_at is not None:
        raise Conflict(f"project {run.project.slug!r} is in the trash; restore it first",
                       field="project")
    if run.experiment.deleted_at is not None:
        raise Conflict(f"experiment {run.experiment.name!r} is in the trash; restore it "
                       "first", field="experiment")
    run.deleted_at = None
    run.save(update_fields=["deleted_at"])
    audit.record(action=AuditAction.RUN_RESTORE, project=run.project, user=user,
                 subject=audit.run_subject(run), address=address)
    return run


def check_not_deleted(run: Run) -> None:
    """A deleted run takes no more changes or data: Conflict."""
    if run.deleted_at is not None:
        raise Conflict(f"run {run.id} was deleted; it accepts no more changes or data",
                       field="run")


def delete_run_tag(*, run: Run, key: str) -> Run:
    """Remove one tag from a run; NotFound when it has no such tag."""
    check_not_deleted(run)
    remove_tag(run, key, missing=f"run {run.id} has no tag {key!r}", touch=False)
    return run


def log_run_datasets(*, run: Run, datasets: list[dict]) -> int:
    """Record the datasets a run used (MLflow's run inputs); returns how many were new.

    Each item has name and digest (required) and source_type, source, schema,
    profile and tags; a dataset already recorded for the run with the same name
    and digest is kept as it was, so logging the same input twice is harmless.
    """
    check_not_deleted(run)
    if not isinstance(datasets, list):
        raise InvalidInput("datasets must be a list", field="datasets")
    rows: dict[tuple[str, str], RunDataset] = {}
    for i, item in enumerate(datasets):
        where = f"datasets[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} must be an object", field=where)
        name, digest = item.get("name"), item.get("digest")
        if not isinstance(name, str) or not name or len(name) > 500:
            raise InvalidInput(f"{where}.name must be a string of 1 to 500 characters",
                               field=f"{where}.name")
        if not isinstance(digest, str) or not digest or len(digest) > 36:
            raise InvalidInput(f"{where}.digest must be a string of 1 to 36 characters",
                               field=f"{where}.digest")
        texts = {}
        for field_name, limit in (("source_type", 36), ("source", 65_535),
                                  ("schema", 1_048_575), ("profile", 16_777_215)):
            value = item.get(field_name) or ""
            if not isinstance(value, str) or len(value) > limit:
                raise InvalidInput(f"{where}.{field_name} must be a string of at most "
                                   f"{limit} characters", field=f"{where}.{field_name}")
            texts[field_name] = value
        tags = item.get("tags") or {}
        if not isinstance(tags, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise InvalidInput(f"{where}.tags must map names to strings", field=f"{where}.tags")
        rows.setdefault((name, digest), RunDataset(run=run, name=name, digest=digest,
                                                   tags=tags, **texts))
    if not rows:
        return 0
    before = RunDataset.objects.filter(run=run).count()
    RunDataset.objects.bulk_create(rows.values(), ignore_conflicts=True)
    return RunDataset.objects.filter(run=run).count() - before


def update_run_context(*, run: Run, key: str, update) -> object:
    """Change one entry of a run's context under a row lock; returns the new value.

    `update` receives the entry's current value (None when absent) and returns
    the new one (None removes the entry). Clients keep metadata here that has
    no column of its own, such as the MLflow client's logged models.
    """
    check_not_deleted(run)
    with transaction.atomic():
        locked = Run.objects.select_for_update().only("id", "context").get(pk=run.pk)
        context = dict(locked.context or {})
        value = update(context.get(key))
        if value is None:
            context.pop(key, None)
        else:
            context[key] = value
        Run.objects.filter(pk=run.pk).update(context=context)
    run.context = context
    return value
