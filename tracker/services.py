"""Writes to the tracking domain. Views and commands call these; they never save models directly."""

import hashlib
import math
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from tracker import hot_sql, limits, mlflow_mapping, phrasing, selectors, signals
from tracker.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from tracker.ingest import LockGuard, insert_points, lock_run_for_logging, save_run_fields
from tracker.models import (
    ApiToken,
    Artifact,
    Direction,
    Experiment,
    Guardrail,
    GuardrailOp,
    Membership,
    MetricSummary,
    Project,
    RevealedTestResults,
    Role,
    Run,
    RunDataset,
    RunStatus,
    Target,
    TargetChange,
)
from tracker.points import Columns
from tracker.summaries import refresh_project_best_steps, refresh_summaries
from tracker.validation import (
    check_key,
    check_name,
    check_slug,
    check_split,
    clean_params,
    clean_tags,
    to_date,
    to_float,
    to_int,
)

User = get_user_model()


# --- Projects, targets, guardrails, members ----------------------------------

def _clean_target(data: dict) -> dict:
    """Validate a target given as a dict; returns the fields Target takes."""
    if not isinstance(data, dict):
        raise InvalidInput("target must be an object with metric, direction and threshold",
                           field="target")
    unknown = set(data) - {"metric", "direction", "threshold", "judged_on", "selected_on",
                           "agreed_by", "agreed_on", "definition"}
    if unknown:
        raise InvalidInput(f"target has unknown fields: {', '.join(sorted(unknown))}",
                           field=f"target.{sorted(unknown)[0]}")
    for required in ("metric", "direction", "threshold"):
        if data.get(required) in (None, ""):
            raise InvalidInput(f"target.{required} is required", field=f"target.{required}")
    metric = check_key(data["metric"], field="target.metric")
    direction = data["direction"]
    if direction not in Direction.values:
        raise InvalidInput(f"target.direction must be maximize or minimize, not {direction!r}",
                           field="target.direction")
    threshold = to_float(data["threshold"], field="target.threshold")
    if not math.isfinite(threshold):
        raise InvalidInput("target.threshold must be a finite number", field="target.threshold")
    judged_on = check_split(data.get("judged_on") or "test", field="target.judged_on")
    selected_on = check_split(data.get("selected_on") or "validation",
                              field="target.selected_on")
    if judged_on == selected_on:
        raise InvalidInput(
            "target.selected_on must differ from target.judged_on: a winner chosen on the "
            "split it is judged on would be quoted too optimistically",
            field="target.selected_on",
        )
    definition = data.get("definition") or ""
    if not isinstance(definition, str):
        raise InvalidInput("target.definition must be a string", field="target.definition")
    if definition:
        problem = phrasing.validate_definition(definition)
        if problem:
            raise InvalidInput(f"target.definition: {problem}", field="target.definition")
    agreed_by = data.get("agreed_by") or ""
    if not isinstance(agreed_by, str) or len(agreed_by) > 200:
        raise InvalidInput("target.agreed_by must be a name of at most 200 characters",
                           field="target.agreed_by")
    return {
        "metric": metric,
        "direction": direction,
        "threshold": threshold,
        "judged_on": judged_on,
        "selected_on": selected_on,
        "agreed_by": agreed_by,
        "agreed_on": to_date(data.get("agreed_on"), field="target.agreed_on"),
        "definition": definition,
    }


def _clean_guardrails(items: object) -> list[dict]:
    if not isinstance(items, list):
        raise InvalidInput("guardrails must be a list", field="guardrails")
    cleaned = []
    for i, item in enumerate(items):
        where = f"guardrails[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput(f"{where} must be an object with metric, split, op and value",
                               field=where)
        op = item.get("op")
        if op not in GuardrailOp.values:
            raise InvalidInput(f"{where}.op must be one of <, <=, >, >=, not {op!r}",
                               field=f"{where}.op")
        if item.get("value") is None:
            raise InvalidInput(f"{where}.value is required", field=f"{where}.value")
        value = to_float(item.get("value"), field=f"{where}.value")
        if not math.isfinite(value):
            raise InvalidInput(f"{where}.value must be a finite number", field=f"{where}.value")
        cleaned.append({
            "metric": check_key(item.get("metric"), field=f"{where}.metric"),
            "split": check_split(item.get("split") or "test", field=f"{where}.split"),
            "op": op,
            "value": value,
        })
    return cleaned


