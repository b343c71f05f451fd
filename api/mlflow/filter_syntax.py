r"""MLflow's filter strings and order_by items, read into clauses.

MLflow writes `metrics.val_f1 > 0.8 and params.model = 'svm'`; this module tokenizes that
syntax into Clause and Group values (filters.py turns them into tracker.query's AST, or
evaluates them in Python). In quoted values a backslash escapes the quote or a backslash and
is kept before anything else, so LIKE's `\%` and `\_` match a plain % or _; SQL's doubled
quote reads as a quote. OR and parentheses are accepted as well (MLflow itself allows only
AND).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from api.mlflow.errors import invalid

ENTITIES = {
    "metric": "metric", "metrics": "metric",
    "param": "param", "params": "param", "parameter": "param", "parameters": "param",
    "tag": "tag", "tags": "tag",
    "attribute": "attribute", "attributes": "attribute", "attr": "attribute", "run": "attribute",
    "dataset": "dataset", "datasets": "dataset",
}
ATTRIBUTE_ALIASES = {"created": "start_time", "Created": "start_time", "run name": "run_name",
                     "Run name": "run_name", "Run Name": "run_name"}
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
            entity_kind = ENTITIES.get(entity.strip("`"))
            if entity_kind is None:
                raise self._error(
                    f"invalid entity type {entity!r}: use metrics., params., tags., "
                    "attributes. or datasets.", token)
        if entity_kind not in self.allowed:
            raise self._error(f"{entity_kind} fields cannot be used here", token)
        return entity_kind, ATTRIBUTE_ALIASES.get(key, key) if entity_kind == "attribute" \
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
    if not text:
        return None
    if not isinstance(text, str):
        raise invalid(f"Invalid value {text!r} for parameter 'filter': expected a string")
    if not text.strip():
        return None
    return _Parser(text, allowed_entities=entities).parse()


def order_key(text: str) -> tuple[str, str, bool]:
    """("metric"|"param"|"tag"|"attribute", key, descending) of one MLflow order_by item."""
    if not isinstance(text, str):
        raise invalid(f"Invalid order_by clause {text!r}: expected a string")
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
    kind = "attribute" if entity is None else ENTITIES.get(entity)
    if kind is None or kind == "dataset":
        raise invalid(f"Invalid order_by entity {entity!r} in {text!r}")
    if kind == "attribute":
        key = ATTRIBUTE_ALIASES.get(key, key)
    return kind, key, descending
