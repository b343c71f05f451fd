"""Deployments and live results: deploy a run or a registered model version to an
environment, end a deployment, record a window's live results.

One deployment is live per environment: a new deployment in an environment ends the live
one there at the new one's start, so "what is live in production" has one answer. Setting
the project's deploy alias (default "champion") on a version, or moving a version to its
deploy stage (default "Production"), through the MLflow API deploys that version to
production (tracker.services.model_registry calls deploy_registered_version).
"""

import math
import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tracker import limits, signals
from tracker.errors import Conflict, InvalidInput, LimitExceeded, NotFound
from tracker.models import AuditAction, Deployment, LiveResult, ModelVersion, Project, Run
from tracker.selectors.model_registry import parse_version
from tracker.services import audit
from tracker.validation import check_key, to_float, to_int

PRODUCTION = "production"
_ENVIRONMENT = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_ENVIRONMENT_LENGTH = 50


def check_environment(environment: object, *, field: str = "environment") -> str:
    """An environment's name: production, shadow, canary or a short name of the team's
    (lower-case letters and digits joined by - or _, at most 50 characters)."""
    if (not isinstance(environment, str) or not _ENVIRONMENT.match(environment)
            or len(environment) > MAX_ENVIRONMENT_LENGTH):
        raise InvalidInput(
            f"{field} {environment!r} is not an environment: use production, shadow, canary "
            f"or a short name of lower-case letters and digits joined by - or _ (at most "
            f"{MAX_ENVIRONMENT_LENGTH} characters)", field=field)
    return environment


def run_of_project(project: Project, run_id: object) -> Run:
    """The project's run of that id; the same answer for a run of another project as for
    no run at all, so that an id tells nothing about other projects."""
    text = str(run_id).strip().replace("-", "").lower() if isinstance(run_id, str) else ""
    run = None
    if re.fullmatch(r"[0-9a-f]{32}", text):
        run = Run.objects.filter(pk=text, project=project, deleted_at__isnull=True).first()
    if run is None:
        raise InvalidInput(f"no run {run_id!r} in project {project.slug!r}", field="run")
    return run


def _version_of(project: Project, model: object) -> ModelVersion:
    """The project's registered model version `{"name", "version"}`."""
    if not isinstance(model, dict):
        raise InvalidInput('model must be an object {"name": ..., "version": ...}',
                           field="model")
    name = model.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("model.name must be the name of a registered model",
                           field="model.name")
    if model.get("version") is None:
        raise InvalidInput("model.version is required: the version number to deploy",
                           field="model.version")
    try:
        number = parse_version(model["version"])
    except InvalidInput as exc:
        raise InvalidInput(f"model.version: {exc.message}", field="model.version") from None
    version = (ModelVersion.objects.select_related("registered_model", "run")
               .filter(registered_model__project=project, registered_model__name=name)
               .filter(version=number).first())
    if version is None:
        known = project.registered_models.filter(name=name).exists()
        raise InvalidInput(
            f"registered model {name!r} has no version {number}" if known else
            f"no registered model {name!r} in project {project.slug!r}",
            field="model.version" if known else "model.name")
    return version


def start_deployment(*, project: Project, user, environment: str, run_id: object = None,
                     model: object = None, started_at: datetime | None = None, note: str = "",
                     address: str = "") -> Deployment:
    """Deploy a run of the project (`run_id`) or one of its registered model versions
    (`model`: {"name", "version"}) to `environment`, live from `started_at` (default now).

    The deployment live in that environment, if any, ends at this one's start; a start
    before that deployment's own start is refused (end it, or deploy with a later start).
    The audit log records both.
    """
    environment = check_environment(environment)
    if (run_id is None) == (model is None):
        raise InvalidInput('send either "run" (a run id) or "model" ({"name", "version"}), '
                           "not both nor neither", field="run")
    version = _version_of(project, model) if model is not None else None
    run = run_of_project(project, run_id) if run_id is not None else version.run
    return _deploy(project=project, user=user, environment=environment, run=run,
                   version=version, started_at=started_at or timezone.now(),
                   note=note or "", address=address)


def _deploy(*, project: Project, user, environment: str, run: Run | None,
            version: ModelVersion | None, started_at: datetime, note: str,
            address: str) -> Deployment:
    with transaction.atomic():
        # One deployment at a time per project: two at once would both end the same one.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        previous = list(Deployment.objects.select_for_update().live()
                        .filter(project=project, environment=environment))
        for old in previous:
            if started_at < old.started_at:
                raise Conflict(
                    f"started_at {started_at.isoformat()} is before the start of "
                    f"deployment {old.pk} live in {environment} since "
                    f"{old.started_at.isoformat()}: end it first, or start later",
                    field="started_at")
        deployment = Deployment.objects.create(
            project=project, run=run, model_version=version,
            model_name=version.registered_model.name if version else "",
            model_version_number=version.version if version else None,
            environment=environment, started_at=started_at, note=note,
            created_by=user if user is not None and user.is_authenticated else None)
        for old in previous:
            old.ended_at = started_at
            old.save(update_fields=["ended_at"])
            audit.record(action=AuditAction.DEPLOYMENT_END, project=project, user=user,
                         subject=f"{old.what} in {environment}", address=address,
                         details={"deployment": old.pk, "replaced_by": deployment.pk})
        audit.record(action=AuditAction.DEPLOYMENT_START, project=project, user=user,
                     subject=f"{deployment.what} in {environment}", address=address,
                     details={"deployment": deployment.pk})
    return deployment


