"""Rendering: each report rendered once, under a lease, and given up on after too many tries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reports import rendering
from reports.delivery import deliver_report
from reports.models import ImmutableReport, Report, ReportStatus
from reports.rendering import render_report
from reports.workflow import send_now

pytestmark = pytest.mark.django_db


def test_a_report_is_rendered_once(rendered_report, met_sentence):
    report = rendered_report()
    assert report.status == ReportStatus.RENDERED
    assert (report.verdict, report.get_verdict_display()) == ("met", "Target met")
    assert report.verdict_sentence == met_sentence
    assert report.pdf.read(5) == b"%PDF-"
    assert report.snapshot["target"]["sentence"] == (
        "Target: F1 score of at least 85 out of 100 on the test set, agreed by Dana (Head of "
        "Support) on 2 November 2026.")
    assert set(report.figures) == {"progress", "runs", "slices", "experiments"}
    rendered_at = report.rendered_at
    assert render_report(report_id=report.pk).state == "already"
    report.refresh_from_db()
    assert (report.rendered_at, report.render_attempts) == (rendered_at, 1)


def test_two_workers_do_not_render_the_same_report_at_once(checkin, no_charts):
    report = send_now(project=checkin.project)
    Report.objects.filter(pk=report.pk).update(
        lease_until=timezone.now() + timedelta(seconds=100))
    busy = render_report(report_id=report.pk)
    assert busy.state == "busy"
    assert 99 < busy.retry_in <= 101


def test_a_sent_report_never_changes(rendered_report):
    report = rendered_report()
    deliver_report(report_id=report.pk)
    report.refresh_from_db()
    report.html = "<p>better news</p>"
    with pytest.raises(ImmutableReport, match="has been sent; its html cannot change"):
        report.save()


def test_giving_up_after_too_many_failed_renders(checkin, monkeypatch, settings):
    settings.REPORT_MAX_RENDER_ATTEMPTS = 2
    report = send_now(project=checkin.project)

    def broken(**kwargs):
        raise RuntimeError("the template is broken")
    monkeypatch.setattr(rendering, "assemble", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            render_report(report_id=report.pk)
        Report.objects.filter(pk=report.pk).update(lease_until=None)
    assert render_report(report_id=report.pk).state == "failed"
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE
    assert set(report.deliveries.values_list("status", "last_error")) == {(
        "failed", "the report could not be rendered after 2 attempts: RuntimeError: the "
                  "template is broken")}
