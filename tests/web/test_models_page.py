"""The Models tab: a project's registered models, each version with its run, that run's value
where runs are compared, and the best model marked."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.web.data import SLUG
from tracker.models import MetricSummary
from tracker.selectors import winner as winner_selectors
from tracker.services import model_registry as registry_services
from tracker.services import runs as run_services
from web import presenters

pytestmark = pytest.mark.django_db


def page_of(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("web:models", args=[SLUG]))
    assert response.status_code == 200
    return response.content.decode()


def test_versions_show_their_run_its_value_and_the_best_model(demo):
    winner = winner_selectors.standing(project=demo.project).winner
    other = next(r for r in demo.runs.values() if r.id != winner.id and not r.baseline)
    model = registry_services.create_model(user=demo.mia, name="ticket-router",
                                           project=demo.project,
                                           description="Routes tickets to teams")
    registry_services.create_version(user=demo.mia, model=model,
                                     source=f"runs:/{other.id.hex}/model", run=other)
    best = registry_services.create_version(user=demo.mia, model=model,
                                            source=f"runs:/{winner.id.hex}/model", run=winner)
    registry_services.transition_stage(version=best, stage="production")
    registry_services.set_alias(model=model, alias="champion", version=2)

    html = page_of(demo.victor)  # viewers see it too
    card = html.partition('id="model-')[2]
    assert "ticket-router" in html and "Routes tickets to teams" in card
    rows = [row.partition("</tr>")[0] for row in card.split("<tr")[2:]]  # after the header
    assert [row.split('class="num">')[1].split("<")[0] for row in rows] == ["2", "1"]
    newest, oldest = rows
    assert "Production" in newest and "@champion" in newest and "best model" in newest
    assert winner.name in newest and "models:/ticket-router/2" in newest
    assert other.name in oldest and "best model" not in oldest
    value = MetricSummary.objects.get(run=other, key="f1", split="validation").best_value
    assert f'<td class="num">{presenters.number(value)}</td>' in oldest
    assert "validation · f1" in html


def test_a_project_without_models_says_how_to_register_one(demo):
    html = page_of(demo.olivia)
    assert "No registered models in this project yet." in html
    assert "registered_model_name=" in html


def test_a_version_whose_run_was_deleted_says_so_instead_of_linking_nowhere(demo):
    run = next(r for r in demo.runs.values() if not r.baseline)
    model = registry_services.create_model(user=demo.mia, name="router", project=demo.project)
    registry_services.create_version(user=demo.mia, model=model, source="runs:/x/model", run=run)
    run_services.delete_run(run=run)
    row = page_of(demo.olivia).partition('<td class="num">1</td>')[2].partition("</tr>")[0]
    assert "(run deleted)" in row and run.name in row
    assert reverse("web:run", args=[run.id]) not in row