def deploy_registered_version(*, version: ModelVersion, user, address: str = "",
                              note: str = "") -> Deployment | None:
    """Deploy a registered model version to production, as setting the project's deploy
    alias or stage on it does. Nothing for a model in no project; the deployment already
    live when this version is live in production already (setting the alias again)."""
    project = version.registered_model.project
    if project is None:
        return None
    live = Deployment.objects.live().filter(project=project, environment=PRODUCTION,
                                            model_version=version).first()
    if live is not None:
        return live
    return _deploy(project=project, user=user, environment=PRODUCTION, run=version.run,
                   version=version, started_at=timezone.now(), note=note, address=address)


def end_deployment(*, deployment: Deployment, user, ended_at: datetime | None = None,
                   address: str = "") -> Deployment:
    """End a live deployment at `ended_at` (default now), which may not precede its start.
    Ending one already ended is a conflict: it says when it ended."""
    with transaction.atomic():
        locked = Deployment.objects.select_for_update().get(pk=deployment.pk)
        if locked.ended_at is not None:
            raise Conflict(f"deployment {locked.pk} already ended at "
                           f"{locked.ended_at.isoformat()}", field="deployment")
        ended_at = ended_at or timezone.now()
        if ended_at < locked.started_at:
            raise InvalidInput(f"ended_at {ended_at.isoformat()} is before the deployment's "
                               f"start, {locked.started_at.isoformat()}", field="ended_at")
        deployment.ended_at = ended_at
        deployment.save(update_fields=["ended_at"])
        audit.record(action=AuditAction.DEPLOYMENT_END, project=deployment.project, user=user,
                     subject=f"{deployment.what} in {deployment.environment}",
                     address=address, details={"deployment": deployment.pk})
    return deployment


def _finite(value: object, *, field: str) -> float:
    number = to_float(value, field=field)
    if not math.isfinite(number):
        raise InvalidInput(f"{field} must be a finite number, not {value!r}", field=field)
    return number


def clean_live_metrics(metrics: object, *, field: str = "metrics") -> dict[str, float]:
    """A window's metrics: an object of metric name: finite number."""
    if not isinstance(metrics, dict):
        raise InvalidInput(f'{field} must be an object of metric name: number, e.g. '
                           '{"f1": 0.83}', field=field)
    if len(metrics) > limits.MAX_LIVE_METRICS:
        raise LimitExceeded(f"{len(metrics)} metrics in {field}; the limit is "
                            f"{limits.MAX_LIVE_METRICS}", field=field)
    return {check_key(name, field=f"{field}.{name}", what="metric name"):
            _finite(value, field=f"{field}.{name}") for name, value in metrics.items()}


def clean_slices(slices: object) -> dict[str, dict[str, float]]:
    """A window's slices: an object of slice name: its metrics."""
    if slices is None:
        return {}
    if not isinstance(slices, dict):
        raise InvalidInput('slices must be an object of slice name: metrics, e.g. '
                           '{"long_texts": {"f1": 0.71}}', field="slices")
    if len(slices) > limits.MAX_LIVE_SLICES:
        raise LimitExceeded(f"{len(slices)} slices; the limit is {limits.MAX_LIVE_SLICES}",
                            field="slices")
    return {check_key(name, field=f"slices.{name}", what="slice name"):
            clean_live_metrics(metrics, field=f"slices.{name}")
            for name, metrics in slices.items()}


def record_live_result(*, deployment: Deployment, window_start: datetime,
                       window_end: datetime, metrics: object, count: object,
                       labelled: object, slices: object = None) -> tuple[LiveResult, bool]:
    """Record the deployment's live results of one window; (result, created). The same
    window posted again replaces the first (a retry, or figures corrected later)."""
    if window_end <= window_start:
        raise InvalidInput(f"window_end {window_end.isoformat()} must be after window_start "
                           f"{window_start.isoformat()}", field="window_end")
    fields = {"metrics": clean_live_metrics(metrics),
              "count": to_int(count, field="count", minimum=0),
              "labelled": to_int(labelled, field="labelled", minimum=0),
              "slices": clean_slices(slices)}
    if fields["labelled"] > fields["count"]:
        raise InvalidInput(f"labelled ({fields['labelled']}) cannot exceed count "
                           f"({fields['count']}): the labelled cases are among those counted",
                           field="labelled")
    if not Deployment.objects.filter(pk=deployment.pk).exists():
        raise NotFound(f"no deployment {deployment.pk}", field="deployment")
    stored = LiveResult.objects.update_or_create(
        deployment=deployment, window_start=window_start, window_end=window_end,
        defaults=fields)
    signals.production_changed.send(sender=Project, project=deployment.project)
    return stored
