"""When check-ins are due: pure date arithmetic across time zones and DST (no ORM).

A check-in happens at a local time of day in an IANA time zone, on a cadence:

- weekly on a weekday ("every Monday at 09:00 Europe/Paris");
- every N days counted from a start date ("every 14 days from 2026-01-05 at 17:30");
- monthly on a day of the month ("on the 31st at 08:00"; in shorter months, the last day).

Daylight-saving rules, decided once:

- A local time that does not exist that day (clocks jump from 02:00 to 03:00 and the
  check-in is at 02:30) is sent as much later as the clocks jumped: 03:30 local time.
- A local time that happens twice (clocks go back from 03:00 to 02:00 and the check-in is
  at 02:30) is sent once, at the first 02:30.

Missed slots collapse: the next slot is always computed after *now*, so a scheduler that
was down for three weeks sends one report when it comes back, not three.
"""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKLY = "weekly"
EVERY_N_DAYS = "every_n_days"
MONTHLY = "monthly"
CADENCES = (WEEKLY, EVERY_N_DAYS, MONTHLY)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# A schedule saved a few minutes after its time of day still fires today: whoever sets
# "every day at 14:05" at 14:06 expects today's check-in, not tomorrow's.
GRACE_ON_SAVE = timedelta(minutes=5)

MAX_EVERY_N_DAYS = 366


@dataclass(frozen=True)
class Cadence:
    """A check-in schedule, as plain values."""

    kind: str
    local_time: time
    time_zone: str
    weekday: int | None = None  # 0 = Monday … 6 = Sunday (weekly)
    every_n_days: int | None = None  # every_n_days
    starts_on: date | None = None  # the first day of an every-N-days schedule
    day_of_month: int | None = None  # 1-31 (monthly)


def problem(cadence: Cadence) -> str | None:
    """Why a schedule cannot be used, as a sentence for the API; None when it is fine."""
    if cadence.kind not in CADENCES:
        return f"cadence must be one of {', '.join(CADENCES)}, not {cadence.kind!r}"
    try:
        zone(cadence.time_zone)
    except ValueError as exc:
        return str(exc)
    if cadence.kind == WEEKLY and (cadence.weekday is None or not 0 <= cadence.weekday <= 6):
        return "a weekly check-in needs a weekday (0 = Monday … 6 = Sunday)"
    if cadence.kind == EVERY_N_DAYS:
        n = cadence.every_n_days
        if n is None or not 1 <= n <= MAX_EVERY_N_DAYS:
            return f"every_n_days must be a whole number from 1 to {MAX_EVERY_N_DAYS}"
        if cadence.starts_on is None:
            return "an every-N-days check-in needs starts_on, the first day it counts from"
    if cadence.kind == MONTHLY and (cadence.day_of_month is None
                                    or not 1 <= cadence.day_of_month <= 31):
        return "a monthly check-in needs day_of_month from 1 to 31 (29-31 mean the last day " \
               "in shorter months)"
    return None


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError with a readable message when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Paris or UTC"
        ) from None


def falls_on(cadence: Cadence, day: date) -> bool:
    """Whether the check-in happens on this local calendar day."""
    if cadence.kind == WEEKLY:
        return day.weekday() == cadence.weekday
    if cadence.kind == EVERY_N_DAYS:
        offset = (day - cadence.starts_on).days
        return offset >= 0 and offset % cadence.every_n_days == 0
    if cadence.kind == MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(cadence.day_of_month, last)
    raise ValueError(f"unknown cadence {cadence.kind!r}")


def slot_on(cadence: Cadence, day: date) -> datetime:
    """The instant (UTC) of the check-in on a local day, with the DST rules above.

    fold=0 gives both rules at once: a time in a spring-forward gap is read with the
    offset before the jump (02:30 standard time = 03:30 summer time), and a time that
    happens twice is read as its first occurrence.
    """
    local = datetime.combine(day, cadence.local_time, tzinfo=zone(cadence.time_zone))
    return local.replace(fold=0).astimezone(UTC)


def _search_span(cadence: Cadence) -> int:
    if cadence.kind == EVERY_N_DAYS:
        return cadence.every_n_days + 2
    return 33 if cadence.kind == MONTHLY else 9


def next_due_after(cadence: Cadence, after: datetime) -> datetime:
    """The first check-in strictly after `after` (an aware datetime), in UTC."""
    tz = zone(cadence.time_zone)
    day = after.astimezone(tz).date() - timedelta(days=1)
    if cadence.kind == EVERY_N_DAYS and day < cadence.starts_on:
        day = cadence.starts_on - timedelta(days=1)
    for _ in range(_search_span(cadence) + 2):
        if falls_on(cadence, day):
            slot = slot_on(cadence, day)
            if slot > after:
                return slot
        day += timedelta(days=1)
    raise AssertionError(f"no check-in found after {after} for {cadence}")  # unreachable


def previous_due_before(cadence: Cadence, before: datetime) -> datetime:
    """The last check-in strictly before `before`, in UTC (the start of a first period).

    For an every-N-days schedule whose start date has not come yet, N days before `before`.
    """
    tz = zone(cadence.time_zone)
    day = before.astimezone(tz).date() + timedelta(days=1)
    for _ in range(_search_span(cadence) + 2):
        if cadence.kind == EVERY_N_DAYS and day < cadence.starts_on:
            break
        if falls_on(cadence, day):
            slot = slot_on(cadence, day)
            if slot < before:
                return slot
        day -= timedelta(days=1)
    return before - timedelta(days=cadence.every_n_days or 7)


def first_due(cadence: Cadence, saved_at: datetime) -> datetime:
    """The first check-in of a schedule saved (created or changed) at `saved_at`.

    A slot up to GRACE_ON_SAVE before the save still counts, so "today at 14:05" saved at
    14:06 fires now rather than next time.
    """
    return next_due_after(cadence, saved_at - GRACE_ON_SAVE)


@dataclass(frozen=True)
class Tick:
    """What the dispatcher does with one check-in at one moment."""

    due: bool
    next_due_at: datetime


def tick(cadence: Cadence, next_due_at: datetime, now: datetime) -> Tick:
    """Whether a check-in is due at `now`, and when the one after it is.

    Every slot missed while the scheduler was down is covered by the one report sent now:
    the next slot is the first one after `now`, not after the slot that was missed.
    """
    if next_due_at > now:
        return Tick(False, next_due_at)
    return Tick(True, next_due_after(cadence, now))


def describe(cadence: Cadence) -> str:
    """The schedule in words: "Every Monday at 09:00 (Europe/Paris)"."""
    at = f"at {cadence.local_time:%H:%M} ({cadence.time_zone})"
    if cadence.kind == WEEKLY:
        return f"Every {WEEKDAYS[cadence.weekday]} {at}"
    if cadence.kind == EVERY_N_DAYS:
        every = "Every day" if cadence.every_n_days == 1 else f"Every {cadence.every_n_days} days"
        return f"{every} from {cadence.starts_on.isoformat()} {at}"
    day = cadence.day_of_month
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    last = " (or the last day of shorter months)" if day > 28 else ""
    return f"Monthly on the {day}{suffix}{last} {at}"
