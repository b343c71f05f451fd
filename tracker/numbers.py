"""Numbers as charts, JSON columns and the wire can hold them."""

import math


def finite_or_none(value: float | None) -> float | None:
    """NaN and ±infinity as None: a gap in a chart, a null in JSON (and in PostgreSQL's jsonb)."""
    return value if value is not None and math.isfinite(value) else None
