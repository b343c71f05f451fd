"""Days in words, pure: "3 November", "from 2 to 16 November", "last week".

The year is said only when it is not the year of `today`, as people write dates in a letter
(a sentence about this November needs no "2026").
"""

from datetime import date, datetime, timedelta


def as_day(moment: date | datetime) -> date:
    """The day of a date or datetime."""
    return moment.date() if isinstance(moment, datetime) else moment


def last_day(start: date | datetime, end: date | datetime) -> date:
    """The last day a window covers. A datetime end is exclusive (a week from Monday 00:00
    to the next Monday 00:00 ends on Sunday); a date end is the last day itself."""
    if isinstance(end, datetime) and end > start:
        return (end - timedelta(microseconds=1)).date()
    return as_day(end)


def day_words(day: date, *, today: date) -> str:
    """"3 November", or "3 November 2025" when the day is not in this year."""
    return f"{day.day} {day:%B}" if day.year == today.year else f"{day.day} {day:%B %Y}"


def span_words(first: date, last: date, *, today: date) -> str:
    """"from 2 to 16 November", "from 28 October to 3 November", "on 3 November";
    the years as in `day_words` (both ends, when the span crosses a year)."""
    if first == last:
        return f"on {day_words(first, today=today)}"
    if first.year != last.year:
        return f"from {day_words(first, today=today)} to {day_words(last, today=today)}"
    head = f"{first.day}" if first.month == last.month else f"{first.day} {first:%B}"
    return f"from {head} to {day_words(last, today=today)}"


def window_words(start: date | datetime, end: date | datetime, *, today: date) -> str:
    """When a live window was, as a manager would say it: "last week" for a seven-day window
    whose last day is within the seven days before today; "yesterday" for yesterday alone;
    otherwise its days ("from 24 to 30 November", "on 30 November")."""
    first, last = as_day(start), last_day(start, end)
    if (last - first).days == 6 and 0 < (today - last).days <= 7:
        return "last week"
    if first == last == today - timedelta(days=1):
        return "yesterday"
    return span_words(first, last, today=today)
