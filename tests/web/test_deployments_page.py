"""The dashboard says what is live in production since when, and lists the deployments."""

from datetime import UTC, datetime

from django.test import Client
from playwright.sync_api import expect

from tests.web.conftest import LAPTOP
from tracker.selectors import winner as winner_selectors
from tracker.services import deployments as deployment_services
from tracker.services import model_registry as registry_services


def _deploy_the_winner(demo):
    """The baseline was live in production from 2 October; the winner, registered as
    topic-classifier version 1, replaced it on 3 November; a shadow run since 10 November."""
    standing = winner_selectors.standing(project=demo.project)
    runs = {"baseline": standing.baseline, "winner": standing.winner}
    model = registry_services.create_model(user=demo.olivia, name="topic-classifier",
                                           project=demo.project)
    registry_services.create_version(user=demo.olivia, model=model, source="models:/m-1",
                                     run=runs["winner"])
    deploy = deployment_services.start_deployment
    deploy(project=demo.project, user=demo.olivia, environment="production",
           run_id=str(runs["baseline"].id), started_at=datetime(2026, 10, 2, 9, tzinfo=UTC),
           note="the rules we had")
    deploy(project=demo.project, user=demo.olivia, environment="production",
           model={"name": "topic-classifier", "version": 1},
           started_at=datetime(2026, 11, 3, 9, tzinfo=UTC), note="agreed at the review")
    deploy(project=demo.project, user=demo.olivia, environment="shadow",
           run_id=str(runs["baseline"].id), started_at=datetime(2026, 11, 10, 9, tzinfo=UTC))
    return runs


def test_a_project_never_deployed_shows_no_live_line(demo):
    viewer = Client()
    viewer.force_login(demo.victor)
    page = viewer.get(f"/p/{demo.slug}/").content.decode()
    assert 'id="live-line"' not in page and 'id="deployments-title"' not in page


def test_the_dashboard_says_what_is_live_since_when(page, live_server, demo, login, shoot):
    runs = _deploy_the_winner(demo)
    login("victor")
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/p/{demo.slug}/")

    expect(page.locator("#live-line")).to_have_text(
        f"Live In production since 3 November 2026: topic-classifier version 1 "
        f"(run {runs['winner'].name}). See how it does in production", use_inner_text=True)
    rows = page.locator("table.deployments tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(i).inner_text().split("\t")[:4] for i in range(3)] == [
        ["shadow", f"run {runs['baseline'].name}", "10 Nov 2026", "live"],
        ["production", f"topic-classifier version 1 (run {runs['winner'].name})",
         "3 Nov 2026", "live"],
        ["production", f"run {runs['baseline'].name}", "2 Oct 2026", "3 Nov 2026"]]
    page.locator("#deployments-title").scroll_into_view_if_needed()
    shoot(page, "dashboard-deployments")
