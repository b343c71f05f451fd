"""A project's target and guardrails: checked, agreed, changed or removed.

Every change is recorded (who, when, old and new) for the next report, and announced with
signals.target_changed; a change of what selects the winner recomputes the runs' best steps.

Two mistakes are refused where they are made: a threshold or limit outside the metric's range
(an F1 bar of 90 meant 0.90), and a guardrail that would make winner selection read the test
set (a measure of quality on the judged split).
"""

import math

from django.db import transaction

from tracker import mlflow_mapping, phrasing, signals, winner_rules
from tracker.errors import InvalidInput
from tracker.models import (
    AuditAction,
    Direction,
    Guardrail,
    GuardrailOp,
    Project,
    Target,
    TargetChange,
)
from tracker.numbers import format_number
from tracker.selectors.metrics import logged_summaries
from tracker.services import audit
from tracker.summaries import refresh_project_best_steps
from tracker.validation import check_key, check_split, to_date, to_float

MAX_COST_METRICS = 50


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
    check_in_range(threshold, metric=metric, definition=definition, field="target.threshold")
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


def check_in_range(value: float, *, metric: str, definition: str = "", field: str) -> None:
    """Refuse a threshold or limit outside the metric's range (phrasing's `bounds`: a fraction
    is between 0 and 1), suggesting the fraction a percentage was meant as."""
    known = phrasing.phrasing_for(metric, definition or None)
    if known.bounds is None or known.bounds[0] <= value <= known.bounds[1]:
        return
    label = known.label[:1].upper() + known.label[1:] if known.builtin else known.label
    message = (f"{field}: {label} is {phrasing.range_words(known.bounds)}, "
               f"not {format_number(value)}")
    if known.bounds[1] == 1 and 1 < value <= 100:
        message += f"; did you mean {_as_fraction(value)}?"
    raise InvalidInput(message, field=field)


def _as_fraction(percent: float) -> str:
    """90 -> "0.90", 97.5 -> "0.975": a percentage as the fraction it stands for."""
    text = f"{percent / 100:.6f}".rstrip("0")
    decimals = len(text.partition(".")[2])
    return text + "0" * max(0, 2 - decimals)


def clean_guardrails(items: object, *, target: dict | None = None,
                     cost_metrics: list[str] | tuple[str, ...] = ()) -> list[dict]:
    """Validate guardrails given as a list of dicts; returns the fields each Guardrail takes.

    `target` (the target's fields, or None before one is agreed, when its defaults apply)
    says which split is judged: a guardrail there may only check a measure of cost."""
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
        row = {"metric": check_key(item.get("metric"), field=f"{where}.metric"),
               "split": check_split(item.get("split") or "test", field=f"{where}.split"),
               "op": op, "value": value}
        _check_guardrail_rules(row, where=where, target=target or {},
                               cost_metrics=cost_metrics)
        cleaned.append(row)
    return cleaned


def _check_guardrail_rules(row: dict, *, where: str, target: dict, cost_metrics) -> None:
    """A guardrail's limit in its metric's range, and no measure of quality on the judged
    split: checked there, it would make winner selection read the test set."""
    definition = target.get("definition", "") if row["metric"] == target.get("metric") else ""
    check_in_range(row["value"], metric=row["metric"], definition=definition,
                   field=f"{where}.value")
    judged_on = target.get("judged_on") or "test"
    if not winner_rules.reads_judged_split(metric=row["metric"], split=row["split"],
                                           judged_on=judged_on, cost_metrics=cost_metrics,
                                           target_metric=target.get("metric")):
        return
    message = (f"{where}.split: {row['metric']} on the {row['split']} split would make winner "
               f"selection read the {judged_on} set; put the guardrail on "
               f"{target.get('selected_on') or 'validation'}.")
    if row["metric"] == target.get("metric"):
        message += f" The target metric is read on {judged_on} only to judge the winner."
    else:
        message += (f" Only measures of cost (latency, throughput, model size, memory, or a "
                    f"metric the project lists in cost_metrics) may be checked on {judged_on}.")
    raise InvalidInput(message, field=f"{where}.split")


