"""The trash in the web UI: runs and projects moved there from their pages, restored from
the Trash page by owners; the settings page shows owners the audit log."""

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from tests.web.data import SLUG
from tracker.models import Project, Run


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_url_names_are_pinned():
    assert reverse("web:trash") == "/trash/"
    assert reverse("web:trash-restore") == "/trash/restore/"
    assert reverse("web:settings-delete-project", args=["p1"]) == "/p/p1/settings/delete/"
    run_id = "6f1c2a52-6c7e-4c1c-9d59-8f2b6f9f3a10"
    assert reverse("web:run-delete", args=[run_id]) == f"/runs/{run_id}/delete/"
    assert reverse("web:experiment-delete", args=[7]) == "/experiments/7/delete/"


def test_a_member_trashes_a_run_and_an_owner_restores_it(demo):
    run = demo.runs["bert-long-spike"]
    member, owner = client_for(demo.mia), client_for(demo.olivia)
    assert "Move to the trash" in member.get(reverse("web:run", args=[run.id])).content.decode()

    moved = member.post(reverse("web:run-delete", args=[run.id]), REMOTE_ADDR="192.0.2.9",
                        follow=True)

    assert "moved to the trash" in moved.content.decode()
    assert member.get(reverse("web:run", args=[run.id])).status_code == 404
    assert "The trash is empty." in member.get(reverse("web:trash")).content.decode()
    trash = owner.get(reverse("web:trash")).content.decode()
    assert f'aria-label="Restore run {run.name}"' in trash
    refused = member.post(reverse("web:trash-restore"), {"kind": "run", "key": str(run.id)})
    assert refused.status_code == 404

    restored = owner.post(reverse("web:trash-restore"), {"kind": "run", "key": str(run.id)},
                          follow=True)

    assert f"Run {run.name} restored." in restored.content.decode()
    assert Run.objects.get(pk=run.pk).deleted_at is None
    log = owner.get(reverse("web:settings", args=[SLUG])).content.decode()
    assert f"deleted a run: run {run.name} ({run.id})" in log
    assert "<td>mia</td>" in log and "192.0.2.9" in log


def test_a_member_trashes_an_experiment_with_its_runs_and_an_owner_restores_them(demo):
    experiment = demo.runs["bert-long-spike"].experiment
    in_it = set(experiment.runs.values_list("pk", flat=True))
    member, owner = client_for(demo.mia), client_for(demo.olivia)
    dashboard = member.get(reverse("web:dashboard", args=[SLUG])).content.decode()
    assert f'aria-label="Move experiment {experiment.name} to the trash"' in dashboard

    member.post(reverse("web:experiment-delete", args=[experiment.id]))

    assert not Run.objects.live().filter(pk__in=in_it).exists()
    trash = owner.get(reverse("web:trash")).content.decode()
    assert f'aria-label="Restore experiment {experiment.name}"' in trash
    assert "Restore run" not in trash  # its runs come back with it
    owner.post(reverse("web:trash-restore"), {"kind": "experiment", "key": str(experiment.id)})
    assert Run.objects.live().filter(pk__in=in_it).count() == len(in_it)


def test_a_viewer_sees_no_delete_button_and_cannot_delete(demo):
    run = demo.runs["bert-long-spike"]
    viewer = client_for(demo.victor)

    assert "Move to the trash" not in viewer.get(reverse("web:run", args=[run.id])).content.decode()
    assert viewer.post(reverse("web:run-delete", args=[run.id])).status_code == 403
    assert viewer.post(reverse("web:experiment-delete", args=[run.experiment_id])
                       ).status_code == 403
    assert "Move experiment" not in viewer.get(reverse("web:dashboard", args=[SLUG])
                                               ).content.decode()
    assert Run.objects.get(pk=run.pk).deleted_at is None


def test_only_owners_trash_a_project_and_see_the_audit_log(demo):
    member, owner = client_for(demo.mia), client_for(demo.olivia)
    settings_page = member.get(reverse("web:settings", args=[SLUG])).content.decode()
    assert "Audit log" not in settings_page
    assert "Move the project to the trash" not in settings_page
    assert member.post(reverse("web:settings-delete-project", args=[SLUG])).status_code == 403

    moved = owner.post(reverse("web:settings-delete-project", args=[SLUG]), follow=True)

    assert "moved to the trash" in moved.content.decode()
    assert 'aria-label="Restore project' in moved.content.decode()
    assert member.get(reverse("web:dashboard", args=[SLUG])).status_code == 404
    assert owner.get(reverse("web:dashboard", args=[SLUG])).status_code == 404
    assert owner.get(reverse("web:projects")).context["cards"] == []

    owner.post(reverse("web:trash-restore"), {"kind": "project", "key": SLUG})

    assert Project.objects.get(slug=SLUG).deleted_at is None
    assert member.get(reverse("web:dashboard", args=[SLUG])).status_code == 200
    assert len(owner.get(reverse("web:projects")).context["cards"]) == 1


def test_restoring_something_not_in_your_trash_is_a_404(demo):
    owner = client_for(demo.olivia)
    for kind, key in (("project", SLUG), ("run", "not-a-uuid"), ("experiment", "x"),
                      ("spoon", "1")):
        assert owner.post(reverse("web:trash-restore"), {"kind": kind, "key": key}
                          ).status_code == 404, kind


def test_an_owner_trashes_and_restores_a_project_in_the_browser(page, live_server, demo, login,
                                                                shoot):
    login("olivia")
    page.goto(f"{live_server.url}/p/{SLUG}/settings/")
    page.get_by_role("button", name="Move the project to the trash").click()

    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    expect(page.get_by_text("moved to the trash")).to_be_visible()
    shoot(page, "trash-page")
    page.get_by_role("button", name="Restore project").click()
    expect(page.get_by_text("restored.")).to_be_visible()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()

    page.goto(f"{live_server.url}/p/{SLUG}/settings/")
    log = page.locator("#audit-log")
    expect(log.get_by_text("restored the project: project " + SLUG)).to_be_visible()
    expect(log.get_by_text("deleted the project: project " + SLUG)).to_be_visible()
    log.scroll_into_view_if_needed()
    shoot(page, "settings-audit-log")
    page.goto(f"{live_server.url}/p/{SLUG}/")
    expect(page.get_by_role("button", name="Move experiment")).not_to_have_count(0)
    shoot(page, "dashboard-experiments")
