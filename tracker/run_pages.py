"""Keyset paging of sorted runs: a page, and the cursor of the next one.

A cursor holds the sort values of the last row of a page and its id; the next page is
"rows after that one" in the same total order (tracker.run_search.order_runs). Unlike an
offset, it never repeats or skips a run when runs are added while a client pages.
"""

import base64
import binascii
import json
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import Q, QuerySet

from tracker import limits
from tracker.errors import InvalidInput
from tracker.models import Run
from tracker.run_search import OrderKeys, sort_columns, sort_keys

# A param's number in a cursor is one the database gave out: far within numeric's range.
_MAX_EXPONENT = 2000


def _encode_value(value) -> list:
    """A sort value as JSON can hold it, tagged with its type."""
    if value is None:
        return ["n"]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, timedelta):
        return ["d", value.total_seconds()]
    if isinstance(value, uuid.UUID):
        return ["s", str(value)]
    if isinstance(value, Decimal):  # a param's number on PostgreSQL, kept exact
        return ["m", str(value)]
    return ["v", value]


def _decode_value(item: list):
    kind = item[0]
    if kind == "n":
        return None
    if kind == "t":
        return datetime.fromisoformat(item[1])
    if kind == "d":
        return timedelta(seconds=item[1])
    if kind in ("s", "v"):
        return item[1]
    if kind == "m":
        number = Decimal(item[1])  # InvalidOperation (an ArithmeticError) for no number
        if not number.is_finite() or abs(number.adjusted()) > _MAX_EXPONENT:
            raise ValueError(item[1])
        return number
    raise ValueError(kind)


def _signature(keys: OrderKeys) -> str:
    """The sort keys as a cursor records them, so it is only used with the same order."""
    return json.dumps([[f.kind, f.name, f.split, descending] for f, descending in keys],
                      separators=(",", ":"))


def encode_cursor(row: Run, columns: int, keys: OrderKeys) -> str:
    """The cursor of the page after `row`: its `columns` sort values (as order_runs
    annotates them), its id and the sort keys, as URL-safe text."""
    values = [_encode_value(getattr(row, f"_order_{i}")) for i in range(columns)]
    payload = {"k": values, "id": str(row.id), "o": _signature(keys)}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: OrderKeys) -> tuple[list, uuid.UUID]:
    """The sort values and the id a cursor holds; InvalidInput for a cursor this server did
    not give out, or one given out for another order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
        values = [_decode_value(v) for v in payload["k"]]
        last_id = uuid.UUID(payload["id"])
        same_order = payload["o"] == _signature(keys)
    except (ValueError, KeyError, TypeError, IndexError, InvalidOperation, binascii.Error):
        raise InvalidInput("cursor is not one this server gave out; start from the first page",
                           field="cursor") from None
    if not same_order:
        raise InvalidInput("cursor belongs to another order_by; start from the first page",
                           field="cursor")
    return values, last_id


def _after(runs: QuerySet[Run], descending: list[bool], values: list,
           last_id: uuid.UUID) -> QuerySet[Run]:
    """Rows strictly after (values, last_id) in the order of `order_runs` (NULLs last);
    `descending` tells the direction of each sort column."""
    if len(values) != len(descending):
        raise InvalidInput("cursor does not match order_by; start from the first page",
                           field="cursor")
    condition = Q()
    equal_so_far = Q()
    for i, (down, value) in enumerate(zip(descending, values, strict=True)):
        alias = f"_order_{i}"
        if value is None:
            later = None  # nothing sorts after NULL except the next key's tie-break
            same = Q(**{f"{alias}__isnull": True})
        else:
            later = Q(**{f"{alias}__{'lt' if down else 'gt'}": value}) | Q(
                **{f"{alias}__isnull": True})
            same = Q(**{alias: value})
        if later is not None:
            condition |= equal_so_far & later
        equal_so_far &= same
    condition |= equal_so_far & Q(id__gt=last_id)
    return runs.filter(condition)


def page(runs: QuerySet[Run], *, order_by: str | OrderKeys | None, cursor: str | None,
         page_size: int | None) -> tuple[list[Run], str | None]:
    """One page of runs sorted by `order_runs` (with the same `order_by`), and the cursor of
    the next (None at the end)."""
    size = page_size or limits.DEFAULT_PAGE_SIZE
    if not 1 <= size <= limits.MAX_PAGE_SIZE:
        raise InvalidInput(f"page_size must be between 1 and {limits.MAX_PAGE_SIZE}",
                           field="page_size")
    keys = sort_keys(order_by)
    descending = [down for _, down in sort_columns(keys)]
    if cursor:
        values, last_id = decode_cursor(cursor, keys)
        runs = _after(runs, descending, values, last_id)
    rows = list(runs[:size + 1])
    next_cursor = (encode_cursor(rows[size - 1], len(descending), keys)
                   if len(rows) > size else None)
    return rows[:size], next_cursor
