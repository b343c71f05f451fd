"""MLflow filters and order_by clauses, translated onto tracker.query's AST.

filter_syntax.py reads `metrics.val_f1 > 0.8 and params.model = 'svm'` into clauses; this
module turns them into the Field / Comparison / And / Or / Not nodes of tracker.query, which
tracker.run_search compiles, the same as for every other run filter, and evaluates them in
Python for the few searches over objects that are not rows (experiments, logged models,
registered models). Nothing here produces SQL.

MLflow semantics kept on purpose:
- params and tags are strings: `params.C = '1'` matches the text "1" only (not "1.0", nor
  a number the SDK logged), and they sort as stored (Field.as_text);
- `params.x != 'a'` (and the same for tags and metrics) matches runs that have x
  with another value, not runs without x (MLflow compares joined rows);
- `metrics.val_f1` is the metric the client logged as `val_f1`, at its latest value,
  whichever series stores it (a tracker.query "logged_metric"): what get_run shows;
- sorted by a metric, runs with a number come first, then NaN, then runs without it;
  ties go newest first (start_time DESC), then by run id.
"""

import re

from api.mlflow.errors import invalid
from api.mlflow.filter_syntax import Clause, Group, order_key, parse
from tracker.query.syntax import DATASET_FIELDS, And, Comparison, Field, Node, Not, Or, like_regex
from tracker.run_search import OrderKeys

MLFLOW_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
# SCHEDULED has no Targetline counterpart: such runs are stored as running.
STATUS_TO_TARGETLINE = {"RUNNING": "running", "FINISHED": "finished", "FAILED": "failed",
                        "KILLED": "killed"}

RUN_ATTRIBUTES = ("run_id", "run_name", "status", "user_id", "artifact_uri", "start_time",
                  "end_time")
_NUMERIC_ATTRIBUTES = {"start_time", "end_time"}


# --- Runs: onto tracker.query's AST ------------------------------------------------

def _never() -> Node:
    """A condition no run satisfies (e.g. status = 'SCHEDULED', which no run is stored as)."""
    running = Comparison(Field("attribute", "status"), "=", "running")
    return And((running, Not(running)))


def _present_and(field: Field, node: Node) -> Node:
    """MLflow's `!=`: the field is there and differs (runs without it do not match)."""
    return And((Comparison(field, "!=", None), node))


def _status_node(op: str, value) -> Node:
    values = value if isinstance(value, list) else [value]
    if any(not isinstance(v, str) for v in values):
        raise invalid("status must be compared with quoted text such as 'FINISHED'")
    if op in ("LIKE", "ILIKE"):
        matching = [s for s in MLFLOW_STATUSES if like(values[0], s, ignore_case=op == "ILIKE")]
    elif op in ("=", "!=", "IN", "NOT IN"):
        matching = [s for s in MLFLOW_STATUSES if s in values]
    else:
        raise invalid(f"status cannot be compared with {op}")
    ours = [STATUS_TO_TARGETLINE[s] for s in matching if s in STATUS_TO_TARGETLINE]
    field = Field("attribute", "status")
    node = (_never() if not ours else Comparison(field, "=", ours[0]) if len(ours) == 1
            else Or(tuple(Comparison(field, "=", s) for s in ours)))
    return Not(node) if op in ("!=", "NOT IN") else node


def _run_id_value(text: str) -> str:
    """A run id as given (hex or dashed), or the run id inside an artifact URI."""
    match = re.search(r"([0-9a-fA-F]{32}|[0-9a-fA-F-]{36})(?:/artifacts)?/?$", text)
    return match.group(1) if match else text


def _string_attribute_node(field: Field, op: str, value, *, ids: bool = False) -> Node:
    if op in ("IN", "NOT IN"):
        values = [_run_id_value(v) if ids else v for v in value]
        node = (_never() if not values else Comparison(field, "=", values[0]) if len(values) == 1
                else Or(tuple(Comparison(field, "=", v) for v in values)))
        return Not(node) if op == "NOT IN" else node
    if not isinstance(value, str):
        raise invalid(f"{field.name} must be compared with quoted text")
    if op in ("LIKE", "ILIKE"):
        if ids and field.name == "id" and "/" in value:
            raise invalid("artifact_uri cannot be compared with LIKE; compare run_id instead")
        return Comparison(field, "~" if op == "LIKE" else "~*", value)
    if op in ("=", "!="):
        return Comparison(field, op, _run_id_value(value) if ids else value)
    raise invalid(f"{field.name} cannot be compared with {op}")


