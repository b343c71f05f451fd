"""Numbers as a manager reads them: every form is pinned literally."""

import math

import pytest

from tracker.numbers import format_fixed, format_number, format_percent


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.875, "0.875"),
        (0.87, "0.87"),
        (3.2, "3.2"),
        (12.0, "12"),
        (3.14159, "3.142"),
        (1234567.0, "1,234,567"),
        (1234.5678, "1,234.568"),
        (0.00042, "0.00042"),
        (0.123456, "0.123"),
        (0.99951, "1"),
        (1.0005, "1.001"),  # half up, as written
        (1e-12, "0.000000000001"),
        (-3.25, "-3.25"),
        (-0.00042, "-0.00042"),
        (-1500.0, "-1,500"),
        (1e300, "1" + ",000" * 100),
        (0, "0"),
        (-0.0, "0"),
        (math.nan, "NaN"),
        (math.inf, "infinity"),
        (-math.inf, "minus infinity"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.87, "87"),
        (0.875, "87.5"),
        (0.8754, "87.5"),
        (0.86996, "87"),  # never "87.0"
        (0.29, "29"),  # 28.999999999999996 in floating point
        (0.8725, "87.3"),  # half up, as written, though 0.8725 * 100 is 87.24999...
        (0.0005, "0.1"),  # 0.05 points, half up
        (1.0, "100"),
        (0.0, "0"),
        (0.0004, "0.04"),  # tiny, but not zero
        (-0.05, "-5"),
        (12.345, "1,234.5"),
    ],
)
def test_format_percent(share, text):
    assert format_percent(share) == text


def test_format_percent_never_crashes_on_extreme_floats():
    assert format_percent(1.7976931348623157e308) == "infinity"
    assert format_percent(5e-324).startswith("0.000")
    assert format_percent(math.nan) == "NaN"


@pytest.mark.parametrize(("value", "expected"), [
    (71.0, "71.0"), (5, "5.0"), (3.35, "3.4"), (6.549, "6.5"), (1240.45, "1,240.5"),
    (-2.25, "-2.3"), (-0.04, "0.0"), (math.nan, "NaN"),
])
def test_format_fixed_keeps_its_decimals(value, expected):
    assert format_fixed(value) == expected
