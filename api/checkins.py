"""A project's check-in: when its report is sent, and to whom. Every role reads it; owners
change it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from api.base import ProjectView
from reports import schedule, selectors, services
from reports.models import CheckIn
from tracker.errors import InvalidInput
from tracker.models import Role


class CheckInSerializer(serializers.Serializer):
    cadence = serializers.ChoiceField(choices=schedule.CADENCES)
    weekday = serializers.CharField(required=False, allow_null=True,
                                    help_text="weekly: monday … sunday (or 0-6)")
    every_n_days = serializers.IntegerField(required=False, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True,
                                      help_text="every N days: the first day counted from")
    day_of_month = serializers.IntegerField(required=False, allow_null=True,
                                            help_text="monthly: 1-31 (29-31: last day of "
                                                      "shorter months)")
    local_time = serializers.CharField(help_text="HH:MM, 24-hour clock, local time")
    time_zone = serializers.CharField(help_text="IANA name, e.g. Europe/Paris")
    recipients = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="email addresses or members' usernames")
    enabled = serializers.BooleanField(required=False)


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


class CheckInView(ProjectView):
    write_role = Role.OWNER

    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="The check-in schedule and recipients ({'checkin': null} if none)")
    def get(self, request, slug):
        checkin = CheckIn.objects.filter(project=self.project).first()
        return Response({"checkin": checkin_data(checkin) if checkin else None})

    @extend_schema(request=CheckInSerializer, responses=OpenApiTypes.OBJECT,
                   summary="Set the check-in schedule and recipients (owners); fields left "
                           "out keep their value")
    def put(self, request, slug):
        data = request.data
        if isinstance(data, dict) and isinstance(data.get("checkin"), dict):
            data = data["checkin"]  # {"checkin": {...}} as GET answers, or the bare object
        if not isinstance(data, dict):
            raise InvalidInput("send the check-in as a JSON object", field=None)
        checkin = services.save_checkin(project=self.project, data=dict(data))
        return Response({"checkin": checkin_data(checkin)})

    patch = put
