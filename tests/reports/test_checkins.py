"""Check-ins: schedules and recipients checked field by field, with words that say what to fix."""

import pytest
import time_machine
from django.contrib.auth import get_user_model

from reports import selectors
from reports.checkins import save_checkin
from tracker.errors import InvalidInput
from tracker.services import projects as project_services

pytestmark = pytest.mark.django_db


def test_recipients_are_addresses_or_members_with_an_address(with_runs, make_user):
    get_user_model().objects.filter(pk=make_user("nomail").pk).update(email="")
    project_services.set_member(project=with_runs, username="nomail", role="viewer")
    make_user("stranger")
    cases = {
        "nomail": "recipients[0]: nomail has no email address; add one to their account or "
                  "list the address itself",
        "stranger": "recipients[0]: 'stranger' is neither an email address nor a member of "
                    "this project",
        "dana@": "recipients[0]: 'dana@' is not a valid email address",
    }
    for entry, message in cases.items():
        with pytest.raises(InvalidInput) as error:
            save_checkin(project=with_runs, data={
                "weekday": 0, "recipients": [entry]})
        assert (error.value.message, error.value.field) == (message, "recipients[0]")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"weekday": 0, "time_zone": "Paris"}, "time_zone",
     "unknown time zone 'Paris'; use an IANA name such as Europe/Paris or UTC"),
    ({"cadence": "weekly"}, "weekday",
     "a weekly check-in needs a weekday (0 = Monday … 6 = Sunday)"),
    ({"weekday": "someday"}, "weekday",
     "weekday must be a day name (monday … sunday) or 0-6, not 'someday'"),
    ({"weekday": 0, "local_time": "9 am"}, "local_time",
     "local_time must be HH:MM (24-hour clock), not '9 am'"),
    ({"cadence": "monthly", "day_of_month": 0}, "day_of_month",
     "a monthly check-in needs day_of_month from 1 to 31 (29-31 mean the last day in shorter "
     "months)"),
    ({"weekday": 0, "colour": "blue"}, "colour", "unknown fields: colour"),
])
def test_a_bad_schedule_says_what_to_fix(project, data, field, message):
    with pytest.raises(InvalidInput) as error:
        save_checkin(project=project, data=data)
    assert (error.value.field, error.value.message) == (field, message)


def test_every_n_days_counts_from_today_unless_told(project):
    with time_machine.travel("2026-05-04 10:00Z", tick=False):
        checkin = save_checkin(project=project, data={
            "cadence": "every_n_days", "every_n_days": 3, "local_time": "08:00"})
    assert checkin.starts_on.isoformat() == "2026-05-04"
    assert checkin.next_due_at.isoformat() == "2026-05-07T08:00:00+00:00"


def test_recipients_are_read_when_sending(checkin):
    get_user_model().objects.filter(username="dana").update(email="dana.reyes@example.com")
    emails, problems = selectors.resolve_recipients(checkin=checkin)
    assert emails == ["dana.reyes@example.com", "cfo@example.com"]
    project_services.remove_member(project=checkin.project, username="dana")
    emails, problems = selectors.resolve_recipients(checkin=checkin)
    assert (emails, problems) == (["cfo@example.com"],
                                  ["dana is no longer a member of the project"])
