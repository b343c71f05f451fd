"""A project's check-in: when its report is sent, and to whom. Every role reads it; owners
change it."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ProjectView
from reports import checkins, schedule, selectors
from reports.models import CheckIn
from tracker.errors import InvalidInput
from tracker.models import Role

TAGS = ["Check-ins"]


class CheckInInput(serializers.Serializer):
    """A check-in's schedule and recipients. Fields left out keep their value; a new
    check-in starts weekly at 09:00 UTC, enabled, with no recipients."""

    cadence = serializers.ChoiceField(choices=schedule.CADENCES, required=False)
    weekday = serializers.CharField(required=False, allow_null=True,
                                    help_text="weekly: monday … sunday (or 0-6)")
    every_n_days = serializers.IntegerField(required=False, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True,
                                      help_text="every N days: the first day counted from")
    day_of_month = serializers.IntegerField(required=False, allow_null=True,
                                            help_text="monthly: 1-31 (29-31: last day of "
                                                      "shorter months)")
    local_time = serializers.CharField(required=False,
                                       help_text="HH:MM, 24-hour clock, local time")
    time_zone = serializers.CharField(required=False, help_text="IANA name, e.g. Europe/Paris")
    recipients = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="email addresses or members' usernames")
    enabled = serializers.BooleanField(required=False)


class CheckInOutput(serializers.Serializer):
    """A check-in's schedule, in words too, its recipients and when it is next due."""

    cadence = serializers.ChoiceField(choices=schedule.CADENCES)
    weekday = serializers.CharField(allow_null=True)
    every_n_days = serializers.IntegerField(allow_null=True)
    starts_on = serializers.DateField(allow_null=True)
    day_of_month = serializers.IntegerField(allow_null=True)
    local_time = serializers.CharField()
    time_zone = serializers.CharField()
    recipients = serializers.ListField(child=serializers.CharField())
    recipient_problems = serializers.ListField(
        child=serializers.CharField(), help_text="recipients no email can reach, and why")
    enabled = serializers.BooleanField()
    schedule = serializers.CharField(help_text="e.g. Every Monday at 09:00 (Europe/Paris)")
    next_due_at = serializers.DateTimeField(allow_null=True)
    last_sent_at = serializers.DateTimeField(allow_null=True)


class CheckInBody(serializers.Serializer):
    checkin = CheckInOutput(allow_null=True)


def checkin_data(checkin: CheckIn) -> dict:
    _, problems = selectors.resolve_recipients(checkin=checkin)
    weekly = checkin.cadence == schedule.WEEKLY
    every = checkin.cadence == schedule.EVERY_N_DAYS
    return {
        "cadence": checkin.cadence,
        "weekday": (schedule.WEEKDAYS[checkin.weekday].lower()
                    if weekly and checkin.weekday is not None else None),
        "every_n_days": checkin.every_n_days if every else None,
        "starts_on": checkin.starts_on.isoformat() if every and checkin.starts_on else None,
        "day_of_month": (checkin.day_of_month if checkin.cadence == schedule.MONTHLY
                         else None),
        "local_time": checkin.local_time.strftime("%H:%M"),
        "time_zone": checkin.time_zone,
        "recipients": checkin.recipients,
        "recipient_problems": problems,
        "enabled": checkin.enabled,
        "schedule": checkin.describe(),
        "next_due_at": (checkin.next_due_at.isoformat()
                        if checkin.enabled and checkin.next_due_at else None),
        "last_sent_at": checkin.last_sent_at.isoformat() if checkin.last_sent_at else None,
    }


class CheckInDetailView(ProjectView):
    """The project's check-in, or `{"checkin": null}` before one is set."""

    @extend_schema(tags=TAGS, summary="Read the check-in", responses=CheckInBody)
    def get(self, request, slug):
        checkin = CheckIn.objects.filter(project=self.project).first()
        return Response({"checkin": checkin_data(checkin) if checkin else None})


class CheckInSetView(ProjectView):
    """Set the check-in's schedule and recipients (owners); fields left out keep their
    value, so PATCH does the same. The body is the check-in, or `{"checkin": {...}}` as
    the read answers."""

    write_role = Role.OWNER

    @extend_schema(tags=TAGS, summary="Set the check-in", request=CheckInInput,
                   responses=CheckInBody)
    def put(self, request, slug):
        data = self.unwrapped("checkin")
        if not isinstance(data, dict):
            raise InvalidInput("send the check-in as a JSON object", field=None)
        checkin = checkins.save_checkin(project=self.project, data=dict(data))
        return Response({"checkin": checkin_data(checkin)})

    @extend_schema(exclude=True)  # PUT under another name: the docs list the operation once
    def patch(self, request, slug):
        return self.put(request, slug)
