"""The filter language's syntax tree, its error, and the names it knows."""

from __future__ import annotations

import re
from dataclasses import dataclass

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

    A param or tag reads as a number where its value does (``1``, ``1.0`` and ``"1.0"``
    are equal; see tracker.param_values). ``as_text`` keeps MLflow's semantics instead,
    where params are strings: the value equals the very text given, and sorts as stored.
    The filter language has no syntax for it either.
    """

    kind: str  # "metric" | "logged_metric" | "param" | "tag" | "attribute" | "dataset"
    name: str
    split: str | None = None
    as_text: bool = False


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


def like_regex(pattern: str) -> str:
    """SQL LIKE pattern (% and _; a backslash makes the next character plain) as an
    anchored regular expression."""
    out = []
    escaped = False
    for ch in pattern:
        if escaped:
            out.append(re.escape(ch))
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    if escaped:
        out.append(re.escape("\\"))
    return "^" + "".join(out) + "$"
