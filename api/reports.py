"""A project's report archive: every check-in's report, its HTML and PDF, and "send now".

Every role reads the archive; owners and members may send a report now. Outsiders get
404s, as everywhere.
"""

from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api.base import FileAnswerMixin, ProjectView
from api.schema import PAGE_PARAMETERS
from reports import workflow
from reports.models import DeliveryStatus, Report, ReportKind, ReportStatus, Verdict
from tracker.errors import Conflict, InvalidInput, NotFound
from tracker.storage import open_stored

TAGS = ["Reports"]


class PeriodOutput(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    text = serializers.CharField(allow_null=True, help_text="e.g. 3 – 10 November 2026")


class VerdictOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Verdict.values)
    label = serializers.CharField(help_text="e.g. Target met")
    sentence = serializers.CharField()


class DeliveryOutput(serializers.Serializer):
    """The report's email to one recipient."""

    email = serializers.EmailField()
    status = serializers.ChoiceField(choices=DeliveryStatus.values)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)


class ReportOutput(serializers.Serializer):
    """One rendered check-in: its period, verdict, status and links to its HTML and PDF."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ReportKind.values)
    status = serializers.ChoiceField(choices=ReportStatus.values)
    period = PeriodOutput()
    verdict = VerdictOutput(allow_null=True)
    pages = serializers.IntegerField(allow_null=True, help_text="of the PDF, once rendered")
    created_at = serializers.DateTimeField()
    rendered_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    render_error = serializers.CharField(allow_null=True)
    html_url = serializers.CharField(allow_null=True, help_text="once rendered")
    pdf_url = serializers.CharField(allow_null=True, help_text="once rendered")
    deliveries = DeliveryOutput(many=True, required=False,
                                help_text="one report's answer only, not the archive's")


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


def _rendered(project, report_id) -> Report:
    report = _report(project, report_id)
    if report.status == ReportStatus.PENDING or not report.pdf:
        raise Conflict(f"report {report.pk} is still being rendered; try again in a minute",
                       field="report")
    return report


class ReportListView(ProjectView):
    """The project's reports, newest first, a page at a time: pass `next` as `before` to
    read the following page."""

    class Output(serializers.Serializer):
        results = ReportOutput(many=True)
        next = serializers.IntegerField(allow_null=True, help_text="`before` for the next "
                                        "page, or null")

    @extend_schema(tags=TAGS, summary="List the reports", responses=Output,
                   parameters=PAGE_PARAMETERS)
    def get(self, request, slug):
        limit, before = self.page_query()
        reports = (Report.objects.filter(project=self.project).select_related("project")
                   .order_by("-id"))
        if before is not None:
            reports = reports.filter(id__lt=before)
        page = list(reports[: limit + 1])
        more = len(page) > limit
        page = page[:limit]
        return Response({"results": [report_data(r, deliveries=False) for r in page],
                         "next": page[-1].pk if more else None})


class ReportSendView(ProjectView):
    """Send a report now (owners and members): to the check-in's recipients, as a check-in
    (the next one covers the time since), or only to the addresses in `to`, as a preview.
    It is rendered and sent in the background: 202, with the report still pending."""

    class Input(serializers.Serializer):
        to = serializers.ListField(child=serializers.EmailField(), required=False,
                                   help_text="only these addresses (a preview); default: the "
                                             "check-in's recipients")

    @extend_schema(tags=TAGS, summary="Send a report now", request=Input,
                   responses={202: ReportOutput})
    def post(self, request, slug):
        data = request.data if isinstance(request.data, dict) else {}
        to = data.get("to")
        if to is not None and not (isinstance(to, list) and all(isinstance(a, str) for a in to)):
            raise InvalidInput("to must be a list of email addresses", field="to")
        report = workflow.send_now(project=self.project, user=request.user, to=to or None)
        report.refresh_from_db()
        return Response(report_data(report), status=status.HTTP_202_ACCEPTED)


class ReportDetailView(ProjectView):
    """One report: its period, verdict, status and the delivery to each recipient."""

    @extend_schema(tags=TAGS, summary="Read a report", responses=ReportOutput)
    def get(self, request, slug, report_id):
        return Response(report_data(_report(self.project, report_id)))


class ReportHtmlView(FileAnswerMixin, ProjectView):
    """The report as one self-contained HTML page, charts inlined. 409 while it is still
    being rendered."""

    @extend_schema(tags=TAGS, summary="Read a report as HTML",
                   responses={(200, "text/html"): OpenApiTypes.STR})
    def get(self, request, slug, report_id):
        report = _rendered(self.project, report_id)
        response = HttpResponse(report.html, content_type="text/html; charset=utf-8")
        # The page is self-contained: no script, nothing fetched.
        response["Content-Security-Policy"] = ("default-src 'none'; img-src data:; "
                                               "style-src 'unsafe-inline'")
        return response


class ReportPdfView(FileAnswerMixin, ProjectView):
    """The report's PDF, as an attachment. 409 while it is still being rendered."""

    @extend_schema(tags=TAGS, summary="Download a report's PDF",
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, slug, report_id):
        report = _rendered(self.project, report_id)
        day = report.period_end.date().isoformat()
        return FileResponse(open_stored(report.pdf, what="report's PDF"), as_attachment=True,
                            filename=f"{report.project.slug}-check-in-{day}.pdf",
                            content_type="application/pdf")
