"""Comparisons refused because they can never make sense for their field (a pattern on a
number, null on a boolean, an unknown status), each reported where it is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tracker.query.syntax import ATTRIBUTES, STATUSES, Field, FilterError

_EQUALITY = ("=", "!=")
_PATTERN = ("~", "~*")
_STATUS_HINT = "status is one of: " + ", ".join(STATUSES)


@dataclass(frozen=True)
class Written:
    """How a comparison was written, for its messages: the field as typed, where the
    operator and the value start, and the value as typed and as messages quote it."""

    field: str
    op_at: int
    value_at: int
    value: str
    shown_value: str

    def wrong_value(self, needs: str, hint: str | None = None) -> FilterError:
        return FilterError(f"{self.field} needs {needs}, found {self.shown_value}",
                           self.value_at, hint=hint)


def check_comparison(field: Field, op: str, value: float | str | bool | None,
                     written: Written) -> float | str | bool | None:
    """Refuse comparisons that can never make sense for the field; return the value to keep.

    Operator problems are reported at the operator, value problems at the value, and the
    operator is checked first: it comes first in the text.
    """
    value_type = (ATTRIBUTES[field.name] if field.kind == "attribute"
                  else "str" if field.kind == "dataset" else field.kind)
    is_status = field.kind == "attribute" and field.name == "status"
    if is_status or value_type == "bool":
        if op not in _EQUALITY:
            raise FilterError(f'{written.field} can only be compared with "=" or "!="',
                              written.op_at)
    elif op in _PATTERN and value_type in ("metric", "time", "number"):
        raise FilterError(
            f'"{op}" matches text patterns and cannot be used with {written.field}',
            written.op_at,
            hint="compare it with =, !=, <, <=, >, >=",
        )
    if op in _PATTERN and not isinstance(value, str):
        raise FilterError(
            f'"{op}" needs a quoted pattern such as "lr-%", found {written.shown_value}',
            written.value_at,
        )
    if value is None:
        if op not in _EQUALITY:
            raise FilterError(
                'null can only be compared with "=" (missing) or "!=" (present)', written.value_at
            )
        if is_status:
            raise FilterError("status is never null", written.value_at, hint=_STATUS_HINT)
        if value_type == "bool":
            raise written.wrong_value("true or false")
        return None
    if is_status:
        if not isinstance(value, str) or value.lower() not in STATUSES:
            raise FilterError(f"unknown status {written.shown_value}", written.value_at,
                              hint=_STATUS_HINT)
        return value.lower()
    return _check_value_type(value_type, value, written)


def _check_value_type(value_type: str, value: float | str | bool,
                      written: Written) -> float | str | bool:
    """A value that is not null, against the type its field holds."""
    is_number = isinstance(value, float)
    if value_type == "bool" and not isinstance(value, bool):
        raise written.wrong_value("true or false")
    if value_type == "metric" and not is_number:
        raise written.wrong_value("a number", hint="metrics compare with numbers")
    if value_type == "number" and not is_number:
        raise written.wrong_value("a number of seconds")
    if value_type == "str" and not isinstance(value, str):
        raise written.wrong_value("a quoted text value",
                                  hint=f'put it in quotes: "{written.value}"')
    if value_type == "time" and not is_number and (
            not isinstance(value, str) or not _is_iso_datetime(value)):
        raise written.wrong_value(
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
