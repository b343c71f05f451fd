r"""MLflow filter strings and order_by clauses, translated onto tracker.query's AST.

MLflow writes `metrics.val_f1 > 0.8 and params.model = 'svm'`; this module
tokenizes that syntax into clauses and turns them into the Field / Comparison /
And / Or / Not nodes of tracker.query, which tracker.run_search compiles, the
same as for every other run filter. Nothing here produces SQL.

MLflow semantics kept on purpose:
- `params.x != 'a'` (and the same for tags and metrics) matches runs that have x
  with another value, not runs without x (MLflow compares joined rows);
- `metrics.val_f1` is the metric the client logged as `val_f1`, at its latest value,
  whichever series stores it (a tracker.query "logged_metric"): what get_run shows;
- sorted by a metric, runs with a number come first, then NaN, then runs without it;
  ties go newest first (start_time DESC), then by run id;
- in quoted values a backslash escapes the quote or a backslash and is kept before
  anything else, so LIKE's `\%` and `\_` match a plain % or _.
OR and parentheses are accepted as well (MLflow itself allows only AND).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from api.mlflow.errors import invalid
from tracker.query.syntax import DATASET_FIELDS, And, Comparison, Field, Node, Not, Or
from tracker.run_search import OrderKeys, like_regex

MLFLOW_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
# SCHEDULED has no Targetline counterpart: such runs are stored as running.
STATUS_TO_TARGETLINE = {"RUNNING": "running", "FINISHED": "finished", "FAILED": "failed",
                        "KILLED": "killed"}

_ENTITIES = {
    "metric": "metric", "metrics": "metric",
    "param": "param", "params": "param", "parameter": "param", "parameters": "param",
    "tag": "tag", "tags": "tag",
    "attribute": "attribute", "attributes": "attribute", "attr": "attribute", "run": "attribute",
    "dataset": "dataset", "datasets": "dataset",
}
_ATTRIBUTE_ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name",
                      "Run name": "run_name", "Run Name": "run_name"}
RUN_ATTRIBUTES = ("run_id", "run_name", "status", "user_id", "artifact_uri", "start_time",
                  "end_time")
_NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
_KEYWORDS = {"and", "or", "not", "like", "ilike", "in", "is", "null", "asc", "desc"}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[\w./:-]*[\w]|[\w]")


@dataclass(frozen=True)
class Clause:
    """One MLflow comparison: entity ("metric", "param", "tag", "attribute", "dataset"),
    key, operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL)
    and value (a string, a number, a list of strings, or None)."""

    entity: str
    key: str
    op: str
    value: object


@dataclass(frozen=True)
class Group:
    """Clauses or groups combined with "and" or "or"."""

    kind: str
    items: tuple


@dataclass(frozen=True)
class _Token:
    kind: str  # "ident", "string", "number", "op", "keyword", "(", ")", ",", "end"
    value: object
    start: int


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[_Token] = []
        self._scan()

    def _error(self, message: str, position: int):
        return invalid(f"Invalid filter {self.text!r}: {message} at position {position}")

    def _quoted(self, start: int) -> tuple[str, int]:
        """A quoted value or a backquoted name, and the position after it. A backslash
        escapes the next character; in a value, only the quote or a backslash (any other
        is kept, for LIKE), as tracker.query reads values."""
        text, quote = self.text, self.text[start]
        out, i = [], start + 1
        while i < len(text):
            ch = text[i]
            if ch == "\\" and i + 1 < len(text):
                if quote != "`" and text[i + 1] not in (quote, "\\"):
                    out.append(ch)
                out.append(text[i + 1])
                i += 2
            elif ch == quote and text[i + 1:i + 2] == quote:  # SQL's doubled quote
                out.append(quote)
                i += 2
            elif ch == quote:
                return "".join(out), i + 1
            else:
                out.append(ch)
                i += 1
        raise self._error(f"unterminated {quote}", start)

    def _scan(self) -> None:
        text, i = self.text, 0
        while i < len(text):
            ch = text[i]
            if ch.isspace():
                i += 1
            elif ch in "(),":
                self.tokens.append(_Token(ch, ch, i))
                i += 1
            elif ch in "'\"":
                value, end = self._quoted(i)
                self.tokens.append(_Token("string", (value, ch), i))
                i = end
            elif ch == "`":
                value, end = self._quoted(i)
                self.tokens.append(_Token("ident", (None, value), i))
                i = end
            elif ch in "<>=!":
                two = text[i:i + 2]
                if two in ("<=", ">=", "!=", "<>", "=="):
                    self.tokens.append(_Token("op", {"<>": "!=", "==": "="}.get(two, two), i))
                    i += 2
                elif ch == "!":
                    raise self._error("unexpected '!'", i)
                else:
                    self.tokens.append(_Token("op", ch, i))
                    i += 1
            elif (ch.isdigit() or ch in "+-.") and (match := _NUMBER.match(text, i)):
                raw = match.group()
                number = float(raw) if any(c in raw for c in ".eE") else int(raw)
                self.tokens.append(_Token("number", number, i))
                i = match.end()
            elif match := _WORD.match(text, i):
                word, end = match.group(), match.end()
                if word.lower() in _KEYWORDS and text[end:end + 1] != ".":
                    self.tokens.append(_Token("keyword", word.lower(), i))
                    i = end
                    continue
                if text[end:end + 1] != ".":
                    self.tokens.append(_Token("ident", (None, word), i))
                    i = end
                    continue
                entity, j = word, end + 1
                if j < len(text) and text[j] in "`\"'":
                    key, end = self._quoted(j)
                else:
                    key_match = _BARE_KEY.match(text, j)
                    if not key_match:
                        raise self._error(f"expected a name after '{entity}.'", j)
                    key, end = key_match.group(), key_match.end()
                self.tokens.append(_Token("ident", (entity, key), i))
                i = end
            else:
                raise self._error(f"unexpected character {ch!r}", i)
        self.tokens.append(_Token("end", None, len(text)))


class _Parser:
    def __init__(self, text: str, *, allowed_entities: set[str]):
        self.text = text
        self.tokens = _Lexer(text).tokens
        self.i = 0
        self.allowed = allowed_entities

    def _error(self, message: str, token: _Token | None = None):
        token = token or self.peek()
        return invalid(f"Invalid filter {self.text!r}: {message} at position {token.start}")

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "end":  # the end stays the next token however often it is taken
            self.i += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.value in words

    def parse(self) -> Group | Clause | None:
        if self.peek().kind == "end":
            return None
        node = self.disjunction()
        if self.peek().kind != "end":
            raise self._error("expected AND or the end of the filter")
        return node

    def disjunction(self):
        items = [self.conjunction()]
        while self.at_keyword("or"):
            self.take()
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Group("or", tuple(items))

    def conjunction(self):
        items = [self.primary()]
        while self.at_keyword("and"):
            self.take()
            items.append(self.primary())
        return items[0] if len(items) == 1 else Group("and", tuple(items))

    def primary(self):
        if self.peek().kind == "(":
            self.take()
            node = self.disjunction()
            if self.take().kind != ")":
                raise self._error("expected ')'")
            return node
        return self.comparison()

    def identifier(self) -> tuple[str, str]:
        token = self.take()
        if token.kind == "string" and token.value[1] == '"':  # "key" as a bare attribute
            token = _Token("ident", (None, token.value[0]), token.start)
        if token.kind != "ident":
            raise self._error("expected a name such as metrics.acc, params.lr or status", token)
        entity, key = token.value
        if entity is None:
            entity_kind = "attribute"
        else:
            entity_kind = _ENTITIES.get(entity.strip("`"))
            if entity_kind is None:
                raise self._error(
                    f"invalid entity type {entity!r}: use metrics., params., tags., "
                    "attributes. or datasets.", token)
        if entity_kind not in self.allowed:
            raise self._error(f"{entity_kind} fields cannot be used here", token)
        return entity_kind, _ATTRIBUTE_ALIASES.get(key, key) if entity_kind == "attribute" \
            else key

    def comparison(self) -> Clause:
        entity, key = self.identifier()
        token = self.take()
        if token.kind == "op":
            op = token.value
        elif token.kind == "keyword" and token.value in ("like", "ilike", "in"):
            op = token.value.upper()
        elif token.kind == "keyword" and token.value == "not":
            follow = self.take()
            if not (follow.kind == "keyword" and follow.value in ("in", "like", "ilike")):
                raise self._error("expected IN after NOT", follow)
            op = f"NOT {follow.value.upper()}"
        elif token.kind == "keyword" and token.value == "is":
            negated = self.at_keyword("not")
            if negated:
                self.take()
            if not self.at_keyword("null"):
                raise self._error("expected NULL after IS")
            self.take()
            return Clause(entity, key, "IS NOT NULL" if negated else "IS NULL", None)
        else:
            raise self._error("expected a comparison operator (=, !=, <, <=, >, >=, LIKE, "
                              "ILIKE, IN, IS NULL)", token)
        if op in ("IN", "NOT IN"):
            return Clause(entity, key, op, self.value_list())
        value = self.take()
        if value.kind == "number":
            return Clause(entity, key, op, value.value)
        if value.kind == "string":
            return Clause(entity, key, op, value.value[0])
        raise self._error("expected a value (a number, or text in quotes)", value)

    def value_list(self) -> list[str]:
        if self.take().kind != "(":
            raise self._error("expected '(' and a list of quoted values after IN")
        values = []
        while True:
            token = self.take()
            if token.kind not in ("string", "number"):
                raise self._error("expected a quoted value in the list", token)
            values.append(token.value[0] if token.kind == "string" else str(token.value))
            closing = self.take()
            if closing.kind == ")":
                return values
            if closing.kind != ",":
                raise self._error("expected ',' or ')' in the list", closing)


def parse(text: str | None, *, entities: set[str]) -> Group | Clause | None:
    """Parse an MLflow filter string into clauses; None when it is blank."""
    if not text or not text.strip():
        return None
    return _Parser(text, allowed_entities=entities).parse()


# --- Runs: onto tracker.query's AST ------------------------------------------------

def _never() -> Node:
    """A condition no run satisfies (e.g. status = 'SCHEDULED', which no run is stored as)."""
    running = Comparison(Field("attribute", "status"), "=", "running")
    return And((running, Not(running)))


def _present_and(field: Field, node: Node) -> Node:
    """MLflow's `!=`: the field is there and differs (runs without it do not match)."""
    return And((Comparison(field, "!=", None), node))


