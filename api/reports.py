"""Check-ins and the report archive of a project.

Every role reads (the schedule, the archive, a report's HTML and PDF); owners change the
schedule; owners and members may "send now". Outsiders get 404s, as everywhere.
"""

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import ProjectView
from reports import checkins, schedule, selectors, workflow
from reports.models import CheckIn, Report, ReportStatus
from tracker.errors import Conflict, InvalidInput, NotFound
from tracker.models import Role
from tracker.validation import to_int

MAX_PAGE = 200


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


class SendNowInput(serializers.Serializer):
    to = serializers.ListField(child=serializers.EmailField(), required=False,
                               help_text="only these addresses (a preview); default: the "
                                         "check-in's recipients")


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


def report_data(report: Report, *, deliveries: bool = True) -> dict:
    snapshot = report.snapshot or {}
    slug = report.project.slug
    rendered = report.status != ReportStatus.PENDING and bool(report.pdf)
    data = {
        "id": report.pk,
        "kind": report.kind,
        "status": report.status,
        "period": {"start": report.period_start.isoformat(),
                   "end": report.period_end.isoformat(),
                   "text": (snapshot.get("period") or {}).get("text")},
        "verdict": ({"kind": report.verdict, "label": report.get_verdict_display(),
                     "sentence": report.verdict_sentence} if report.verdict else None),
        "pages": snapshot.get("pages"),
        "created_at": report.created_at.isoformat(),
        "rendered_at": report.rendered_at.isoformat() if report.rendered_at else None,
        "sent_at": report.sent_at.isoformat() if report.sent_at else None,
        "render_error": report.render_error or None,
        "html_url": reverse("report-html", args=[slug, report.pk]) if rendered else None,
        "pdf_url": reverse("report-pdf", args=[slug, report.pk]) if rendered else None,
    }
    if deliveries:
        data["deliveries"] = [
            {"email": d.email, "status": d.status, "attempts": d.attempts,
             "last_error": d.last_error or None,
             "sent_at": d.sent_at.isoformat() if d.sent_at else None}
            for d in report.deliveries.all()]
    return data


class FileView(ProjectView):
    """A view that answers with a file: any Accept header gets it (errors stay JSON)."""

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    def report(self, report_id: str) -> Report:
        return _report(self.project, report_id)


def _report(project, report_id) -> Report:
    try:
        pk = int(report_id)
    except (TypeError, ValueError):
        raise NotFound(f"no report {report_id!r}", field="report") from None
    report = (Report.objects.filter(project=project, pk=pk).select_related("project")
              .prefetch_related("deliveries").first())
    if report is None:
        raise NotFound(f"no report {report_id!r} in this project", field="report")
    return report


def _rendered(report: Report) -> Report:
    if report.status == ReportStatus.PENDING or not report.pdf:
        raise Conflict(f"report {report.pk} is still being rendered; try again in a minute",
                       field="report")
    return report


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
        checkin = checkins.save_checkin(project=self.project, data=dict(data))
        return Response({"checkin": checkin_data(checkin)})

    patch = put


class ReportListView(ProjectView):
    write_role = Role.MEMBER

    @extend_schema(parameters=[
        OpenApiParameter("limit", int, description=f"default 50, at most {MAX_PAGE}"),
        OpenApiParameter("before", int, description="the `next` of the previous page")],
        responses=OpenApiTypes.OBJECT, summary="The report archive, newest first")
    def get(self, request, slug):
        limit = min(to_int(request.query_params.get("limit") or 50, field="limit", minimum=1),
                    MAX_PAGE)
        reports = (Report.objects.filter(project=self.project).select_related("project")
                   .order_by("-id"))
        before = request.query_params.get("before")
        if before:
            reports = reports.filter(id__lt=to_int(before, field="before"))
        page = list(reports[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        return Response({"results": [report_data(r, deliveries=False) for r in page],
                         "next": page[-1].pk if more else None})

    @extend_schema(request=SendNowInput, responses={202: OpenApiTypes.OBJECT},
                   summary="Send a report now (owners and members): to the check-in's "
                           "recipients, or only to `to`")
    def post(self, request, slug):
        data = request.data if isinstance(request.data, dict) else {}
        to = data.get("to")
        if to is not None and not (isinstance(to, list) and all(isinstance(a, str) for a in to)):
            raise InvalidInput("to must be a list of email addresses", field="to")
        report = workflow.send_now(project=self.project, user=request.user, to=to or None)
        report.refresh_from_db()
        return Response(report_data(report), status=status.HTTP_202_ACCEPTED)


class ReportDetailView(ProjectView):
    @extend_schema(responses=OpenApiTypes.OBJECT,
                   summary="One report: period, verdict, status and each recipient's delivery")
    def get(self, request, slug, report_id):
        return Response(report_data(_report(self.project, report_id)))


class ReportHtmlView(FileView):
    @extend_schema(responses={(200, "text/html"): OpenApiTypes.STR},
                   summary="The report as HTML (charts inlined)")
    def get(self, request, slug, report_id):
        report = _rendered(self.report(report_id))
        response = HttpResponse(report.html, content_type="text/html; charset=utf-8")
        # The page is self-contained: no script, nothing fetched.
        response["Content-Security-Policy"] = ("default-src 'none'; img-src data:; "
                                               "style-src 'unsafe-inline'")
        return response


class ReportPdfView(FileView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY},
                   summary="Download the report's PDF")
    def get(self, request, slug, report_id):
        report = _rendered(self.report(report_id))
        day = report.period_end.date().isoformat()
        return FileResponse(report.pdf.open("rb"), as_attachment=True,
                            filename=f"{report.project.slug}-check-in-{day}.pdf",
                            content_type="application/pdf")