@transaction.atomic
def create_project(*, user, slug: str, name: str = "", description: str = "",
                   target: dict | None = None, guardrails: list | None = None) -> Project:
    """Create a project; its creator becomes its owner. Target and guardrails are optional."""
    slug = check_slug(slug)
    target_fields = _clean_target(target) if target is not None else None
    guardrail_rows = _clean_guardrails(guardrails) if guardrails is not None else []
    if Project.objects.filter(slug=slug).exists():
        raise Conflict(f"a project with slug {slug!r} already exists", field="slug")
    project = Project.objects.create(slug=slug, name=name or slug, description=description or "",
                                     created_by=user)
    Membership.objects.create(project=project, user=user, role=Role.OWNER)
    if target_fields:
        Target.objects.create(project=project, **target_fields)
        TargetChange.objects.create(project=project, changed_by=user, what="target", old=None,
                                    new=project.target.as_dict())
    if guardrail_rows:
        Guardrail.objects.bulk_create(Guardrail(project=project, **g) for g in guardrail_rows)
        TargetChange.objects.create(project=project, changed_by=user, what="guardrails",
                                    old=[], new=guardrail_rows)
    return project


def update_project(*, project: Project, name: str | None = None,
                   description: str | None = None) -> Project:
    """Rename or re-describe a project."""
    if name is not None:
        if not name.strip():
            raise InvalidInput("name must not be empty", field="name")
        project.name = name
    if description is not None:
        project.description = description
    project.save(update_fields=["name", "description"])
    return project


@transaction.atomic
def set_target(*, project: Project, user, target: dict | None) -> Target | None:
    """Agree (or change, or remove) the project's target; every change is recorded.

    A change of metric, direction or selection split moves every run's best step,
    so the summaries are recomputed here rather than left stale.
    """
    old_target = Target.objects.filter(project=project).first()
    old = old_target.as_dict() if old_target else None
    if target is None:
        if old_target:
            old_target.delete()
            TargetChange.objects.create(project=project, changed_by=user, what="target",
                                        old=old, new=None)
            _refresh_project_best_steps(project)
            signals.target_changed.send(sender=Project, project=project)
        return None
    fields = _clean_target(target)
    _check_not_an_mlflow_key(project, fields["metric"])
    if old_target:
        for name, value in fields.items():
            setattr(old_target, name, value)
        old_target.save()
        new_target = old_target
    else:
        new_target = Target.objects.create(project=project, **fields)
    new = new_target.as_dict()
    if new != old:
        TargetChange.objects.create(project=project, changed_by=user, what="target",
                                    old=old, new=new)
        selection_moved = old is None or any(
            old[k] != new[k] for k in ("metric", "direction", "selected_on"))
        if selection_moved:
            _refresh_project_best_steps(project)
        signals.target_changed.send(sender=Project, project=project)
    return new_target


def _check_not_an_mlflow_key(project: Project, metric: str) -> None:
    """An MLflow user names the target by the key they logged ("val_accuracy"), which
    Targetline files as accuracy on validation: such a target would match no run. Refused,
    with the name to write, when the project's runs hold the series it maps to and none
    logged the name as written (a target agreed before any run is taken as written)."""
    key, split = mlflow_mapping.split_metric_key(metric)
    if key == metric:
        return
    logged = selectors.logged_summaries(project=project)
    if logged.filter(key=metric).exists() or not logged.filter(key=key, split=split).exists():
        return
    raise InvalidInput(
        f"No run here logged a metric named “{metric}”: an MLflow client's {metric} is kept as "
        f"{key} on {split}. Write {key} (and {split} as the split).", field="target.metric")


@transaction.atomic
def set_guardrails(*, project: Project, user, guardrails: list) -> list[Guardrail]:
    """Replace the project's guardrails; the change is recorded."""
    rows = _clean_guardrails(guardrails)
    old = [g.as_dict() for g in project.guardrails.all()]
    if rows == old:
        return list(project.guardrails.all())
    project.guardrails.all().delete()
    created = Guardrail.objects.bulk_create(Guardrail(project=project, **g) for g in rows)
    TargetChange.objects.create(project=project, changed_by=user, what="guardrails",
                                old=old, new=rows)
    signals.target_changed.send(sender=Project, project=project)
    return created


def _refresh_project_best_steps(project: Project) -> None:
    refresh_project_best_steps(project_id=project.id,
                               target=Target.objects.filter(project=project).first())


