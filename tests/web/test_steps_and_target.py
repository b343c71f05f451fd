"""The run page's line on where a quoted figure comes from."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_run, next_ts
from tracker.services import metrics as metric_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def screening(people):
    """F1 >= 0.97 on test, a fraction guardrail on validation; the winner's validation F1
    ties from step 0, and its test set is evaluated once after training, without a step."""
    project = project_services.create_project(
        user=people.olivia, slug="tumour-screen", name="Tumour screening",
        target={"metric": "f1", "direction": "maximize", "threshold": 0.97},
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50},
                    {"metric": "recall", "split": "validation", "op": ">=", "value": 0.9}])
    make_run(project, people.olivia, name="majority", baseline=True, series={
        "validation.f1": 0.5, "validation.recall": 0.95, "test.f1": 0.49, "test.latency_ms": 1})
    run = make_run(project, people.olivia, name="cnn-tied", finish=None, series={
        "validation.f1": [0.98] * 30, "validation.recall": [0.93] * 30,
        "train.loss": [1 / (step + 1) for step in range(30)]})
    metric_services.log_batch(run=run, metrics=[
        {"key": "f1", "split": "test", "value": 0.976, "timestamp": next_ts()},
        {"key": "latency_ms", "split": "test", "value": 21.0, "timestamp": next_ts()}])
    run_services.finish_run(run=run, status="finished")
    return project, run


def test_the_run_page_says_when_the_test_figure_comes_from_another_step(people, screening):
    project, run = screening
    client = client_for(people.olivia)
    text = client.get(reverse("web:run", args=[run.id])).content.decode()
    assert "The test figure was logged at step 29; validation peaked at step 0." in text
    same_step = make_run(project, people.olivia, name="tested-each-epoch", series={
        "validation.f1": [0.6, 0.7], "test.f1": [0.58, 0.69]})
    text = client.get(reverse("web:run", args=[same_step.id])).content.decode()
    assert "figure was logged at step" not in text
