"""Run search: the filter language (parsed by tracker.query) compiled to ORM queries.

The same compiler serves the v1 API, the web UI and the MLflow endpoints. It
builds Django expressions only, never SQL text. Semantics worth knowing:
- a metric field means the run's value at its best step (see MetricSummary); a
  logged metric (MLflow's `val_f1`) the latest value of the series that answers to it;
- a param or tag compares as a number where both it and the value read as numbers, as
  text otherwise, whichever client logged it (tracker.param_values); MLflow's searches keep
  MLflow's own meaning, the very text (Field.as_text);
- `x != v` is `not (x = v)`, so runs without x match it;
- `x = null` means x is absent (or NaN for a metric), `x != null` that it is present;
  a logged metric whose latest value is NaN is present (as MLflow has it);
- sorted runs without the key come last either way; ties go newest first, then by id.
"""

import uuid
from datetime import UTC, datetime, timedelta

from django.db.models import (
    Case,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce

from tracker import mlflow_mapping, param_values
from tracker.errors import InvalidInput
from tracker.models import MetricSummary, Project, Run, RunDataset
from tracker.query.parser import parse_filter, parse_order_by
from tracker.query.syntax import And, Comparison, Field, FilterError, Not, Or, like_regex

_LOOKUPS = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_ATTRIBUTE_COLUMNS = {
    "name": "name", "status": "status", "baseline": "baseline", "experiment": "experiment__name",
    "id": "id", "host": "host", "git_commit": "git_commit", "data_version": "data_version",
    "created_by": "created_by__username", "started_at": "started_at", "ended_at": "ended_at",
}


def _lookup(lhs, name: str, value):
    """A lookup expression (usable inside Q) such as lhs > value, built from the lhs's class."""
    return lhs.get_lookup(name)(lhs, value)


def _metric_q(field: Field, op: str, value) -> Q:
    series = MetricSummary.objects.filter(run=OuterRef("pk"), key=field.name, split=field.split)
    if value is None:
        present = Exists(series.filter(best_value__isnull=False))
        return ~Q(present) if op == "=" else Q(present)
    if op == "!=":
        return ~Q(Exists(series.filter(best_value=value)))
    return Q(Exists(series.filter(**{f"best_value__{_LOOKUPS[op]}": value})))


def _logged_series(field: Field) -> QuerySet[MetricSummary]:
    """The outer run's series that answers to the logged metric name `field.name`: the one
    logged under that name, or one with no source key that reads as that name."""
    name = field.name
    unnamed = Q()
    for key, split in mlflow_mapping.series_named(name):
        unnamed |= Q(key=key, split=split)
    return MetricSummary.objects.filter(run=OuterRef("pk")).filter(
        Q(source_key=name) | (Q(source_key="") & unnamed))


def _logged_metric_q(field: Field, op: str, value) -> Q:
    series = _logged_series(field)
    if value is None:
        present = Exists(series)
        return ~Q(present) if op == "=" else Q(present)
    if op == "!=":  # NaN (stored as NULL) differs from every number
        return Q(Exists(series.exclude(last_value=value)))
    return Q(Exists(series.filter(**{f"last_value__{_LOOKUPS[op]}": value})))


def _stored_value_q(column: str, field: Field, op: str, value) -> Q:
    """MLflow's params and tags (Field.as_text): equal to the very value given as it is
    stored (the text "1.0" is neither the number 1 nor the text "1"); patterns and order
    over the stored text."""
    if "__" in field.name:
        # Django reads "__" in a lookup path as a separator; such names can't be filtered.
        raise InvalidInput(f"cannot filter on {column} named {field.name!r} (contains '__')",
                           field="filter")
    path = f"{column}__{field.name}"
    text = KeyTextTransform(field.name, column)
    # Every comparison is ANDed with "present", so it is false (never SQL NULL) for a
    # run without the key, and `not (...)` and `!=` then include such runs.
    present = Q(**{f"{column}__has_key": field.name}) & ~Q(**{path: None})
    if value is None:
        return ~present if op == "=" else present
    if op in ("~", "~*"):
        return present & Q(_lookup(text, "regex" if op == "~" else "iregex",
                                   like_regex(value)))
    if op in ("=", "!="):
        equal = present & Q(**{path: value})
        return ~equal if op == "!=" else equal
    return present & Q(_lookup(text, _LOOKUPS[op], param_values.text_of(value)))


def _json_q(column: str, field: Field, op: str, value) -> Q:
    """Params and tags, stored as JSON objects on the run."""
    if field.as_text:
        return _stored_value_q(column, field, op, value)
    return param_values.value_q(column, field.name, op, value)


def _time_value(value) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _attribute_q(field: Field, op: str, value) -> Q:
    name = field.name
    if name == "duration":
        lhs = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
        if value is None:
            return Q(ended_at__isnull=(op == "="))
        rhs = timedelta(seconds=float(value))
        ended = Q(ended_at__isnull=False)  # keeps the comparison two-valued for `not`
        if op == "!=":
            return ~(ended & Q(_lookup(lhs, "exact", rhs)))
        return ended & Q(_lookup(lhs, _LOOKUPS[op], rhs))
    column = _ATTRIBUTE_COLUMNS[name]
    if value is None:
        return Q(**{f"{column}__isnull": op == "="})
    if name in ("started_at", "ended_at"):
        value = _time_value(value)
    if name == "id" and op not in ("~", "~*"):
        try:
            value = uuid.UUID(str(value))
        except ValueError:
            return Q(pk__in=[]) if op != "!=" else Q()
    if op in ("~", "~*"):
        lhs = Cast(F(column), output_field=Run._meta.get_field("name")) if name == "id" else None
        if lhs is not None:
            return Q(_lookup(lhs, "regex" if op == "~" else "iregex", like_regex(value)))
        return Q(**{f"{column}__{'regex' if op == '~' else 'iregex'}": like_regex(value)})
    if op == "!=":
        return ~Q(**{column: value})
    return Q(**{f"{column}__{_LOOKUPS[op]}": value})


_DATASET_COLUMNS = {"name": "name", "digest": "digest"}


def _dataset_q(field: Field, op: str, value) -> Q:
    """The run has an input dataset (RunDataset) whose field compares so. A run may have
    several: `!=` means it has datasets and none is that one, `= null` that it has none."""
    inputs = RunDataset.objects.filter(run=OuterRef("pk"))
    column = _DATASET_COLUMNS.get(field.name)
    if column is None:  # context: a tag of the dataset input
        inputs = inputs.annotate(field_value=Cast(  # Cast: as in _order_expression
            KeyTextTransform(mlflow_mapping.DATASET_CONTEXT_TAG, "tags"), output_field=TextField()))
        column = "field_value"
    present = inputs.exclude(**{column: ""}).exclude(**{f"{column}__isnull": True})
    if value is None:
        return ~Q(Exists(present)) if op == "=" else Q(Exists(present))
    if op in ("~", "~*"):
        return Q(Exists(present.filter(
            **{f"{column}__{'regex' if op == '~' else 'iregex'}": like_regex(value)})))
    if op == "!=":
        return Q(Exists(present)) & ~Q(Exists(present.filter(**{column: value})))
    return Q(Exists(present.filter(**{f"{column}__{_LOOKUPS[op]}": value})))


def compile_node(node) -> Q:
    """The Q object of a parsed filter."""
    if isinstance(node, And):
        q = Q()
        for item in node.items:
            q &= compile_node(item)
        return q
    if isinstance(node, Or):
        q = compile_node(node.items[0])
        for item in node.items[1:]:
            q |= compile_node(item)
        return q
    if isinstance(node, Not):
        return ~compile_node(node.item)
    assert isinstance(node, Comparison)
    field = node.field
    if field.kind == "metric":
        return _metric_q(field, node.op, node.value)
    if field.kind == "logged_metric":
        return _logged_metric_q(field, node.op, node.value)
    if field.kind == "param":
        return _json_q("params", field, node.op, node.value)
    if field.kind == "tag":
        return _json_q("tags", field, node.op, node.value)
    if field.kind == "dataset":
        return _dataset_q(field, node.op, node.value)
    return _attribute_q(field, node.op, node.value)


def compile_filter(text: str | None) -> Q:
    """The Q object for a filter string; InvalidInput quoting the position when it is bad."""
    try:
        node = parse_filter(text or "")
    except FilterError as exc:
        raise InvalidInput(f"filter: {exc}", field="filter", position=exc.position) from None
    return Q() if node is None else compile_node(node)


def _order_expression(field: Field):
    if field.kind == "metric":
        return Subquery(MetricSummary.objects.filter(
            run=OuterRef("pk"), key=field.name, split=field.split).values("best_value")[:1],
            output_field=FloatField())
    if field.kind == "logged_metric":
        return Subquery(_logged_series(field).values("last_value")[:1],
                        output_field=FloatField())
    if field.kind == "param":  # as_text: MLflow's order, as stored
        return KeyTransform(field.name, "params")
    if field.kind == "tag":
        # Cast: SQLite would otherwise hand the text to the JSON field's decoder.
        return Cast(KeyTextTransform(field.name, "tags"), output_field=TextField())
    if field.name == "duration":
        return ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    return F(_ATTRIBUTE_COLUMNS[field.name])


def _nan_rank(field: Field):
    """0 for a run whose latest value of the logged metric is a number, 1 for NaN, 2 for a
    run without it: MLflow's order, numbers first and runs without the metric last, either
    way the values are sorted."""
    rank = Case(When(last_value__isnull=True, then=Value(1)), default=Value(0))
    return Coalesce(Subquery(_logged_series(field).annotate(rank=rank).values("rank")[:1]),
                    Value(2))


OrderKeys = list[tuple[Field, bool]]  # sort keys: (field, descending)
_STARTED = Field("attribute", "started_at")
_DEFAULT_ORDER = [(_STARTED, True)]


def sort_keys(order_by: str | OrderKeys | None) -> OrderKeys:
    """Sort keys from a sort-key text (tracker.query's syntax) or as they are; the default
    order (newest first) when there are none."""
    if not isinstance(order_by, str | None):
        return list(order_by) or _DEFAULT_ORDER
    try:
        keys = parse_order_by(order_by) if order_by and order_by.strip() else []
    except FilterError as exc:
        raise InvalidInput(f"order_by: {exc}", field="order_by",
                           position=exc.position) from None
    return keys or _DEFAULT_ORDER


def sort_columns(keys: OrderKeys) -> list[tuple[object, bool]]:
    """The (expression, descending) columns runs are sorted by, before the run id: each
    key's (a logged metric's NaN rank first), then the start time, newest first, unless a
    key sorts by it already."""
    columns: list[tuple[object, bool]] = []
    for field, descending in keys:
        if field.kind in ("param", "tag") and not field.as_text:
            columns += [(expression, descending) for expression in
                        param_values.order_expressions(field.kind + "s", field.name)]
            continue
        if field.kind == "logged_metric":
            columns.append((_nan_rank(field), False))
        columns.append((_order_expression(field), descending))
    if not any(field == _STARTED for field, _ in keys):
        columns.append((F("started_at"), True))
    return columns


def order_runs(runs: QuerySet[Run], order_by: str | OrderKeys | None) -> QuerySet[Run]:
    """Sort by any field (metrics at their best step, params, tags, attributes); missing last.

    Each sort column is annotated as `_order_<i>`, and the run id breaks the last ties,
    so the order is total and a keyset cursor can resume after any row.
    """
    ordering = []
    for i, (expression, descending) in enumerate(sort_columns(sort_keys(order_by))):
        alias = f"_order_{i}"
        runs = runs.annotate(**{alias: expression})
        expr = F(alias)
        ordering.append(expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True))
    ordering.append(F("id").asc())
    return runs.order_by(*ordering)


def search_runs(*, project: Project, filter_text: str | None = None,
                order_by: str | None = None) -> QuerySet[Run]:
    """Runs of a project (deleted ones excluded) matching a filter, in the asked order."""
    runs = Run.objects.live().filter(project=project)
    runs = runs.filter(compile_filter(filter_text))
    return order_runs(runs, order_by).select_related("experiment", "created_by")