def set_member(*, project: Project, username: str, role: str,
               create: bool = True) -> Membership:
    """Add a user to a project (unless create=False), or change their role.

    The last owner cannot be demoted.
    """
    if role not in Role.values:
        raise InvalidInput(f"role must be owner, member or viewer, not {role!r}", field="role")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise InvalidInput(f"no user named {username!r}", field="username")
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(
            project=project, user=user).first()
        if membership is None:
            if not create:
                raise NotFound(f"{username!r} is not a member of this project",
                               field="username")
            return Membership.objects.create(project=project, user=user, role=role)
        if membership.role == Role.OWNER and role != Role.OWNER:
            _ensure_another_owner(project, user)
        membership.role = role
        membership.save(update_fields=["role"])
        return membership


@transaction.atomic
def remove_member(*, project: Project, username: str) -> None:
    """Remove a user from a project; a project always keeps at least one owner."""
    membership = Membership.objects.select_for_update().filter(
        project=project, user__username=username).first()
    if membership is None:
        raise NotFound(f"{username!r} is not a member of this project", field="username")
    if membership.role == Role.OWNER:
        _ensure_another_owner(project, membership.user)
    membership.delete()


def _ensure_another_owner(project: Project, user) -> None:
    others = Membership.objects.filter(project=project, role=Role.OWNER).exclude(user=user)
    if not others.exists():
        raise Conflict("a project needs at least one owner: make someone else owner first",
                       field="role")


# --- Experiments and runs ----------------------------------------------------

def create_experiment(*, project: Project, user, name: str, hypothesis: str = "") -> Experiment:
    """Create a named line of work in a project."""
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
    name = check_name(name, field="experiment", what="experiment name")
    experiment = Experiment.objects.filter(project=project, name=name).first()
    if experiment:
        return experiment
    try:
        with transaction.atomic():
            return Experiment.objects.create(project=project, name=name, created_by=user)
    except IntegrityError:  # created concurrently by another run of the same sweep
        return Experiment.objects.get(project=project, name=name)


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
    if not run.name:
        run.name = f"{exp.name}-{str(run.id)[:8]}"
    if run_id is None:  # a new random id: a single INSERT, no transaction of its own
        run.save(force_insert=True)
        return run, True
    try:
        with transaction.atomic():
            run.save(force_insert=True)
    except IntegrityError:  # the same client id raced itself
        existing = Run.objects.filter(id=run.id, project=project).first()
        if existing is None:
            raise Conflict(f"run id {run.id} is already used", field="id") from None
        return existing, False
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
    _check_not_deleted(run)
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
    _check_not_deleted(run)
    run.last_heartbeat = timezone.now()
    run.save(update_fields=["last_heartbeat"])
    return run


def finish_run(*, run: Run, status: str = RunStatus.FINISHED,
               ended_at: datetime | None = None) -> Run:
    """End a run as finished, failed or killed. Finishing twice keeps the first end time."""
    _check_not_deleted(run)
    if status not in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED):
        raise InvalidInput(f"status must be finished, failed or killed, not {status!r}",
                           field="status")
    run.status = status
    run.ended_at = run.ended_at or ended_at or timezone.now()
    run.last_heartbeat = timezone.now()
    run.save(update_fields=["status", "ended_at", "last_heartbeat"])
    signals.run_results_changed.send(sender=Run, run=run)
    return run


def delete_run(*, run: Run) -> None:
    """Soft-delete: the run disappears from searches and accepts no more data."""
    if run.deleted_at is None:
        run.deleted_at = timezone.now()
        run.save(update_fields=["deleted_at"])


def restore_run(*, run: Run) -> Run:
    run.deleted_at = None
    run.save(update_fields=["deleted_at"])
    return run


def _check_not_deleted(run: Run) -> None:
    if run.deleted_at is not None:
        raise Conflict(f"run {run.id} was deleted; it accepts no more changes or data",
                       field="run")


# --- Logging -------------------------------------------------------------------