def _like(pattern: str, text: str, *, ignore_case: bool) -> bool:
    return re.fullmatch(like_regex(pattern), text, re.IGNORECASE if ignore_case else 0) is not None


def _status_node(op: str, value) -> Node:
    values = value if isinstance(value, list) else [value]
    if any(not isinstance(v, str) for v in values):
        raise invalid("status must be compared with quoted text such as 'FINISHED'")
    if op in ("LIKE", "ILIKE"):
        matching = [s for s in MLFLOW_STATUSES if _like(values[0], s, ignore_case=op == "ILIKE")]
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
        field = Field(entity, key)
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

def order_key(text: str) -> tuple[str, str, bool]:
    """("metric"|"param"|"tag"|"attribute", key, descending) of one MLflow order_by item."""
    tokens = _Lexer(text).tokens[:-1]
    descending = False
    if tokens and tokens[-1].kind == "keyword" and tokens[-1].value in ("asc", "desc"):
        descending = tokens[-1].value == "desc"
        tokens = tokens[:-1]
    if len(tokens) != 1 or tokens[0].kind not in ("ident", "string"):
        raise invalid(f"Invalid order_by clause {text!r}: use a name such as metrics.acc, "
                      "params.lr or start_time, optionally followed by ASC or DESC")
    token = tokens[0]
    entity, key = token.value if token.kind == "ident" else (None, token.value[0])
    kind = "attribute" if entity is None else _ENTITIES.get(entity)
    if kind is None or kind == "dataset":
        raise invalid(f"Invalid order_by entity {entity!r} in {text!r}")
    if kind == "attribute":
        key = _ATTRIBUTE_ALIASES.get(key, key)
    return kind, key, descending


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
            field = Field(kind, key)
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
    """SQL LIKE (% and _) on Python strings, for the few experiments a user can see."""
    return _like(pattern, text, ignore_case=ignore_case)


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
