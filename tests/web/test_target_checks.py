"""The settings page refuses a bar outside its metric's range and a quality guardrail on the
test split, next to the field; the dashboard names a target metric no run logs; the run page
flags a logged value outside its range."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_run
from tests.web.data import SLUG
from tracker.models import Guardrail
from tracker.services import projects as project_services

pytestmark = pytest.mark.django_db

TARGET_POST = {"metric": "f1", "direction": "maximize", "judged_on": "test",
               "selected_on": "validation", "agreed_by": "", "agreed_on": "", "definition": ""}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _guardrails_post(*rows, costs: str | None = None) -> dict:
    data = {"guardrails-TOTAL_FORMS": str(len(rows)), "guardrails-INITIAL_FORMS": "0"}
    for i, (metric, split, op, value) in enumerate(rows):
        data.update({f"guardrails-{i}-metric": metric, f"guardrails-{i}-split": split,
                     f"guardrails-{i}-op": op, f"guardrails-{i}-value": value})
    if costs is not None:
        data["cost_metrics"] = costs
    return data


def _after_field(page: str, field_id: str) -> str:
    """The markup just after an element: where a field's errors show."""
    start = page.index(f'id="{field_id}"')
    return page[start:start + 400]


def test_an_f1_threshold_of_90_is_refused_next_to_the_field(demo):
    response = client_for(demo.olivia).post(reverse("web:settings-target", args=[SLUG]),
                                            {**TARGET_POST, "threshold": "90"})

    assert response.status_code == 400
    message = "F1 score is between 0 and 1, not 90; did you mean 0.90?"
    assert response.context["target_form"].errors["threshold"] == [message]
    assert message in _after_field(response.content.decode(), "id_threshold")
    demo.project.target.refresh_from_db()
    assert demo.project.target.threshold == 0.85


def test_a_guardrail_limit_or_a_quality_guardrail_on_test_is_refused_on_its_row(demo):
    client = client_for(demo.olivia)
    url = reverse("web:settings-guardrails", args=[SLUG])

    too_big = client.post(url, _guardrails_post(("latency_ms", "test", "<=", "50"),
                                                ("recall", "validation", ">=", "90")))
    on_test = client.post(url, _guardrails_post(("recall_malignant", "test", ">=", "0.9")))

    assert too_big.status_code == on_test.status_code == 400
    assert ("Recall is between 0 and 1, not 90; did you mean 0.90?"
            in _after_field(too_big.content.decode(), "guardrails-1-errors"))
    assert ("recall_malignant on the test split would make winner selection read the test "
            "set; put the guardrail on validation."
            in _after_field(on_test.content.decode(), "guardrails-0-errors"))
    assert [g.metric for g in demo.project.guardrails.all()] == ["latency_ms"]


def test_a_measure_of_cost_listed_on_the_page_may_be_checked_on_test(demo):
    client = client_for(demo.olivia)
    url = reverse("web:settings-guardrails", args=[SLUG])

    saved = client.post(url, _guardrails_post(("latency_ms", "test", "<=", "50"),
                                              ("latency_p95_ms", "test", "<=", "80"),
                                              costs="latency_p95_ms, gpu_hours"))

    assert saved.status_code == 302
    demo.project.refresh_from_db()
    assert demo.project.cost_metrics == ["latency_p95_ms", "gpu_hours"]
    assert [g.metric for g in demo.project.guardrails.all()] == ["latency_ms", "latency_p95_ms"]
    page = client.get(reverse("web:settings", args=[SLUG])).content.decode()
    assert 'value="latency_p95_ms, gpu_hours"' in page
    # A post without the field (an older page) leaves the list alone.
    assert client.post(url, _guardrails_post(("latency_ms", "test", "<=", "50"))).status_code \
        == 302
    demo.project.refresh_from_db()
    assert demo.project.cost_metrics == ["latency_p95_ms", "gpu_hours"]
    refused = client.post(url, _guardrails_post(("f1", "test", ">=", "0.8"), costs="f1"))
    assert refused.context["guardrails_form"].costs.errors["cost_metrics"] == [
        "f1 (F1 score) measures quality, not cost; a guardrail on it belongs on the selection "
        "split"]


def test_the_dashboard_names_a_target_metric_no_run_logs_once_runs_exist(people):
    project = project_services.create_project(
        user=people.olivia, slug="screen", name="Screen",
        target={"metric": "f1", "direction": "maximize", "threshold": 0.9})
    client = client_for(people.olivia)
    dashboard = reverse("web:dashboard", args=["screen"])
    assert "No run has logged" not in client.get(dashboard).content.decode()

    make_run(project, people.olivia, name="r1",
             series={"validation.accuracy": 0.8, "validation.loss": 0.4})

    expected = "No run has logged f1 on validation yet; runs log accuracy and loss."
    assert expected in client.get(dashboard).content.decode()
    assert expected in client.get(reverse("web:settings", args=["screen"])).content.decode()


def test_a_stored_quality_guardrail_on_test_shows_as_not_applied(demo):
    Guardrail.objects.create(project=demo.project, metric="recall", split="test", op=">=",
                             value=0.9)

    for name in ("web:dashboard", "web:settings"):
        page = client_for(demo.victor).get(reverse(name, args=[SLUG])).content.decode()
        assert ("The guardrail on recall on test is not applied: checked there, it would make "
                "winner selection read the test set. Put it on validation, or remove it."
                in page)


def test_the_run_page_flags_a_logged_value_outside_its_range(demo):
    run = make_run(demo.project, demo.olivia, name="odd", baseline=True, series={
        "validation.f1": [0.5, 1.7], "validation.mae": -0.25, "test.accuracy": 97.0,
        "validation.loss": -3.0})

    page = client_for(demo.olivia).get(reverse("web:run", args=[run.id])).content.decode()

    notes = re.findall(r'<ul class="warnings"[^>]*>(.*?)</ul>', page, re.S)
    assert notes and re.findall(r"<li>(.*?)</li>", notes[0]) == [
        "accuracy on test is 97, outside 0–1: check how it is computed.",
        "f1 on validation reaches 1.7, outside 0–1: check how it is computed.",
        "mae on validation is -0.25, below 0: check how it is computed."]


def test_a_hidden_value_outside_its_range_is_not_flagged(demo):
    run = make_run(demo.project, demo.olivia, name="hidden", series={
        "validation.f1": 0.5, "test.f1": 3.5})

    page = client_for(demo.victor).get(reverse("web:run", args=[run.id])).content.decode()

    assert "3.5" not in page
    assert "check how it is computed" not in page
