"""A check-in's period: where it starts, and the time zone its days are told in."""

from datetime import date, datetime, timedelta

from django.conf import settings

from reports import schedule, selectors
from reports.models import CheckIn
from tracker.models import Project

DEFAULT_PERIOD = timedelta(days=7)  # the first period when there is no schedule to go by


def start_of_period(*, project: Project, checkin: CheckIn | None, end: datetime,
                    due: datetime | None = None) -> datetime:
    """Where a check-in period starts: the end of the previous check-in's period.

    The first period goes back one slot of the schedule (or a week without one).
    """
    previous = selectors.previous_checkin(project=project, before=end)
    if previous is not None:
        return previous.period_end
    if checkin is not None:
        try:
            return schedule.previous_due_before(checkin.as_cadence(), due or end)
        except ValueError:
            pass
    return end - DEFAULT_PERIOD


def report_zone(checkin: CheckIn | None) -> str:
    """The time zone a report tells its days in: the check-in's, else the server's."""
    if checkin is not None:
        try:
            schedule.zone(checkin.time_zone)
            return checkin.time_zone
        except ValueError:
            pass
    return settings.TIME_ZONE or "UTC"


def local_day(moment: datetime, zone_name: str) -> date:
    """The calendar day `moment` falls on in the time zone `zone_name`."""
    return moment.astimezone(schedule.zone(zone_name)).date()
