"""Rendering a report: its HTML, charts and PDF, stored once.

`render_report` takes a lease on the report (a conditional UPDATE), renders HTML, the
charts and the PDF, and stores them with status "rendered". A rendered report is never
rendered again, so retries of its emails never re-render it.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from reports.assembly import assemble
from reports.models import (
    FINAL_DELIVERY_STATUSES,
    Delivery,
    DeliveryStatus,
    Report,
    ReportStatus,
    lease_length,
)
from reports.pdf import ChartUnavailable, figure_to_svg, html_to_pdf, svg_data_uri
from tracker.replica import replica_reads

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderOutcome:
    """What became of one render_report call."""

    # "rendered"; "already" (rendered before); "busy" (another worker holds the lease);
    # "missing"; "failed" (gave up after too many attempts)
    state: str
    retry_in: float | None = None  # for "busy": when the other worker's lease runs out
    seconds: float | None = None


def draw_charts(figures: dict) -> dict:
    """Each figure as {"image": data URI} or, when it cannot be drawn, {"error": sentence}."""
    drawn = {}
    for name, figure in figures.items():
        try:
            drawn[name] = {"image": svg_data_uri(figure_to_svg(figure))}
        except ChartUnavailable as exc:
            logger.error("chart %s could not be drawn: %s", name, exc)
            drawn[name] = {"error": f"This chart could not be drawn: {exc}."}
    return drawn


def render_html(*, snapshot: dict, drawn: dict) -> str:
    """The report's HTML from its snapshot and its drawn charts (templates/reports)."""
    return render_to_string("reports/report.html", {"s": snapshot, "charts": drawn})


def render_report(*, report_id: int) -> RenderOutcome:
    """Render a pending report to HTML and PDF and store both, once.

    The lease (a conditional UPDATE) keeps two workers from rendering the same report at
    the same time; one killed mid-render leaves an expiring lease for the next to take.
    """
    now = timezone.now()
    taken = (Report.objects.filter(pk=report_id, status=ReportStatus.PENDING)
             .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
             .update(lease_until=now + lease_length(), render_attempts=F("render_attempts") + 1))
    if not taken:
        report = Report.objects.filter(pk=report_id).first()
        if report is None:
            return RenderOutcome("missing")
        if report.status != ReportStatus.PENDING:
            return RenderOutcome("already")
        return RenderOutcome("busy", retry_in=max(
            1.0, (report.lease_until - now).total_seconds() + 1))
    report = Report.objects.select_related("project").get(pk=report_id)
    if report.render_attempts > settings.REPORT_MAX_RENDER_ATTEMPTS:
        _give_up(report)
        return RenderOutcome("failed")
    started = time.perf_counter()
    try:
        with replica_reads():  # a report's figures may trail the primary by a moment
            assembled = assemble(project=report.project, period_start=report.period_start,
                                 period_end=report.period_end, time_zone=report.time_zone,
                                 report_id=report.pk)
        html = render_html(snapshot=assembled.snapshot, drawn=draw_charts(assembled.figures))
        pdf = html_to_pdf(html)
        filename = (f"{report.project.slug}-check-in-{report.period_end:%Y-%m-%d}-"
                    f"{report.pk}.pdf")
        report.pdf.save(filename, ContentFile(pdf.content), save=False)  # the storage may fail
    except Exception as exc:
        # The lease stays: the dispatcher tries again once it runs out, up to
        # REPORT_MAX_RENDER_ATTEMPTS times.
        Report.objects.filter(pk=report.pk).update(
            render_error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    seconds = time.perf_counter() - started
    snapshot = {**assembled.snapshot, "pages": pdf.pages}
    stored = Report.objects.filter(pk=report.pk, status=ReportStatus.PENDING).update(
        status=ReportStatus.RENDERED, verdict=snapshot["verdict"]["kind"],
        verdict_sentence=snapshot["verdict"]["sentence"], snapshot=snapshot,
        figures=assembled.figures, html=html, pdf=report.pdf.name,
        rendered_at=timezone.now(), render_seconds=round(seconds, 3), render_error="",
        lease_until=timezone.now() + lease_length(),
    )
    if not stored:  # our lease ran out and another worker finished first: keep theirs
        report.pdf.storage.delete(report.pdf.name)
        return RenderOutcome("already")
    return RenderOutcome("rendered", seconds=seconds)


def _give_up(report: Report) -> None:
    """After too many failed renders: close the report and say why on every delivery."""
    reason = (f"the report could not be rendered after {settings.REPORT_MAX_RENDER_ATTEMPTS} "
              f"attempts: {report.render_error or 'the worker stopped each time'}")
    logger.error("report %s: %s", report.pk, reason)
    with transaction.atomic():
        Delivery.objects.filter(report=report).exclude(
            status__in=FINAL_DELIVERY_STATUSES).update(status=DeliveryStatus.FAILED,
                                                       last_error=reason[:2000])
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.DONE, lease_until=None,
                                                   render_error=reason[:2000])