_MISSING = object()
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def clean_points(metrics: object, *, now_ms: int | None = None, by_name: bool = False,
                 timestamp_required: bool = False) -> dict[tuple[str, str] | str, Columns]:
    """Validate metric points; returns each series' (steps, timestamps, values) by (key, split).

    A point without a timestamp gets the server's clock (clients that retry send
    their own, so a replay is recognised), unless `timestamp_required`. Without a
    step it is logged at step 0. `by_name`: the points carry a client's own names
    (MLflow's "val_f1") and no split; they are grouped by that name, which the
    caller checked and resolves to a series later.
    """
    if not isinstance(metrics, list):
        raise InvalidInput("metrics must be a list of points", field="metrics")
    if len(metrics) > limits.MAX_POINTS_PER_BATCH:
        raise LimitExceeded(
            f"{len(metrics)} metric points in one request; the limit is "
            f"{limits.MAX_POINTS_PER_BATCH}: split the batch", field="metrics")
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    batch: dict[tuple[str, str], Columns] = {}
    # The loop runs for every point of every batch: well-formed points take the fast
    # path, and the name of a field ("metrics[7].step") is only made for an error.
    for i, point in enumerate(metrics):
        if type(point) is not dict and not isinstance(point, dict):
            raise InvalidInput(f"metrics[{i}] must be an object with key, split, step, "
                               "value", field=f"metrics[{i}]")
        series = point["key"] if by_name else (point.get("key"), point.get("split") or "train")
        try:
            columns = batch.get(series)
        except TypeError:  # a key or split that is not even hashable
            columns = None
        if columns is None:  # each series is validated once
            if not by_name:
                check_key(series[0], field=f"metrics[{i}].key")
                check_split(series[1], field=f"metrics[{i}].split")
            columns = batch[series] = ([], [], [])
        step, ts, value = point.get("step"), point.get("timestamp"), point.get("value", _MISSING)
        if type(step) is str:  # MLflow's JSON carries int64 as strings
            try:
                step = int(step)
            except ValueError:
                to_int(step, field=f"metrics[{i}].step")  # raises, naming the field
        if type(ts) is str:
            try:
                ts = int(ts)
            except ValueError:
                to_int(ts, field=f"metrics[{i}].timestamp")
        if type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
            step = 0 if step is None else to_int(step, field=f"metrics[{i}].step")
        if type(ts) is not int or not _INT64_MIN <= ts <= _INT64_MAX:
            if ts is None and timestamp_required:
                raise InvalidInput(f"metrics[{i}].timestamp is required",
                                   field=f"metrics[{i}].timestamp")
            ts = now_ms if ts is None else to_int(ts, field=f"metrics[{i}].timestamp")
        if type(value) is not float:
            if value is _MISSING or (value is None and timestamp_required):
                raise InvalidInput(f"metrics[{i}].value is required", field=f"metrics[{i}].value")
            value = to_float(value, field=f"metrics[{i}].value")
        columns[0].append(step)
        columns[1].append(ts)
        columns[2].append(value)
    return batch


# Resolves a batch's point names to series from the run's summaries (see log_batch).
SeriesResolver = Callable[[list[str], list[MetricSummary]], dict[str, tuple[str, str]]]


def log_batch(*, run: Run, metrics: list | None = None, params: dict | None = None,
              tags: dict | None = None, series_of: SeriesResolver | None = None,
              guard: LockGuard | None = None,
              points: dict[str, Columns] | None = None) -> dict:
    """Append metric points and set params and tags in one transaction.

    Points are append-only and a replayed point is stored once; params are
    write-once (the same value again is fine, another value is a conflict);
    tags are last-write-wins. A finished run still takes points (test
    evaluation often comes after training); a deleted run takes none.
    `series_of` resolves the metric names of an external client to series
    (MLflow's "val_f1" to ("f1", "validation")), given the run's summaries as
    they are under the run's lock: its points carry no split, each must have a
    timestamp and a value, and a new series records the name it was logged
    under. `guard`: a condition the run's row must meet for its lock (the caller's
    permission, checked by the lock's own statement); a run that does not meet it is
    NotFound, and nothing is written. `run` is then filled in from its locked row, so
    it may be a bare Run(pk=…). `points` instead of `metrics`: points by name that a
    client's own reader found valid, as clean_points(by_name=True) gives them (its
    steps and timestamps ints of 64 bits, its values floats). Returns how many points
    were new.
    """
    if points is not None:
        batch = points
    else:
        batch = clean_points(metrics or [], by_name=series_of is not None,
                             timestamp_required=series_of is not None)
    checked_params = clean_params(params or {})
    checked_tags = clean_tags(tags or {})
    stored, locked = _log_batch(run, batch, checked_params, checked_tags, series_of, guard)
    for field in Run._meta.concrete_fields:  # as stored, under the lock
        setattr(run, field.attname, getattr(locked, field.attname))
    signals.run_results_changed.send(sender=Run, run=run)
    return {"points_received": sum(len(steps) for steps, _, _ in batch.values()),
            "points_stored": stored, "params": len(checked_params), "tags": len(checked_tags)}


