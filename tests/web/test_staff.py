"""Staff users (is_staff) read every project, read-only, with a banner saying so, in the web
UI and the v1 API; they change nothing in a project they are no member of (v1, MLflow, web
UI) until they add themselves, with a role they choose, which the audit log records."""

import html

import pytest
from django.test import Client

from tests.factories import make_run
from tracker.models import AuditAction, AuditEntry, Membership

pytestmark = pytest.mark.django_db

BANNER = "Read-only: you see this project as staff."


@pytest.fixture
def staff(make_user):
    return make_user("sam", is_staff=True)


@pytest.fixture
def browser(staff):
    client = Client()
    client.force_login(staff)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_staff_see_every_project_read_only_with_a_banner(project, browser):
    projects = text(browser.get("/"))
    assert "News topics" in projects and "you are staff" in projects

    dashboard = browser.get("/p/news-topics/")
    settings_page = text(browser.get("/p/news-topics/settings/"))

    assert dashboard.status_code == 200
    assert BANNER in text(dashboard)
    assert BANNER in settings_page
    assert "Invite by email" not in settings_page and "Change the target" not in settings_page


def test_staff_change_nothing_in_the_web_ui(project, browser):
    refused = browser.post("/p/news-topics/settings/project/", {"name": "Renamed",
                                                                "description": ""})

    assert refused.status_code == 403
    assert ("You see News topics as staff, read-only: add yourself as an owner to change it."
            in text(refused))
    project.refresh_from_db()
    assert project.name == "News topics"


def test_staff_read_through_the_v1_api_and_write_nothing(project, staff, client_for):
    api = client_for(staff)

    listed = api.get("/api/v1/projects/").json()["results"]
    read = api.get("/api/v1/projects/news-topics/")
    renamed = api.patch("/api/v1/projects/news-topics/", {"name": "Renamed"}, format="json")
    run = api.post("/api/v1/projects/news-topics/runs/", {"experiment": "bert"}, format="json")

    assert [(p["slug"], p["role"]) for p in listed] == [("news-topics", "staff")]
    assert (read.status_code, read.json()["role"]) == (200, "staff")
    assert renamed.status_code == run.status_code == 403
    assert renamed.json() == {"error": "you see this project as staff, read-only; add yourself "
                              "as a member (in the web UI) to change it", "field": None}
    assert not project.runs.exists()


def test_staff_write_nothing_through_the_mlflow_api(project, owner, staff, client_for):
    experiment_id = str(make_run(project, owner, name="lr-1", experiment="tfidf").experiment_id)
    api = client_for(staff)

    created = api.post("/api/2.0/mlflow/runs/create", {"experiment_id": experiment_id},
                       format="json")

    assert created.status_code == 404
    assert created.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert project.runs.count() == 1


def test_staff_add_themselves_with_the_role_they_choose(project, staff, browser):
    joined = browser.post("/p/news-topics/join/", {"role": "member"}, follow=True)

    assert Membership.objects.get(project=project, user=staff).role == "member"
    assert "You joined News topics as a member." in text(joined)
    assert BANNER not in text(joined)
    entry = AuditEntry.objects.get(action=AuditAction.STAFF_JOIN)
    assert (entry.username, entry.subject) == ("sam", "sam as member")
    assert browser.post("/p/news-topics/join/", {"role": "owner"}).status_code == 403


def test_only_staff_may_add_themselves(project, make_user):
    oscar = Client()
    oscar.force_login(make_user("oscar"))

    assert oscar.post("/p/news-topics/join/", {"role": "owner"}).status_code == 404
    assert not Membership.objects.filter(project=project, user__username="oscar").exists()