def _clause_to_node(clause: Clause) -> Node:
    entity, key, op, value = clause.entity, clause.key, clause.op, clause.value
    if entity == "metric":
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise invalid(f"metrics cannot be compared with {op}; use =, !=, <, <=, > or >=")
        if isinstance(value, str | list) or value is None:
            raise invalid(f"Expected numeric value type for metric. Found {value!r}")
        field = Field("logged_metric", key)
        node = Comparison(field, op, float(value))
        return _present_and(field, node) if op == "!=" else node
    if entity in ("param", "tag"):
        if entity == "tag" and key == "mlflow.runName":
            return _string_attribute_node(Field("attribute", "name"), op, value)
        field = Field(entity, key, as_text=True)
        if op == "IS NULL":
            return Comparison(field, "=", None)
        if op == "IS NOT NULL":
            return Comparison(field, "!=", None)
        if op not in ("=", "!=", "LIKE", "ILIKE"):
            raise invalid(f"{entity}s cannot be compared with {op}; use =, !=, LIKE, ILIKE, "
                          "IS NULL or IS NOT NULL")
        if not isinstance(value, str):
            raise invalid(f"Expected a quoted string value for {entity} (e.g. 'my-value'). "
                          f"Got value {value}")
        if op in ("LIKE", "ILIKE"):
            return Comparison(field, "~" if op == "LIKE" else "~*", value)
        node = Comparison(field, op, value)
        return _present_and(field, node) if op == "!=" else node
    if entity == "dataset":
        if key not in DATASET_FIELDS:
            raise invalid(f"Invalid dataset key '{key}' specified. Valid keys are "
                          f"{', '.join(DATASET_FIELDS)}")
        if op in ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"):
            return _string_attribute_node(Field("dataset", key), op, value)
        raise invalid(f"datasets.{key} cannot be compared with {op}; use =, !=, LIKE, ILIKE, "
                      "IN or NOT IN")
    # attributes
    if key not in RUN_ATTRIBUTES:
        raise invalid(f"Invalid attribute key '{key}' specified. Valid keys are "
                      f"{', '.join(RUN_ATTRIBUTES)}")
    if key in _NUMERIC_ATTRIBUTES:
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise invalid(f"{key} cannot be compared with {op}")
        if isinstance(value, str | list) or value is None:
            raise invalid(f"Expected numeric value type for numeric attribute: {key}. "
                          f"Found {value!r}")
        field = Field("attribute", "started_at" if key == "start_time" else "ended_at")
        return Comparison(field, op, float(value))
    if key == "status":
        return _status_node(op, value)
    if key in ("run_id", "artifact_uri"):
        return _string_attribute_node(Field("attribute", "id"), op, value, ids=True)
    column = {"run_name": "name", "user_id": "created_by"}[key]
    return _string_attribute_node(Field("attribute", column), op, value)


def to_run_filter(text: str | None) -> Node | None:
    """The tracker.query AST of an MLflow search_runs filter string (None when blank)."""
    parsed = parse(text, entities={"metric", "param", "tag", "attribute", "dataset"})
    return None if parsed is None else _to_node(parsed)


def _to_node(item) -> Node:
    if isinstance(item, Group):
        nodes = tuple(_to_node(i) for i in item.items)
        return And(nodes) if item.kind == "and" else Or(nodes)
    return _clause_to_node(item)


# --- order_by -----------------------------------------------------------------------

def to_run_order(order_by: list[str] | None) -> OrderKeys:
    """MLflow order_by items as tracker.run_search sort keys (none: its default order)."""
    keys: OrderKeys = []
    seen = set()
    for item in order_by or []:
        kind, key, descending = order_key(item)
        if kind == "metric":
            field = Field("logged_metric", key)
        elif kind == "tag" and key == "mlflow.runName":
            field = Field("attribute", "name")
        elif kind in ("param", "tag"):
            field = Field(kind, key, as_text=True)
        else:
            column = {"start_time": "started_at", "end_time": "ended_at", "run_name": "name",
                      "status": "status", "run_id": "id", "artifact_uri": "id",
                      "user_id": "created_by", "experiment_id": "experiment"}.get(key)
            if column is None:
                raise invalid(f"Invalid order_by attribute '{key}'. Valid keys are "
                              f"{', '.join(RUN_ATTRIBUTES)}")
            field = Field("attribute", column)
        if (kind, key) in seen:
            raise invalid(f"`order_by` contains duplicate fields: {order_by}")
        seen.add((kind, key))
        keys.append((field, descending))
    return keys


def experiment_order(order_by: list[str] | None) -> list[tuple[str, bool]]:
    """(attribute, descending) pairs of a search_experiments order_by."""
    keys = []
    for item in order_by or ["creation_time DESC"]:
        kind, key, descending = order_key(item)
        if kind != "attribute" or key not in ("name", "experiment_id", "creation_time",
                                              "last_update_time"):
            raise invalid(f"Invalid order_by clause {item!r}: experiments sort by name, "
                          "experiment_id, creation_time or last_update_time")
        keys.append((key, descending))
    return keys


def like(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """SQL LIKE (% and _) on Python strings, for the few objects evaluated in Python."""
    return re.fullmatch(like_regex(pattern), text, re.IGNORECASE if ignore_case else 0) is not None


def evaluate(node, value_of) -> bool:
    """Whether a parsed filter holds for one object, evaluated in Python.

    For the few searches over objects that are not rows of a table (experiments as MLflow
    shows them, logged models); `value_of(clause)` gives the object's value for a clause,
    None when it has none.
    """
    if isinstance(node, Group):
        results = (evaluate(item, value_of) for item in node.items)
        return all(results) if node.kind == "and" else any(results)
    actual, op, wanted = value_of(node), node.op, node.value
    if op in ("IS NULL", "IS NOT NULL"):
        return (actual is None) == (op == "IS NULL")
    if actual is None:
        return False
    if op in ("LIKE", "ILIKE"):
        return like(str(wanted), str(actual), ignore_case=op == "ILIKE")
    if op in ("IN", "NOT IN"):
        return (str(actual) in wanted) == (op == "IN")
    if isinstance(actual, int | float) != isinstance(wanted, int | float):
        raise invalid(f"{node.key} cannot be compared with {wanted!r}")
    if isinstance(actual, str) and op not in ("=", "!="):
        raise invalid(f"{node.key} can only be compared with =, !=, LIKE or ILIKE")
    return {"=": actual == wanted, "!=": actual != wanted, "<": actual < wanted,
            "<=": actual <= wanted, ">": actual > wanted, ">=": actual >= wanted}[op]