def _by_series(batch: dict[str, Columns], summaries: list[MetricSummary],
               series_of: SeriesResolver) -> tuple[dict[tuple[str, str], Columns], dict]:
    """A batch grouped by name, regrouped by the series each name resolves to; and the name
    each series was logged under (resolved names never share a series)."""
    resolved = series_of(list(batch), summaries)
    by_series, source_keys = {}, {}
    for name, columns in batch.items():
        series = resolved[name]
        check_key(series[0], field="metrics.key")
        check_split(series[1], field="metrics.split")
        by_series[series], source_keys[series] = columns, name
    return by_series, source_keys


def _log_batch(run: Run, batch: dict, params: dict, tags: dict,
               series_of: SeriesResolver | None, guard: LockGuard | None) -> tuple[int, Run]:
    """log_batch's transaction: lock the run, check and set params and tags, store points.

    In psycopg's pipeline mode the whole transaction takes two round trips to PostgreSQL
    (and the pipeline's closing sync): the lock with the read of the run's series, then the
    writes (params and tags, points, summaries) with the commit. Names are resolved to
    series under the lock, so two first batches cannot both claim one series.
    """
    with hot_sql.atomic_pipeline():
        lock = lock_run_for_logging(run.pk, now=timezone.now(), guard=guard)
        if lock is None:
            raise NotFound(f"run {run.pk} does not exist", field="run")
        locked, target = lock.run, lock.target
        _check_not_deleted(locked)
        for key, value in params.items():
            if key in locked.params and locked.params[key] != value:
                raise Conflict(
                    f"param {key!r} is already {locked.params[key]!r}; params are write-once, "
                    f"so it cannot become {value!r} (start a new run to try another value)",
                    field=f"params.{key}")
        fields = []
        if params:
            locked.params = {**locked.params, **params}
            fields.append("params")
        if tags:
            locked.tags = {**locked.tags, **tags}
            fields.append("tags")
        if fields:
            save_run_fields(locked, fields)
        stored = 0
        if batch:
            source_keys = None
            if series_of is not None:
                batch, source_keys = _by_series(batch, lock.summaries, series_of)
            inserted = insert_points(locked=lock, batch=batch, source_keys=source_keys)
            stored = inserted.stored
            if inserted.new:
                refresh_summaries(run=locked, target=target, new=inserted.new,
                                  summaries=inserted.summaries, past_last=inserted.past_last)
    return stored, locked


# --- Artifacts -------------------------------------------------------------------

def store_artifact(*, run: Run, path: str, fileobj,
                   content_type: str = "") -> tuple[Artifact, bool]:
    """Store a file for a run through Django's storage, with its size and SHA-256.

    Uploading to a path that exists replaces the file (the last upload wins).
    Returns (artifact, replaced).
    """
    _check_not_deleted(run)
    path = _clean_artifact_path(path)
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(fileobj):
        digest.update(chunk)
        size += len(chunk)
    if size > limits.MAX_ARTIFACT_BYTES:
        raise LimitExceeded(f"artifact is {size} bytes; the limit is "
                            f"{limits.MAX_ARTIFACT_BYTES}", field="file")
    fileobj.seek(0)
    with transaction.atomic():
        old = Artifact.objects.select_for_update().filter(run=run, path=path).first()
        if old is not None:
            old.file.delete(save=False)
            old.delete()
        artifact = Artifact(run=run, path=path, size=size, sha256=digest.hexdigest(),
                            content_type=content_type or "")
        artifact.file.save(path, File(fileobj), save=False)
        artifact.save()
    return artifact, old is not None


def _chunks(fileobj, size: int = 1024 * 1024):
    if hasattr(fileobj, "chunks"):
        yield from fileobj.chunks()
        return
    while chunk := fileobj.read(size):
        yield chunk


def _clean_artifact_path(path: object) -> str:
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("artifact path must be a non-empty string", field="path")
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or len(path) > 500:
        raise InvalidInput(f"artifact path {path!r} must be a relative path without '..'",
                           field="path")
    return "/".join(parts)


