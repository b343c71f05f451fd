"""Days in words: the year only when it is not this year's, windows as a manager says them."""

from datetime import date, datetime

import pytest

from tracker.days import day_words, last_day, span_words, window_words

TODAY = date(2026, 12, 7)  # a Monday


def test_day_words_says_the_year_only_when_it_is_not_this_one():
    assert day_words(date(2026, 11, 3), today=TODAY) == "3 November"
    assert day_words(date(2025, 11, 3), today=TODAY) == "3 November 2025"


@pytest.mark.parametrize(("first", "last", "expected"), [
    (date(2026, 11, 2), date(2026, 11, 16), "from 2 to 16 November"),
    (date(2026, 10, 28), date(2026, 11, 3), "from 28 October to 3 November"),
    (date(2025, 11, 2), date(2025, 11, 16), "from 2 to 16 November 2025"),
    (date(2025, 12, 28), date(2026, 1, 3), "from 28 December 2025 to 3 January"),
    (date(2026, 11, 30), date(2026, 11, 30), "on 30 November"),
])
def test_span_words(first, last, expected):
    assert span_words(first, last, today=TODAY) == expected


def test_a_datetime_end_is_exclusive_a_date_end_is_the_last_day():
    assert last_day(datetime(2026, 11, 30), datetime(2026, 12, 7)) == date(2026, 12, 6)
    assert last_day(datetime(2026, 11, 30), datetime(2026, 12, 6, 18)) == date(2026, 12, 6)
    assert last_day(date(2026, 11, 30), date(2026, 12, 6)) == date(2026, 12, 6)


@pytest.mark.parametrize(("start", "end", "expected"), [
    (datetime(2026, 11, 30), datetime(2026, 12, 7), "last week"),  # Monday to Sunday
    (date(2026, 11, 24), date(2026, 11, 30), "last week"),  # last day 7 days ago: still
    (date(2026, 11, 23), date(2026, 11, 29), "from 23 to 29 November"),  # 8 days ago
    (date(2026, 12, 1), date(2026, 12, 7), "from 1 to 7 December"),  # ends today
    (date(2026, 11, 30), date(2026, 12, 3), "from 30 November to 3 December"),  # 4 days
    (datetime(2026, 12, 6), datetime(2026, 12, 7), "yesterday"),
    (date(2026, 12, 5), date(2026, 12, 5), "on 5 December"),
])
def test_window_words(start, end, expected):
    assert window_words(start, end, today=TODAY) == expected
