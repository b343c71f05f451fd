"""Params and tags as the filter language reads them: one meaning whichever client logged them.

The SDK stores a numeric param as a JSON number, the MLflow client sends every param as
text, so `epochs=30` and `epochs="30"` are the same param told two ways. Where the stored
value and the value compared with both read as numbers (a JSON number, or text that is
exactly a decimal number such as "1.0", "-3e-4" or ".5") they compare as numbers; otherwise
they compare as text. Sorted, numbers come first (by value), then text, then runs without
the key, in either direction.

Everything is evaluated in the database, as Django expressions written for the two
databases Targetline runs on. Numbers are PostgreSQL's exact `numeric` there (text such
as "1e400" would overflow a double, and "0.1" stays 0.1), REAL on SQLite.
"""

import json
import re
from decimal import Decimal

from django.db import NotSupportedError
from django.db.models import F, FloatField, Func, Q, TextField

from tracker.query.syntax import like_regex

# Text that reads as a number. The digits are bounded (PostgreSQL's regular expressions
# allow bounds up to 255) so that `numeric` always holds the value; [0-9], not \d, and no
# surrounding spaces, so the three regex engines involved agree on every text.
NUMBER_PATTERN = (r"\A[-+]?([0-9]{1,255}(\.[0-9]{0,255})?|\.[0-9]{1,255})"
                  r"([eE][-+]?[0-9]{1,3})?\Z")
_NUMBER = re.compile(NUMBER_PATTERN)
_LOOKUPS = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def number_of(value) -> Decimal | None:
    """The number a literal of the filter language reads as (a number, or text that is
    exactly a decimal number), or None; booleans are not numbers."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return Decimal(repr(float(value)))
    if isinstance(value, str) and _NUMBER.match(value):
        return Decimal(value)
    return None


def text_of(value) -> str:
    """A literal as text, for a comparison with a value that does not read as a number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


class _NumberField(FloatField):
    """The output field of ValueNumber: passes numbers to the database as it computes them
    (Decimal for PostgreSQL's numeric, float for SQLite), never rounded through a float on
    PostgreSQL."""

    def get_prep_value(self, value):
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None:
            return None
        if connection.vendor == "postgresql":
            return value if isinstance(value, Decimal) else Decimal(repr(float(value)))
        return float(value)


class _KeyValue(Func):
    """One key of a run's JSON column (params or tags), written per database."""

    def __init__(self, column: str, key: str):
        super().__init__(F(column))
        self.key = key

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        if params:  # a plain column has none; the templates below repeat it
            raise NotSupportedError("params and tags are read from a plain column")
        if connection.vendor == "postgresql":
            template, values = self.postgresql(self.key)
        elif connection.vendor == "sqlite":
            # A quoted member name, even for "0" (Django's paths read digits as an index).
            template, values = self.sqlite("$." + json.dumps(self.key))
        else:
            raise NotSupportedError(f"param comparisons on {connection.vendor}")
        return template.replace("{c}", column), values

    def postgresql(self, key: str) -> tuple[str, list]:
        raise NotImplementedError

    def sqlite(self, path: str) -> tuple[str, list]:
        raise NotImplementedError


class ValueText(_KeyValue):
    """The value as text: text as stored, a number as written, true/false for booleans;
    NULL when the run lacks the key or holds null there."""

    output_field = TextField()

    def postgresql(self, key):
        return "({c} ->> %s::text)", [key]

    def sqlite(self, path):
        return ("(CASE json_type({c}, %s) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
                "ELSE CAST(json_extract({c}, %s) AS TEXT) END)"), [path, path]


class ValueNumber(_KeyValue):
    """The number the value reads as (a JSON number, or text that is exactly a decimal
    number); NULL for other values and for runs without the key."""

    output_field = _NumberField()

    def postgresql(self, key):
        return ("(CASE jsonb_typeof({c} -> %s::text) "
                "WHEN 'number' THEN ({c} ->> %s::text)::numeric "
                "WHEN 'string' THEN CASE WHEN ({c} ->> %s::text) ~ %s "
                "THEN ({c} ->> %s::text)::numeric END END)"), [key, key, key, NUMBER_PATTERN, key]

    def sqlite(self, path):
        return ("(CASE json_type({c}, %s) "
                "WHEN 'integer' THEN json_extract({c}, %s) WHEN 'real' THEN json_extract({c}, %s) "
                "WHEN 'text' THEN CASE WHEN json_extract({c}, %s) REGEXP %s "
                "THEN CAST(json_extract({c}, %s) AS REAL) END END)"), [
                    path, path, path, path, NUMBER_PATTERN, path]


def _lookup(lhs, name: str, value):
    return lhs.get_lookup(name)(lhs, value)


def _holds(expression, op: str, value) -> Q:
    """`expression op value`, false (never SQL NULL) where the expression is NULL, so that
    `not` keeps runs without the key."""
    return Q(_lookup(expression, "isnull", False)) & Q(_lookup(expression, _LOOKUPS[op], value))


def value_q(column: str, key: str, op: str, value) -> Q:
    """A comparison of the key of `column` (params or tags) with a literal of the filter
    language, one meaning whichever client logged the value. `!=` is `not =`, so runs
    without the key match it; `= null` means the key is absent (or null)."""
    text = ValueText(column, key)
    if value is None:
        present = Q(_lookup(text, "isnull", False))
        return ~present if op == "=" else present
    if op in ("~", "~*"):
        return Q(_lookup(text, "isnull", False)) & Q(
            _lookup(text, "regex" if op == "~" else "iregex", like_regex(value)))
    if op in ("=", "!="):
        equal = _equal(column, key, value, text)
        return ~equal if op == "!=" else equal
    number = number_of(value)
    as_text = _holds(text, op, text_of(value))
    if number is None:
        return as_text
    numeric = ValueNumber(column, key)
    return _holds(numeric, op, number) | (Q(_lookup(numeric, "isnull", True)) & as_text)


def _equal(column: str, key: str, value, text) -> Q:
    if isinstance(value, bool):  # JSON true, or text as Python and MLflow write it
        words = ["true", "True"] if value else ["false", "False"]
        return _holds(text, "=", words[0]) | _holds(text, "=", words[1])
    number = number_of(value)
    if number is None:
        return _holds(text, "=", value)
    # Text equal to a number's text reads as that number: comparing numbers is enough.
    return _holds(ValueNumber(column, key), "=", number)


def order_expressions(column: str, key: str) -> list:
    """The expressions runs sort by for a key of params or tags, each with NULLs last:
    its number (numbers first, by value), then its text (then text, alphabetically)."""
    return [ValueNumber(column, key), ValueText(column, key)]
