"""A project's target and guardrails: checked, agreed, changed or removed.

Every change is recorded (who, when, old and new) for the next report, and announced with
signals.target_changed; a change of what selects the winner recomputes the runs' best steps.
"""

import math

from django.db import transaction

from tracker import mlflow_mapping, phrasing, signals
from tracker.errors import InvalidInput
from tracker.models import Direction, Guardrail, GuardrailOp, Project, Target, TargetChange
from tracker.selectors.metrics import logged_summaries
from tracker.summaries import refresh_project_best_steps
from tracker.validation import check_key, check_split, to_date, to_float


def clean_target(data: dict) -> dict:
    """Validate a target given as a dict; returns the fields Target takes."""
    if not isinstance(data, dict):
        raise InvalidInput("target must be an object with metric, direction and threshold",
                           field="target")
    # "sentence" is how the API reads the target out; a target read and sent back keeps it.
    unknown = set(data) - {"metric", "direction", "threshold", "judged_on", "selected_on",
                           "agreed_by", "agreed_on", "definition", "sentence"}
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


def clean_guardrails(items: object) -> list[dict]:
    """Validate guardrails given as a list of dicts; returns the fields each Guardrail takes."""
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
    fields = clean_target(target)
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
    logged = logged_summaries(project=project)
    if logged.filter(key=metric).exists() or not logged.filter(key=key, split=split).exists():
        return
    raise InvalidInput(
        f"No run here logged a metric named “{metric}”: an MLflow client's {metric} is kept as "
        f"{key} on {split}. Write {key} (and {split} as the split).", field="target.metric")


@transaction.atomic
def set_guardrails(*, project: Project, user, guardrails: list) -> list[Guardrail]:
    """Replace the project's guardrails; the change is recorded."""
    rows = clean_guardrails(guardrails)
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
    """Every run's best step and value again, for the target as it now is (or none)."""
    refresh_project_best_steps(project_id=project.id,
                               target=Target.objects.filter(project=project).first())
