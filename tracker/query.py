"""The run filter language and sort keys, parsed into a small immutable AST.

This is the one place the language is parsed; the API, the web UI and the MLflow
endpoints all go through it, and a separate module compiles the AST into ORM
queries. Pure stdlib on purpose, so it can be tested (and fuzzed) without Django.

Filters look like::

    validation.f1 > 0.8 and params.model = "svm"
    test/long_texts.f1 >= 0.7 or not (tags.stage = "dev" or baseline = true)
    name ~ "lr-%" and started_at >= "2024-05-01"

Fields:

* ``<split>.<key>``: a metric's final value on a split (``train``, ``validation``,
  ``test``) or on a slice of one (``test/long_texts.f1``);
* ``params.<name>`` (or ``param.``) and ``tags.<name>`` (or ``tag.``);
* ``datasets.name``, ``datasets.digest``, ``datasets.context`` (or ``dataset.``): the run
  has an input dataset whose name, digest or use ("training") compares so;
* a bare attribute name from ``ATTRIBUTES`` (or ``attributes.<name>``).

A key or name containing ``.``, ``/`` or other characters goes in backquotes:
``validation.`f1.macro```, ``params.`optimizer.lr```.

Values are numbers, strings in double or single quotes (a backslash escapes the
quote character or a backslash; any other backslash is kept, so LIKE escapes
such as ``"100\\%"`` reach the database intact), ``true``/``false`` and ``null``.
Keywords (``and``, ``or``, ``not``, ``like``, ``ilike``, ``true``, ``false``,
``null``) are case-insensitive; field names are not.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

SPLITS = ("train", "validation", "test")
ATTRIBUTES = {  # attribute name -> value type
    "name": "str",
    "status": "str",
    "baseline": "bool",
    "experiment": "str",
    "id": "str",
    "host": "str",
    "git_commit": "str",
    "data_version": "str",
    "created_by": "str",
    "started_at": "time",
    "ended_at": "time",
    "duration": "number",
}
DATASET_FIELDS = ("name", "digest", "context")
STATUSES = ("running", "finished", "failed", "killed")
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "~", "~*")

# Deep enough for any filter a person writes, shallow enough that the recursive
# descent can never hit Python's recursion limit (which would not be a FilterError).
MAX_NESTING = 50


class FilterError(ValueError):
    """A filter or sort key that cannot be parsed.

    ``message`` is a human sentence, ``position`` the 0-based character offset in
    the text where the problem is (``len(text)`` when the text ends too early), and
    ``hint`` an optional suggestion. ``str(exc)`` reads like
    ``'expected a value after ">" at position 17'``, followed by ``"; <hint>"``.
    """

    def __init__(self, message: str, position: int, *, hint: str | None = None):
        super().__init__(message, position)
        self.message = message
        self.position = position
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.message} at position {self.position}"
        return f"{text}; {self.hint}" if self.hint else text


@dataclass(frozen=True)
class Field:
    """A metric, param, tag or attribute of a run.

    ``split`` is set only for metrics: ``"train"``, ``"validation"``, ``"test"`` or
    a slice such as ``"test/long_texts"``. A ``"logged_metric"`` is a metric as an
    external client names and reads it (MLflow's ``val_f1``): the series that answers
    to that name, whichever (key, split) stores it, at its latest value. The filter
    language has no syntax for it; api/mlflow builds it.
    """

    kind: str  # "metric" | "logged_metric" | "param" | "tag" | "attribute" | "dataset"
    name: str
    split: str | None = None


@dataclass(frozen=True)
class Comparison:
    """``field op value``; ``op`` is one of ``OPERATORS``.

    ``~`` is a case-sensitive LIKE pattern, ``~*`` a case-insensitive one. Numbers
    are floats; ``None`` (``null``) comes only with ``=`` (missing) and ``!=``
    (present). Times stay as the ISO-8601 string given, or a number of epoch ms.
    """

    field: Field
    op: str
    value: float | str | bool | None


@dataclass(frozen=True)
class And:
    """All of ``items`` (two or more; nested Ands are flattened)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Any of ``items`` (two or more; nested Ors are flattened)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The negation of ``item``."""

    item: Node


Node = Comparison | And | Or | Not


def parse_filter(text: str) -> Node | None:
    """Parse a run filter; blank text means no filter and gives ``None``."""
    parser = _Parser(text)
    if parser.peek().kind == _END:
        return None
    node = parser.expression()
    token = parser.peek()
    if token.kind == ")":
        raise FilterError('unexpected ")"', token.start, hint='there is no "(" to close')
    if token.kind != _END:
        raise FilterError(f"unexpected {parser.show(token)}", token.start, hint="expected and/or")
    return node


def parse_field(text: str) -> Field:
    """Parse a single field reference, such as a sort key without its leading ``-``."""
    parser = _Parser(text)
    field = parser.field()
    token = parser.peek()
    if token.kind != _END:
        raise FilterError(f"unexpected {parser.show(token)} after the field", token.start)
    return field


def parse_order_by(text: str) -> list[tuple[Field, bool]]:
    """Parse comma-separated sort keys, each optionally prefixed by ``-`` (descending).

    ``"-validation.f1,name"`` gives ``[(validation.f1, True), (name, False)]``;
    blank text gives ``[]``.
    """
    parser = _Parser(text)
    keys: list[tuple[Field, bool]] = []
    if parser.peek().kind == _END:
        return keys
    while True:
        descending = parser.peek().kind == "-"
        if descending:
            parser.advance()
        start = parser.peek().start
        field = parser.field()
        if field.kind == "dataset":
            raise FilterError(f"runs cannot be sorted by datasets.{field.name} (a run may "
                              "have several datasets)", start)
        keys.append((field, descending))
        token = parser.peek()
        if token.kind == _END:
            return keys
        if token.kind != ",":
            raise FilterError(
                f"unexpected {parser.show(token)}",
                token.start,
                hint="separate sort keys with commas, e.g. -validation.f1,name",
            )
        parser.advance()


# --- tokenizer -------------------------------------------------------------------

_END = "end"
_KEYWORDS = frozenset({"and", "or", "not", "like", "ilike", "true", "false", "null"})
_WORD_OPERATORS = {"like": "~", "ilike": "~*"}
# Longest first, so "<=" is not read as "<" followed by "=".
_SYMBOL_OPERATORS = (
    ("==", "="),
    ("!=", "!="),
    ("<>", "!="),
    ("<=", "<="),
    (">=", ">="),
    ("~*", "~*"),
    ("=", "="),
    ("<", "<"),
    (">", ">"),
    ("~", "~"),
)
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")
_BARE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_NAME_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_`"
_CHARACTER_HINTS = {
    "&": 'use "and"',
    "|": 'use "or"',
    "!": 'use "not", or "!=" for not equal',
}


@dataclass(frozen=True)
class _Segment:
    """One part of a field reference: ``test``, ``long_texts`` and ``f1`` in test/long_texts.f1."""

    text: str
    start: int
    quoted: bool
    separator: str  # "" for the first segment, else "." or "/" written right before it


@dataclass(frozen=True)
class _Token:
    kind: str  # "field", "keyword", "number", "string", "op", "(", ")", ",", "-" or "end"
    start: int
    end: int
    value: object = None


class _Lexer:
    """Reads tokens on demand, so errors come out in the order they appear in the text."""

    def __init__(self, text: str):
        self.text = text
        self.position = 0

    def next_token(self) -> _Token:
        text = self.text
        position = self.position
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            self.position = position
            return _Token(_END, position, position)
        token = self._read(position)
        self.position = token.end
        return token

    def _read(self, start: int) -> _Token:
        text = self.text
        char = text[start]
        if char in "(),":
            return _Token(char, start, start + 1)
        if char in "\"'":
            value, end = self._quoted(start, "string")
            return _Token("string", start, end, value)
        if char in "0123456789.-" and _NUMBER.match(text, start):
            return self._number(start)
        if char == "-":
            return _Token("-", start, start + 1)
        if char in _NAME_START:
            return self._field_or_keyword(start)
        for symbol, op in _SYMBOL_OPERATORS:
            if text.startswith(symbol, start):
                return _Token("op", start, start + len(symbol), op)
        raise FilterError(f"unexpected character {char!r}", start, hint=_CHARACTER_HINTS.get(char))

    def _number(self, start: int) -> _Token:
        match = _NUMBER.match(self.text, start)
        end = match.end()
        tail = _NUMBER_TAIL.match(self.text, end)
        if tail:
            raise FilterError(f"invalid number {self.text[start : tail.end()]!r}", start)
        value = float(match.group())
        if not math.isfinite(value):
            raise FilterError(f"number {match.group()!r} is too large", start)
        return _Token("number", start, end, value)

    def _quoted(self, start: int, what: str) -> tuple[str, int]:
        """Read a quoted string or backquoted name starting at ``start``; return it and its end."""
        text = self.text
        quote = text[start]
        chars = []
        position = start + 1
        while position < len(text):
            char = text[position]
            if char == "\\" and text[position + 1 : position + 2] in (quote, "\\"):
                chars.append(text[position + 1])
                position += 2
            elif char == quote:
                return "".join(chars), position + 1
            else:
                chars.append(char)
                position += 1
        raise FilterError(f"unterminated {what}", start, hint=f"close it with {quote}")

    def _field_or_keyword(self, start: int) -> _Token:
        text = self.text
        segments = []
        separator = ""
        position = start
        while True:
            if text.startswith("`", position):
                name, end = self._quoted(position, "backquoted name")
                if not name:
                    raise FilterError("empty backquoted name", position)
                segments.append(_Segment(name, position, True, separator))
            else:
                match = _BARE_NAME.match(text, position)
                if not match:
                    raise FilterError(f'expected a name after "{separator}"', position)
                end = match.end()
                segments.append(_Segment(match.group(), position, False, separator))
            position = end
            if position < len(text) and text[position] in "./":
                separator = text[position]
                position += 1
            else:
                break
        if len(segments) == 1 and not segments[0].quoted:
            word = segments[0].text.lower()
            if word in _KEYWORDS:
                return _Token("keyword", start, position, word)
        return _Token("field", start, position, tuple(segments))


# --- parser ----------------------------------------------------------------------


class _Parser:
    """Recursive descent over: or_expr := and_expr ("or" and_expr)*,
    and_expr := not_expr ("and" not_expr)*, not_expr := "not" not_expr | primary,
    primary := "(" or_expr ")" | field operator value.
    """

    def __init__(self, text: str):
        self.text = text
        self.lexer = _Lexer(text)
        self.lookahead: _Token | None = None
        self.nesting = 0

    def peek(self) -> _Token:
        if self.lookahead is None:
            self.lookahead = self.lexer.next_token()
        return self.lookahead

    def advance(self) -> _Token:
        token = self.peek()
        self.lookahead = None
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "keyword" and token.value == word

    def source(self, token: _Token) -> str:
        return self.text[token.start : token.end]

    def show(self, token: _Token) -> str:
        """How a token is quoted in messages: operators in double quotes, words in single."""
        if token.kind == _END:
            return "the end of the text"
        source = self.source(token)
        if len(source) > 40:
            source = source[:37] + "..."
        if token.kind == "string":
            return source
        if token.kind in ("op", "(", ")", ",", "-"):
            return f'"{source}"'
        return f"'{source}'"

    def expression(self) -> Node:
        items = [self.conjunction()]
        while self.at_keyword("or"):
            self.advance()
            items.append(self.conjunction())
        return _combine(Or, items)

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.at_keyword("and"):
            self.advance()
            items.append(self.negation())
        return _combine(And, items)

    def negation(self) -> Node:
        if not self.at_keyword("not"):
            return self.primary()
        token = self.advance()
        self.enter(token)
        node = Not(self.negation())
        self.nesting -= 1
        return node

    def primary(self) -> Node:
        token = self.peek()
        if token.kind != "(":
            return self.comparison()
        self.advance()
        self.enter(token)
        if self.peek().kind == ")":
            raise FilterError("empty parentheses", token.start)
        node = self.expression()
        closing = self.peek()
        if closing.kind == _END:
            raise FilterError(
                f'unclosed "(" (opened at offset {token.start}): missing ")"', closing.start
            )
        if closing.kind != ")":
            raise FilterError(
                f"unexpected {self.show(closing)}",
                closing.start,
                hint=f'expected and, or or ")" to close the "(" at offset {token.start}',
            )
        self.advance()
        self.nesting -= 1
        return node

    def enter(self, token: _Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise FilterError(
                f"the filter is nested too deeply (more than {MAX_NESTING} levels)", token.start
            )

    def field(self) -> Field:
        token = self.advance()
        if token.kind != "field":
            raise FilterError(
                f"expected a field such as validation.f1, params.lr or status, "
                f"found {self.show(token)}",
                token.start,
            )
        return _field_from_token(token, self.text)

    def comparison(self) -> Comparison:
        field_token = self.peek()
        field = self.field()
        op_token = self.advance()
        if op_token.kind == "op":
            op = op_token.value
        elif op_token.kind == "keyword" and op_token.value in _WORD_OPERATORS:
            op = _WORD_OPERATORS[op_token.value]
        else:
            raise FilterError(
                f"expected an operator (=, !=, <, <=, >, >=, ~) after {self.show(field_token)}",
                op_token.start,
            )
        value_token = self.advance()
        value = self.value(value_token, op_token)
        checked = _check_comparison(
            field,
            op,
            value,
            field_name=self.source(field_token),
            op_token=op_token,
            value_token=value_token,
            value_source=self.source(value_token),
            shown_value=self.show(value_token),
        )
        return Comparison(field, op, checked)

    def value(self, token: _Token, op_token: _Token) -> float | str | bool | None:
        if token.kind in ("number", "string"):
            return token.value
        if token.kind == "keyword" and token.value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[token.value]
        after = f'after "{self.source(op_token)}"'
        if token.kind == _END:
            raise FilterError(f"expected a value {after}", token.start)
        hint = None
        if token.kind == "field":
            hint = f'put text in quotes: "{self.source(token)}"'
        raise FilterError(
            f"expected a value {after}, found {self.show(token)}", token.start, hint=hint
        )


def _combine(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """One item stays as it is; several become ``kind``, flattening nested ones of that kind."""
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return kind(tuple(flat))


# --- fields ----------------------------------------------------------------------

_PREFIXES = {
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "datasets": "dataset",
    "dataset": "dataset",
}
_FIELD_KINDS_HINT = "use a split (validation.f1), params.X, tags.X or one of: " + ", ".join(
    ATTRIBUTES
)
_BACKQUOTE_EXAMPLE = "validation.`f1.macro`"


def _field_from_token(token: _Token, text: str) -> Field:
    """Turn a field token's segments into a Field, naming the segment that is wrong."""
    segments: tuple[_Segment, ...] = token.value
    source = text[token.start : token.end]
    head = segments[0]
    if head.quoted:
        raise FilterError(
            "a field cannot start with a backquoted name",
            head.start,
            hint="backquotes go after a prefix, e.g. params.`optimizer.lr` or "
            + _BACKQUOTE_EXAMPLE,
        )
    if len(segments) == 1:
        if head.text in ATTRIBUTES:
            return Field("attribute", head.text)
        if head.text in SPLITS:
            raise FilterError(
                f"'{head.text}' is a split, not a field",
                token.start,
                hint=f"name a metric, e.g. {head.text}.f1",
            )
        raise FilterError(f"unknown field '{head.text}'", token.start, hint=_FIELD_KINDS_HINT)

    if head.text in _PREFIXES:
        kind = _PREFIXES[head.text]
        name = segments[1]
        if name.separator != ".":
            raise FilterError(f"expected \".\" after '{head.text}'", name.start - 1)
        _reject_extra_segments(segments, 2, token, text)
        if kind == "attribute" and name.text not in ATTRIBUTES:
            raise FilterError(
                f"unknown attribute '{name.text}'",
                name.start,
                hint="attributes are: " + ", ".join(ATTRIBUTES),
            )
        if kind == "dataset" and name.text not in DATASET_FIELDS:
            raise FilterError(
                f"unknown dataset field '{name.text}'",
                name.start,
                hint="datasets are filtered on "
                + ", ".join(f"datasets.{f}" for f in DATASET_FIELDS),
            )
        return Field(kind, name.text)

    if head.text in SPLITS:
        split = head.text
        key_index = 1
        if segments[1].separator == "/":
            slice_ = segments[1]
            if slice_.quoted:
                raise FilterError("a slice name cannot be backquoted", slice_.start)
            split = f"{head.text}/{slice_.text}"
            key_index = 2
        if len(segments) == key_index:
            raise FilterError(
                f"'{source}' is a split, not a field",
                token.start,
                hint=f"name a metric, e.g. {source}.f1",
            )
        key = segments[key_index]
        if key.separator != ".":
            raise FilterError(
                f"expected \".\" and a metric key after '{text[token.start : key.start - 1]}'",
                key.start - 1,
                hint="a split has at most one slice, as in test/long_texts.f1",
            )
        _reject_extra_segments(segments, key_index + 1, token, text)
        return Field("metric", key.text, split)

    if head.text in ("metrics", "metric"):
        hint = "metrics always name their split: validation.f1, test.f1 or test/long_texts.f1"
    else:
        hint = "splits are train, validation, test or a slice such as test/long_texts"
    raise FilterError(f"unknown split '{head.text}'", token.start, hint=hint)


def _reject_extra_segments(
    segments: tuple[_Segment, ...], allowed: int, token: _Token, text: str
) -> None:
    """Refuse ``params.optimizer.lr``: the name after the prefix is one segment."""
    if len(segments) <= allowed:
        return
    name = segments[allowed - 1]
    extra = segments[allowed]
    unquoted = text[name.start : token.end]
    if "`" in unquoted:
        example = _BACKQUOTE_EXAMPLE
    else:
        example = f"{text[token.start : name.start]}`{unquoted}`"
    raise FilterError(
        f"unexpected \"{extra.separator}\" in '{text[token.start : token.end]}'",
        extra.start - 1,
        hint=f'names containing "." or "/" go in backquotes, e.g. {example}',
    )


# --- type checks -----------------------------------------------------------------

_EQUALITY = ("=", "!=")
_PATTERN = ("~", "~*")
_STATUS_HINT = "status is one of: " + ", ".join(STATUSES)


def _check_comparison(
    field: Field,
    op: str,
    value: float | str | bool | None,
    *,
    field_name: str,
    op_token: _Token,
    value_token: _Token,
    value_source: str,
    shown_value: str,
) -> float | str | bool | None:
    """Refuse comparisons that can never make sense for the field; return the value to keep.

    Operator problems are reported at the operator, value problems at the value.
    """
    value_type = (ATTRIBUTES[field.name] if field.kind == "attribute"
                  else "str" if field.kind == "dataset" else field.kind)
    at_op, at_value = op_token.start, value_token.start
    is_number = isinstance(value, float)

    def wrong_value(needs: str, hint: str | None = None) -> FilterError:
        return FilterError(f"{field_name} needs {needs}, found {shown_value}", at_value, hint=hint)

    # Operators first: they come before the value in the text.
    if (field.kind == "attribute" and field.name == "status") or value_type == "bool":
        if op not in _EQUALITY:
            raise FilterError(f'{field_name} can only be compared with "=" or "!="', at_op)
    elif op in _PATTERN and value_type in ("metric", "time", "number"):
        raise FilterError(
            f'"{op}" matches text patterns and cannot be used with {field_name}',
            at_op,
            hint="compare it with =, !=, <, <=, >, >=",
        )

    if op in _PATTERN and not isinstance(value, str):
        raise FilterError(
            f'"{op}" needs a quoted pattern such as "lr-%", found {shown_value}', at_value
        )
    if value is None:
        if op not in _EQUALITY:
            raise FilterError(
                'null can only be compared with "=" (missing) or "!=" (present)', at_value
            )
        if field.kind == "attribute" and field.name == "status":
            raise FilterError("status is never null", at_value, hint=_STATUS_HINT)
        if value_type == "bool":
            raise wrong_value("true or false")
        return None

    if field.kind == "attribute" and field.name == "status":
        if not isinstance(value, str) or value.lower() not in STATUSES:
            raise FilterError(f"unknown status {shown_value}", at_value, hint=_STATUS_HINT)
        return value.lower()
    if value_type == "bool" and not isinstance(value, bool):
        raise wrong_value("true or false")
    if value_type == "metric" and not is_number:
        raise wrong_value("a number", hint="metrics compare with numbers")
    if value_type == "number" and not is_number:
        raise wrong_value("a number of seconds")
    if value_type == "str" and not isinstance(value, str):
        raise wrong_value("a quoted text value", hint=f'put it in quotes: "{value_source}"')
    if value_type == "time":
        if is_number:
            return value
        if not isinstance(value, str) or not _is_iso_datetime(value):
            raise wrong_value(
                'an ISO-8601 date or datetime in quotes (e.g. "2024-05-01T12:30:00") '
                "or epoch milliseconds"
            )
    return value


def _is_iso_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        return False
    return True
