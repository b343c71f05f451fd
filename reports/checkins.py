"""Check-ins: a project's schedule and recipients, read from a form or the API and saved.

Every value is checked here, with an error naming the field it belongs to, so the web form,
the API and the admin say the same thing about the same mistake.
"""

import contextlib
from datetime import date, datetime
from datetime import time as time_of_day

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from reports import schedule
from reports.models import CheckIn
from tracker.errors import InvalidInput
from tracker.models import Membership, Project

MAX_RECIPIENTS = 100


def _parse_weekday(value) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit() and 0 <= int(text) <= 6:
            return int(text)
        for i, name in enumerate(schedule.WEEKDAYS):
            if len(text) >= 3 and name.lower().startswith(text):
                return i
    raise InvalidInput(f"weekday must be a day name (monday … sunday) or 0-6, not {value!r}",
                       field="weekday")


def _parse_int(value, *, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number", field=field)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must be a whole number, not {value!r}",
                           field=field) from None
    if number != float(value):
        raise InvalidInput(f"{field} must be a whole number, not {value!r}", field=field)
    return number


def _parse_time(value) -> time_of_day:
    if isinstance(value, time_of_day):
        return value
    try:
        return time_of_day.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"local_time must be HH:MM (24-hour clock), not {value!r}",
                           field="local_time") from None


def _parse_date(value, *, field: str) -> date | None:
    if value is None or value == "" or isinstance(value, date):
        return value or None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a date as YYYY-MM-DD, not {value!r}",
                           field=field) from None


def clean_recipients(*, project: Project, recipients) -> list[str]:
    """Email addresses, or usernames of project members who have an address."""
    if not isinstance(recipients, list):
        raise InvalidInput("recipients must be a list of email addresses or usernames",
                           field="recipients")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(f"at most {MAX_RECIPIENTS} recipients", field="recipients")
    members = dict(Membership.objects.filter(project=project)
                   .values_list("user__username", "user__email"))
    cleaned: list[str] = []
    for i, entry in enumerate(recipients):
        where = f"recipients[{i}]"
        if not isinstance(entry, str) or not entry.strip():
            raise InvalidInput(f"{where} must be an email address or a member's username",
                               field=where)
        entry = entry.strip()
        if "@" in entry:
            try:
                validate_email(entry)
            except ValidationError:
                raise InvalidInput(f"{where}: {entry!r} is not a valid email address",
                                   field=where) from None
        elif entry not in members:
            raise InvalidInput(f"{where}: {entry!r} is neither an email address nor a member "
                               "of this project", field=where)
        elif not members[entry]:
            raise InvalidInput(f"{where}: {entry} has no email address; add one to their "
                               "account or list the address itself", field=where)
        if entry.lower() not in {c.lower() for c in cleaned}:
            cleaned.append(entry)
    return cleaned


SCHEDULE_FIELDS = ("cadence", "weekday", "every_n_days", "starts_on", "day_of_month",
                   "local_time", "time_zone")
CHECKIN_FIELDS = (*SCHEDULE_FIELDS, "recipients", "enabled")


@transaction.atomic
def save_checkin(*, project: Project, data: dict, now: datetime | None = None) -> CheckIn:
    """Create or change a project's check-in; fields left out keep their value.

    Changing when it happens (or switching it on) recomputes the next check-in; a slot a
    few minutes ago still counts (see schedule.first_due).
    """
    now = now or timezone.now()
    unknown = set(data) - set(CHECKIN_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}",
                           field=sorted(unknown)[0])
    checkin = CheckIn.objects.select_for_update().filter(project=project).first()
    created = checkin is None
    if created:
        checkin = CheckIn(project=project)
    before = {name: getattr(checkin, name) for name in (*SCHEDULE_FIELDS, "enabled")}
    if "cadence" in data:
        checkin.cadence = data["cadence"]
    if "weekday" in data:
        checkin.weekday = _parse_weekday(data["weekday"])
    if "every_n_days" in data:
        checkin.every_n_days = _parse_int(data["every_n_days"], field="every_n_days")
    if "starts_on" in data:
        checkin.starts_on = _parse_date(data["starts_on"], field="starts_on")
    if "day_of_month" in data:
        checkin.day_of_month = _parse_int(data["day_of_month"], field="day_of_month")
    if "local_time" in data:
        checkin.local_time = _parse_time(data["local_time"])
    if "time_zone" in data:
        checkin.time_zone = str(data["time_zone"] or "").strip()
    if "recipients" in data:
        checkin.recipients = clean_recipients(project=project, recipients=data["recipients"])
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise InvalidInput("enabled must be true or false", field="enabled")
        checkin.enabled = data["enabled"]
    if checkin.cadence == schedule.EVERY_N_DAYS and checkin.starts_on is None:
        # An unknown time zone is reported just below, with the field it belongs to.
        with contextlib.suppress(ValueError):
            checkin.starts_on = now.astimezone(schedule.zone(checkin.time_zone)).date()
    problem = schedule.problem(checkin.as_cadence())
    if problem:
        field = "time_zone" if "time zone" in problem else (
            "cadence" if problem.startswith("cadence") else
            next((f for f in SCHEDULE_FIELDS if f in problem), "cadence"))
        raise InvalidInput(problem, field=field)
    after = {name: getattr(checkin, name) for name in (*SCHEDULE_FIELDS, "enabled")}
    if created or after != before or checkin.next_due_at is None:
        checkin.next_due_at = schedule.first_due(checkin.as_cadence(), now)
    checkin.save()
    return checkin


def schedule_checkin_now(*, checkin: CheckIn, now: datetime | None = None) -> CheckIn:
    """Make a check-in due at once (the admin's "send the check-in now")."""
    checkin.next_due_at = now or timezone.now()
    checkin.save(update_fields=["next_due_at", "updated_at"])
    return checkin