# --- Tokens ------------------------------------------------------------------------

TOKEN_PREFIX = "tl_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(*, user, name: str = "") -> tuple[ApiToken, str]:
    """A new API token; the raw token is returned once and only its hash is kept."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name or "", prefix=raw[:10],
                                    key_hash=hash_token(raw))
    return token, raw


def revoke_token(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


# --- Web UI writes ---------------------------------------------------------------------

def record_test_reveal(*, project: Project, user, run_ids) -> RevealedTestResults:
    """Record that `user` looked at test-split results of these runs (not the winner or the
    baseline, whose test values are always shown).

    Looking at test results while still choosing turns the test set into a validation set;
    reports count these rows to say how often it happened.
    """
    ids = sorted({str(uuid.UUID(str(r))) for r in run_ids})
    if not ids:
        raise InvalidInput("name at least one run whose test results to show", field="run")
    return RevealedTestResults.objects.create(project=project, user=user, run_ids=ids)


# --- Experiments: rename, delete, restore, tags (used by the MLflow endpoints) -------

def rename_experiment(*, experiment: Experiment, name: str) -> Experiment:
    """Rename an experiment (unique within its project); a deleted one cannot be renamed."""
    if experiment.deleted_at is not None:
        raise Conflict(f"experiment {experiment.name!r} was deleted; restore it first",
                       field="experiment")
    name = check_name(name, field="name", what="experiment name")
    if name == experiment.name:
        return experiment
    if Experiment.objects.filter(project_id=experiment.project_id, name=name).exists():
        raise Conflict(f"experiment {name!r} already exists in this project", field="name")
    experiment.name = name
    experiment.save(update_fields=["name", "updated_at"])
    return experiment


@transaction.atomic
def delete_experiment(*, experiment: Experiment) -> Experiment:
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
    return experiment


@transaction.atomic
def restore_experiment(*, experiment: Experiment) -> Experiment:
    """Undo `delete_experiment`: the experiment and the runs deleted with it come back."""
    if experiment.deleted_at is None:
        return experiment
    Run.objects.filter(experiment=experiment, deleted_at=experiment.deleted_at).update(
        deleted_at=None)
    experiment.deleted_at = None
    experiment.save(update_fields=["deleted_at", "updated_at"])
    return experiment


def set_experiment_tags(*, experiment: Experiment, tags: dict) -> Experiment:
    """Set tags on an experiment (last write wins); deleted experiments take none."""
    if experiment.deleted_at is not None:
        raise Conflict(f"experiment {experiment.name!r} was deleted; restore it first",
                       field="experiment")
    clean = clean_tags(tags)
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        locked.tags = {**locked.tags, **clean}
        locked.save(update_fields=["tags", "updated_at"])
    experiment.tags = locked.tags
    return experiment


def delete_experiment_tag(*, experiment: Experiment, key: str) -> Experiment:
    """Remove one tag from an experiment; NotFound when it has no such tag."""
    if experiment.deleted_at is not None:
        raise Conflict(f"experiment {experiment.name!r} was deleted; restore it first",
                       field="experiment")
    with transaction.atomic():
        locked = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if key not in locked.tags:
            raise NotFound(f"experiment {experiment.name!r} has no tag {key!r}", field="key")
        locked.tags = {k: v for k, v in locked.tags.items() if k != key}
        locked.save(update_fields=["tags", "updated_at"])
    experiment.tags = locked.tags
    return experiment


# --- Runs: tag removal and datasets (used by the MLflow endpoints) ------------------

def delete_run_tag(*, run: Run, key: str) -> Run:
    """Remove one tag from a run; NotFound when it has no such tag."""
    _check_not_deleted(run)
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if key not in locked.tags:
            raise NotFound(f"run {run.id} has no tag {key!r}", field="key")
        locked.tags = {k: v for k, v in locked.tags.items() if k != key}
        locked.save(update_fields=["tags"])
    run.tags = locked.tags
    return run


def log_run_datasets(*, run: Run, datasets: list[dict]) -> int:
    """Record the datasets a run used (MLflow's run inputs); returns how many were new.

    Each item has name and digest (required) and source_type, source, schema,
    profile and tags; a dataset already recorded for the run with the same name
    and digest is kept as it was, so logging the same input twice is harmless.
    """
    _check_not_deleted(run)
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
    _check_not_deleted(run)
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
