"""When check-ins are due: weekly, every N days, monthly; across time zones and DST."""

from datetime import UTC, date, datetime, time

import pytest

from reports import schedule
from reports.schedule import Cadence, first_due, next_due_after, previous_due_before, tick


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(day: int, at: str, tz: str) -> Cadence:
    return Cadence(kind="weekly", weekday=day, local_time=time.fromisoformat(at), time_zone=tz)


def daily(at: str, tz: str) -> Cadence:
    return Cadence(kind="every_n_days", every_n_days=1, starts_on=date(2026, 1, 1),
                   local_time=time.fromisoformat(at), time_zone=tz)


# --- pure due logic --------------------------------------------------------------------------

def test_weekly_check_in_is_at_the_local_time_in_its_time_zone():
    monday_9_paris = weekly(0, "09:00", "Europe/Paris")
    # Sunday 1 February 2026, noon UTC: next is Monday 2 February 09:00 CET = 08:00 UTC.
    assert next_due_after(monday_9_paris, utc(2026, 2, 1, 12)) == utc(2026, 2, 2, 8)
    # Exactly at the slot, the next one is a week later.
    assert next_due_after(monday_9_paris, utc(2026, 2, 2, 8)) == utc(2026, 2, 9, 8)


def test_weekly_check_in_keeps_its_local_time_when_the_clocks_change():
    monday_9_new_york = weekly(0, "09:00", "America/New_York")
    before = next_due_after(monday_9_new_york, utc(2026, 3, 1))
    after = next_due_after(monday_9_new_york, before)
    assert before == utc(2026, 3, 2, 14)  # 09:00 EST
    assert after == utc(2026, 3, 9, 13)  # 09:00 EDT: summer time began on 8 March


def test_a_day_far_east_can_be_the_day_before_in_utc():
    monday_8_auckland = weekly(0, "08:00", "Pacific/Auckland")
    # Monday 08:00 in Auckland (NZDT, UTC+13) is Sunday 19:00 UTC.
    assert next_due_after(monday_8_auckland, utc(2026, 2, 1, 12)) == utc(2026, 2, 1, 19)


def test_a_time_skipped_by_spring_forward_is_sent_as_much_later():
    at_2_30_paris = daily("02:30", "Europe/Paris")
    # 29 March 2026: clocks jump from 02:00 to 03:00 in Paris; 02:30 never happens and the
    # check-in goes at 03:30 summer time (01:30 UTC), one hour after the day before.
    assert next_due_after(at_2_30_paris, utc(2026, 3, 28, 2)) == utc(2026, 3, 29, 1, 30)
    assert next_due_after(at_2_30_paris, utc(2026, 3, 27, 2)) == utc(2026, 3, 28, 1, 30)
    assert next_due_after(at_2_30_paris, utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 30, 0, 30)


def test_a_time_that_happens_twice_at_fall_back_is_sent_once_at_the_first():
    at_2_30_paris = daily("02:30", "Europe/Paris")
    # 25 October 2026: clocks go back from 03:00 to 02:00; 02:30 happens twice.
    first = next_due_after(at_2_30_paris, utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 summer time
    assert next_due_after(at_2_30_paris, first) == utc(2026, 10, 26, 1, 30)  # next day, CET


def test_monthly_on_the_31st_goes_on_the_last_day_of_shorter_months():
    on_31st = Cadence(kind="monthly", day_of_month=31, local_time=time(8), time_zone="UTC")
    assert next_due_after(on_31st, utc(2026, 2, 1)) == utc(2026, 2, 28, 8)
    assert next_due_after(on_31st, utc(2026, 2, 28, 8)) == utc(2026, 3, 31, 8)
    assert next_due_after(on_31st, utc(2026, 4, 1)) == utc(2026, 4, 30, 8)
    assert next_due_after(on_31st, utc(2028, 2, 1)) == utc(2028, 2, 29, 8)  # leap year


def test_every_n_days_counts_from_its_start_date():
    fortnightly = Cadence(kind="every_n_days", every_n_days=14, starts_on=date(2026, 1, 5),
                          local_time=time(17, 30), time_zone="Europe/London")
    assert next_due_after(fortnightly, utc(2025, 12, 1)) == utc(2026, 1, 5, 17, 30)
    assert next_due_after(fortnightly, utc(2026, 1, 5, 17, 30)) == utc(2026, 1, 19, 17, 30)
    # Across British Summer Time (starts 29 March 2026) 17:30 local is 16:30 UTC.
    assert next_due_after(fortnightly, utc(2026, 3, 20)) == utc(2026, 3, 30, 16, 30)
    assert previous_due_before(fortnightly, utc(2026, 1, 19, 17, 30)) == utc(2026, 1, 5, 17, 30)


def test_missed_slots_collapse_into_one_check_in():
    monday_9_paris = weekly(0, "09:00", "Europe/Paris")
    missed = utc(2026, 2, 2, 8)  # the scheduler was down from then…
    back = utc(2026, 2, 25, 10)  # …until a Wednesday three weeks later
    step = tick(monday_9_paris, missed, back)
    assert step.due
    assert step.next_due_at == utc(2026, 3, 2, 8)  # the next Monday, not a missed one
    assert not tick(monday_9_paris, step.next_due_at, back).due


def test_a_schedule_saved_just_after_its_time_still_fires_today():
    daily_14_05 = daily("14:05", "UTC")
    assert first_due(daily_14_05, utc(2026, 5, 4, 14, 6)) == utc(2026, 5, 4, 14, 5)
    assert first_due(daily_14_05, utc(2026, 5, 4, 14, 11)) == utc(2026, 5, 5, 14, 5)


@pytest.mark.parametrize(("cadence", "problem"), [
    (Cadence(kind="yearly", local_time=time(9), time_zone="UTC"),
     "cadence must be one of weekly, every_n_days, monthly, not 'yearly'"),
    (Cadence(kind="weekly", local_time=time(9), time_zone="Mars/Olympus"),
     "unknown time zone 'Mars/Olympus'; use an IANA name such as Europe/Paris or UTC"),
    (Cadence(kind="weekly", local_time=time(9), time_zone="UTC"),
     "a weekly check-in needs a weekday (0 = Monday … 6 = Sunday)"),
    (Cadence(kind="every_n_days", every_n_days=0, starts_on=date(2026, 1, 1),
             local_time=time(9), time_zone="UTC"),
     "every_n_days must be a whole number from 1 to 366"),
    (Cadence(kind="monthly", day_of_month=32, local_time=time(9), time_zone="UTC"),
     "a monthly check-in needs day_of_month from 1 to 31 (29-31 mean the last day in shorter "
     "months)"),
])
def test_unusable_schedules_say_why(cadence, problem):
    assert schedule.problem(cadence) == problem


@pytest.mark.parametrize(("cadence", "words"), [
    (weekly(0, "09:00", "Europe/Paris"), "Every Monday at 09:00 (Europe/Paris)"),
    (daily("07:15", "UTC"), "Every day from 2026-01-01 at 07:15 (UTC)"),
    (Cadence(kind="monthly", day_of_month=31, local_time=time(8), time_zone="Asia/Tokyo"),
     "Monthly on the 31st (or the last day of shorter months) at 08:00 (Asia/Tokyo)"),
    (Cadence(kind="monthly", day_of_month=2, local_time=time(8), time_zone="UTC"),
     "Monthly on the 2nd at 08:00 (UTC)"),
])
def test_schedules_in_words(cadence, words):
    assert schedule.describe(cadence) == words
