"""The check-in and report archive API: who may read and change what."""

import pytest
from django.urls import reverse

from reports.checkins import save_checkin
from reports.delivery import deliver_report
from reports.models import Report
from reports.rendering import render_report
from reports.workflow import send_now
from tracker.services import projects as project_services

pytestmark = pytest.mark.django_db

WEEKLY = {"cadence": "weekly", "weekday": "monday", "local_time": "09:00",
          "time_zone": "Europe/Paris", "recipients": ["cfo@example.com", "viewer-user"]}


@pytest.fixture
def rendered(with_runs, roles, no_charts):
    save_checkin(project=with_runs, data=WEEKLY)
    report = send_now(project=with_runs)
    render_report(report_id=report.pk)
    deliver_report(report_id=report.pk)
    return Report.objects.get(pk=report.pk)


def url(name: str, *args) -> str:
    return reverse(name, args=["news-topics", *args])


def test_url_names_are_pinned():
    assert url("project-checkin") == "/api/v1/projects/news-topics/checkin/"
    assert url("report-list") == "/api/v1/projects/news-topics/reports/"
    assert url("report-detail", 7) == "/api/v1/projects/news-topics/reports/7/"
    assert url("report-html", 7) == "/api/v1/projects/news-topics/reports/7/html/"
    assert url("report-pdf", 7) == "/api/v1/projects/news-topics/reports/7/pdf/"


def test_owners_set_the_schedule(roles):
    answer = roles["owner"].put(url("project-checkin"), WEEKLY, format="json")
    assert answer.status_code == 200, answer.json()
    checkin = answer.json()["checkin"]
    assert {k: checkin[k] for k in ("cadence", "weekday", "local_time", "time_zone",
                                    "recipients", "enabled", "schedule")} == {
        "cadence": "weekly", "weekday": "monday", "local_time": "09:00",
        "time_zone": "Europe/Paris", "recipients": ["cfo@example.com", "viewer-user"],
        "enabled": True, "schedule": "Every Monday at 09:00 (Europe/Paris)"}
    assert checkin["next_due_at"] is not None
    answer = roles["owner"].patch(url("project-checkin"), {"enabled": False}, format="json")
    assert answer.json()["checkin"]["next_due_at"] is None
    assert answer.json()["checkin"]["weekday"] == "monday"


@pytest.mark.parametrize(("role", "status"), [("member", 403), ("viewer", 403),
                                              ("outsider", 404), ("anonymous", 401)])
def test_only_owners_change_the_schedule(roles, role, status):
    assert roles[role].put(url("project-checkin"), WEEKLY, format="json").status_code == status


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("member", 200), ("viewer", 200),
                                              ("outsider", 404), ("anonymous", 401)])
def test_members_and_viewers_read_the_schedule(roles, role, status):
    roles["owner"].put(url("project-checkin"), WEEKLY, format="json")
    assert roles[role].get(url("project-checkin")).status_code == status


def test_no_schedule_yet(roles):
    assert roles["viewer"].get(url("project-checkin")).json() == {"checkin": None}


def test_a_bad_schedule_is_a_400_naming_the_field(roles):
    answer = roles["owner"].put(url("project-checkin"), {**WEEKLY, "time_zone": "Paris"},
                                format="json")
    assert (answer.status_code, answer.json()) == (400, {
        "error": "unknown time zone 'Paris'; use an IANA name such as Europe/Paris or UTC",
        "field": "time_zone"})


@pytest.mark.parametrize(("role", "status"), [("owner", 200), ("member", 200), ("viewer", 200),
                                              ("outsider", 404), ("anonymous", 401)])
def test_the_archive_is_for_members_and_viewers(rendered, roles, role, status):
    for name, args in (("report-list", ()), ("report-detail", (rendered.pk,)),
                       ("report-html", (rendered.pk,)), ("report-pdf", (rendered.pk,))):
        assert roles[role].get(url(name, *args)).status_code == status, name


def test_the_archive_lists_reports_with_their_verdict(rendered, roles, met_sentence):
    [item] = roles["viewer"].get(url("report-list")).json()["results"]
    assert item["id"] == rendered.pk
    assert item["verdict"] == {"kind": "met", "label": "Target met", "sentence": met_sentence}
    assert item["pdf_url"] == f"/api/v1/projects/news-topics/reports/{rendered.pk}/pdf/"
    detail = roles["viewer"].get(url("report-detail", rendered.pk)).json()
    assert [(d["email"], d["status"], d["attempts"]) for d in detail["deliveries"]] == [
        ("cfo@example.com", "sent", 1), ("viewer-user@example.com", "sent", 1)]


def test_the_html_and_the_pdf(rendered, roles):
    html = roles["viewer"].get(url("report-html", rendered.pk), HTTP_ACCEPT="text/html")
    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in html["Content-Security-Policy"]
    assert "Target met" in html.content.decode()
    pdf = roles["viewer"].get(url("report-pdf", rendered.pk), HTTP_ACCEPT="application/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith('attachment; filename="news-topics-check-in-')
    assert b"".join(pdf.streaming_content)[:5] == b"%PDF-"


def test_a_report_still_rendering_is_a_409(with_runs, roles):
    report = send_now(project=with_runs, to=["me@example.com"])
    answer = roles["viewer"].get(url("report-pdf", report.pk))
    assert (answer.status_code, answer.json()["error"]) == (
        409, f"report {report.pk} is still being rendered; try again in a minute")


def test_another_projects_report_is_not_found(rendered, roles, owner, client_for):
    project_services.create_project(user=owner, slug="other")
    answer = roles["owner"].get(f"/api/v1/projects/other/reports/{rendered.pk}/pdf")
    assert answer.status_code == 404


@pytest.mark.parametrize(("role", "status"), [("owner", 202), ("member", 202), ("viewer", 403),
                                              ("outsider", 404)])
def test_send_now(with_runs, roles, role, status, queued):
    save_checkin(project=with_runs, data=WEEKLY)
    answer = roles[role].post(url("report-list"), {}, format="json")
    assert answer.status_code == status
    if status == 202:
        body = answer.json()
        assert (body["kind"], body["status"]) == ("manual", "pending")
        assert [d["email"] for d in body["deliveries"]] == ["cfo@example.com",
                                                            "viewer-user@example.com"]


def test_send_now_to_chosen_addresses(with_runs, roles):
    answer = roles["member"].post(url("report-list"), {"to": ["me@example.com"]}, format="json")
    assert answer.status_code == 202
    assert answer.json()["kind"] == "preview"
    bad = roles["member"].post(url("report-list"), {"to": ["me@"]}, format="json")
    assert bad.json() == {"error": "to[0]: 'me@' is not a valid email address",
                          "field": "to[0]"}
