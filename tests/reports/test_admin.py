"""The admin: check-ins are edited through the service; reports are read-only."""

import pytest

from reports import webhooks
from reports.assembly import current_verdict
from reports.models import CheckIn, Report
from reports.rendering import render_report
from reports.workflow import send_now

pytestmark = pytest.mark.django_db


def test_a_check_in_made_in_the_admin_is_scheduled(admin_client, project):
    answer = admin_client.post("/admin/reports/checkin/add/", {
        "project": project.pk, "cadence": "monthly", "day_of_month": "31",
        "local_time": "08:00", "time_zone": "Asia/Tokyo",
        "recipients": '["cfo@example.com"]', "enabled": "on"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    checkin = CheckIn.objects.get(project=project)
    assert checkin.describe() == (
        "Monthly on the 31st (or the last day of shorter months) at 08:00 (Asia/Tokyo)")
    assert checkin.next_due_at is not None


def test_the_admin_explains_a_bad_schedule(admin_client, project):
    answer = admin_client.post("/admin/reports/checkin/add/", {
        "project": project.pk, "cadence": "weekly", "local_time": "08:00",
        "time_zone": "Asia/Tokyo", "recipients": '["nobody"]', "enabled": "on"})
    assert answer.status_code == 200
    assert "a weekly check-in needs a weekday" in answer.content.decode()
    assert not CheckIn.objects.exists()


def test_reports_are_read_only(admin_client, checkin, no_charts):
    report = send_now(project=checkin.project)
    render_report(report_id=report.pk)
    assert admin_client.get("/admin/reports/report/").status_code == 200
    page = admin_client.get(f"/admin/reports/report/{report.pk}/change/")
    assert page.status_code == 200
    assert "dana@example.com" in page.content.decode()
    admin_client.post(f"/admin/reports/report/{report.pk}/change/", {"verdict": "at_risk"})
    assert Report.objects.get(pk=report.pk).verdict == "met"


def test_the_web_ui_can_ask_for_the_verdict_now(checkin):
    verdict = current_verdict(project=checkin.project)
    assert (verdict.kind, verdict.label) == ("met", "Target met")


def test_webhooks_are_read_in_the_admin_without_their_secret(admin_client, project, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    webhook, secret = webhooks.create_webhook(project=project, url="https://93.184.215.14/in",
                                              kind="generic", events=["report"])
    page = admin_client.get(f"/admin/reports/webhook/{webhook.pk}/change/")
    assert page.status_code == 200
    assert "93.184.215.14" in page.content.decode()
    assert secret not in page.content.decode()
    assert admin_client.get("/admin/reports/webhook/add/").status_code == 403
    assert admin_client.get("/admin/reports/webhookdelivery/").status_code == 200
