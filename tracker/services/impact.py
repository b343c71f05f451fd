"""Business results: record (and delete) an A/B test or a backtest of a deployment or a run
on a business metric. The difference and its interval are worked out when read
(tracker.selectors.impact), from the groups stored as sent."""

from datetime import datetime

from django.db import transaction

from tracker import impact as impact_rules
from tracker.errors import InvalidInput
from tracker.models import AuditAction, Deployment, ImpactResult, Project
from tracker.phrasing import MAXIMIZE, MINIMIZE
from tracker.services import audit
from tracker.services.deployments import run_of_project
from tracker.validation import to_int

MAX_METRIC_LENGTH = 250
MAX_UNIT_LENGTH = 50


def _text(value: object, *, field: str, limit: int, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"{field} must be {'a non-empty' if required else 'a'} string",
                           field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is {len(value)} characters long; the limit is {limit}",
                           field=field)
    return value.strip()


def _deployment_of(project: Project, deployment_id: object) -> Deployment:
    pk = to_int(deployment_id, field="deployment", minimum=1)
    deployment = Deployment.objects.filter(pk=pk, project=project).first() if pk < 2**63 else None
    if deployment is None:
        raise InvalidInput(f"no deployment {deployment_id!r} in project {project.slug!r}",
                           field="deployment")
    return deployment


def record_impact(*, project: Project, user, kind: object, metric: object, direction: object,
                  control: object, treatment: object, started_at: datetime,
                  ended_at: datetime, deployment_id: object = None, run_id: object = None,
                  unit: object = None, note: object = None, address: str = "") -> ImpactResult:
    """Record an A/B test or a backtest of one of the project's deployments (`deployment_id`)
    or runs (`run_id`): `control` and `treatment` are both rates ({"successes", "n"}) or
    both means ({"mean", "sd", "n"}); `direction` says whether higher (maximize) or lower
    (minimize) is better. Every mistake names its field."""
    if kind not in impact_rules.KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(impact_rules.KINDS)}, not "
                           f"{kind!r}", field="kind")
    if direction not in (MAXIMIZE, MINIMIZE):
        raise InvalidInput(f"direction must be {MAXIMIZE!r} (higher is better) or "
                           f"{MINIMIZE!r} (lower is better), not {direction!r}",
                           field="direction")
    metric = _text(metric, field="metric", limit=MAX_METRIC_LENGTH, required=True)
    unit = _text(unit, field="unit", limit=MAX_UNIT_LENGTH, required=False)
    note = _text(note, field="note", limit=10_000, required=False)
    first = impact_rules.group_from(control, field="control")
    second = impact_rules.group_from(treatment, field="treatment")
    if type(first) is not type(second):
        raise InvalidInput('control and treatment must both be rates {"successes", "n"} or '
                           'both means {"mean", "sd", "n"}', field="treatment")
    if ended_at <= started_at:
        raise InvalidInput(f"ended_at {ended_at.isoformat()} must be after started_at "
                           f"{started_at.isoformat()}", field="ended_at")
    if (deployment_id is None) == (run_id is None):
        raise InvalidInput('send either "deployment" (a deployment id) or "run" (a run id), '
                           "not both nor neither", field="deployment")
    deployment = _deployment_of(project, deployment_id) if deployment_id is not None else None
    run = run_of_project(project, run_id) if run_id is not None else deployment.run
    with transaction.atomic():
        result = ImpactResult.objects.create(
            project=project, kind=kind, deployment=deployment, run=run, metric=metric,
            direction=direction, unit=unit, control=control, treatment=treatment,
            started_at=started_at, ended_at=ended_at, note=note,
            created_by=user if user is not None and user.is_authenticated else None)
        audit.record(action=AuditAction.IMPACT_RECORD, project=project, user=user,
                     subject=f"{result.get_kind_display()} of {metric}", address=address,
                     details={"impact": result.pk})
    return result


def delete_impact(*, result: ImpactResult, user, address: str = "") -> None:
    """Delete a business result recorded by mistake; the audit log keeps what it said."""
    with transaction.atomic():
        audit.record(action=AuditAction.IMPACT_DELETE, project=result.project, user=user,
                     subject=f"{result.get_kind_display()} of {result.metric}",
                     address=address, details={"impact": result.pk, "metric": result.metric,
                                               "control": result.control,
                                               "treatment": result.treatment})
        result.delete()
