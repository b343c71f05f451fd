"""Numbers as people read them, and as charts, JSON columns and the wire can hold them."""

import math
from decimal import ROUND_HALF_UP, Context, Decimal


def finite_or_none(value: float | None) -> float | None:
    """NaN and ±infinity as None: a gap in a chart, a null in JSON (and in PostgreSQL's jsonb)."""
    return value if value is not None and math.isfinite(value) else None


def format_number(value: float) -> str:
    """A number as a person writes it: "3.2", "1,234,567", "0.00042", "-3.25".

    Up to three decimals for numbers of 1 or more, three significant digits below 1 (so
    small numbers never collapse to "0"), trailing zeros stripped, thousands separated.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "infinity" if value > 0 else "minus infinity"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    decimals = 3 if magnitude >= 1 else 2 - math.floor(math.log10(magnitude))
    text = f"{_round_half_up(value, decimals):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_percent(share: float) -> str:
    """A share (0.87) as a count out of 100: "87", "87.5"; never "87.0".

    Whole numbers when the share is a multiple of 0.01, otherwise one decimal; a tiny
    non-zero share keeps its significant digits ("0.04") rather than reading "0".
    """
    if not math.isfinite(share):
        return format_number(share)
    points = share * 100
    if not math.isfinite(points):  # a share near the float limit overflows
        return format_number(points)
    rounded = _round_half_up(points, 1)
    if rounded == 0 and points != 0:
        return format_number(points)
    if rounded == rounded.to_integral_value():
        return f"{int(rounded):,}"
    return f"{rounded:,.1f}"


def _round_half_up(number: float, decimals: int) -> Decimal:
    # Round the number as it is written (repr), half up, the way people do: 0.8725 * 100 gives
    # 87.3, where binary floating point would say 87.2. The context keeps every digit of any
    # float (up to about 1.8e308).
    exact = Context(prec=800)
    return Decimal(repr(number)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP, exact)


def format_fixed(value: float, decimals: int = 1) -> str:
    """A number with exactly `decimals` decimals, half up, thousands separated: "71.0", "5.0",
    "1,240.5". For figures quoted with an interval, where "76" beside "3.4" would look odd."""
    if not math.isfinite(value):
        return format_number(value)
    text = f"{_round_half_up(value, decimals):,.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text