def clean_cost_metrics(items: object) -> list[str]:
    """The project's own measures of cost: metric keys, without repeats. A metric Targetline
    knows as a measure of quality (f1, loss, ...) cannot be one."""
    if not isinstance(items, list):
        raise InvalidInput("cost_metrics must be a list of metric keys", field="cost_metrics")
    if len(items) > MAX_COST_METRICS:
        raise InvalidInput(f"cost_metrics holds {len(items)} keys; the limit is "
                           f"{MAX_COST_METRICS}", field="cost_metrics")
    cleaned: list[str] = []
    for i, item in enumerate(items):
        field = f"cost_metrics[{i}]"
        key = check_key(item.strip() if isinstance(item, str) else item, field=field)
        known = phrasing.phrasing_for(key)
        if known.builtin and known.kind != phrasing.COST:
            named = key if known.label == key else f"{key} ({known.label})"
            raise InvalidInput(f"{field}: {named} measures quality, not cost; a guardrail on "
                               "it belongs on the selection split", field=field)
        if key not in cleaned:
            cleaned.append(key)
    return cleaned


@transaction.atomic
def set_target(*, project: Project, user, target: dict | None,
               address: str = "") -> Target | None:
    """Agree (or change, or remove) the project's target; every change is recorded.

    A change of metric, direction or selection split moves every run's best step,
    so the summaries are recomputed here rather than left stale.
    """
    old_target = Target.objects.filter(project=project).first()
    old = old_target.as_dict() if old_target else None
    if target is None:
        if old_target:
            old_target.delete()
            _record_change(project, user, "target", old, None, address)
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
        _record_change(project, user, "target", old, new, address)
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
def set_guardrails(*, project: Project, user, guardrails: list,
                   cost_metrics: list | None = None, address: str = "") -> list[Guardrail]:
    """Replace the project's guardrails; the change is recorded.

    `cost_metrics`, when given, replaces the project's own measures of cost first, so one
    call may list latency_p95_ms as one and put a guardrail on it on the test split."""
    target = Target.objects.filter(project=project).first()
    costs = project.cost_metrics if cost_metrics is None else clean_cost_metrics(cost_metrics)
    rows = clean_guardrails(guardrails, target=target.as_dict() if target else None,
                            cost_metrics=costs)
    _save_cost_metrics(project, costs)
    old = [g.as_dict() for g in project.guardrails.all()]
    if rows == old:
        return list(project.guardrails.all())
    project.guardrails.all().delete()
    created = Guardrail.objects.bulk_create(Guardrail(project=project, **g) for g in rows)
    _record_change(project, user, "guardrails", old, rows, address)
    signals.target_changed.send(sender=Project, project=project)
    return created


def _record_change(project: Project, user, what: str, old, new, address: str) -> None:
    """A change of target or guardrails, kept for reports (TargetChange) and in the audit
    log with the address it came from."""
    TargetChange.objects.create(project=project, changed_by=user, what=what, old=old, new=new)
    action = AuditAction.TARGET_CHANGE if what == "target" else AuditAction.GUARDRAILS_CHANGE
    audit.record(action=action, project=project, user=user, subject=what, address=address,
                 details={"old": old, "new": new})


@transaction.atomic
def set_cost_metrics(*, project: Project, cost_metrics: list) -> list[str]:
    """Replace the project's own measures of cost, its guardrails left as they are."""
    costs = clean_cost_metrics(cost_metrics)
    _check_costs_in_use(project, Target.objects.filter(project=project).first(), costs)
    _save_cost_metrics(project, costs)
    return costs


def _save_cost_metrics(project: Project, costs: list[str]) -> None:
    if costs != project.cost_metrics:
        project.cost_metrics = costs
        project.save(update_fields=["cost_metrics"])
        signals.target_changed.send(sender=Project, project=project)


def _check_costs_in_use(project: Project, target: Target | None, costs: list[str]) -> None:
    """A measure of cost taken off the list while a guardrail checks it on the judged split
    would leave that guardrail reading the test set: refused, naming the guardrail."""
    judged_on = target.judged_on if target else "test"
    for i, guardrail in enumerate(project.guardrails.all()):
        allowed_before = not winner_rules.reads_judged_split(
            metric=guardrail.metric, split=guardrail.split, judged_on=judged_on,
            cost_metrics=project.cost_metrics)
        if allowed_before and winner_rules.reads_judged_split(
                metric=guardrail.metric, split=guardrail.split, judged_on=judged_on,
                cost_metrics=costs):
            raise InvalidInput(
                f"cost_metrics: guardrails[{i}] checks {guardrail.metric} on the "
                f"{guardrail.split} split, so it stays a measure of cost; move or remove that "
                "guardrail first", field="cost_metrics")


def _refresh_project_best_steps(project: Project) -> None:
    """Every run's best step and value again, for the target as it now is (or none)."""
    refresh_project_best_steps(project_id=project.id,
                               target=Target.objects.filter(project=project).first())
