"""The dashboard's target card (the target and the result apart, in one scale) and the run
page's line on where a quoted figure comes from."""

import re

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


def card(html: str, title_id: str) -> str:
    """One card of a page: its section, from its title's id to its end."""
    match = re.search(rf'<section class="card" aria-labelledby="{title_id}">(.*?)</section>',
                      html, re.S)
    assert match, title_id
    return match.group(1)


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


def test_the_target_card_states_the_target_and_the_result_apart_in_one_scale(
        people, screening):
    html = client_for(people.olivia).get(
        reverse("web:dashboard", args=["tumour-screen"])).content.decode()
    target = card(html, "target-title")
    assert '<p class="target-headline">At least 97 out of 100 on F1, judged on the test set</p>' \
        in target
    assert ("<strong>Result:</strong> 97.6 out of 100 on the test set, by the best model so "
            "far") in target
    assert "latency at most 50 ms on the test set; recall at least 90 out of 100 on the " \
        "validation set" in target
    # one scale: no fraction beside "out of 100", in the card or in the history it folds
    assert not re.search(r"\b0\.\d", target), re.findall(r".{30}\b0\.\d.{10}", target)
    standing = card(html, "standing-title")
    assert "Best model on test: <strong>97.6 out of 100</strong> · agreed bar: <strong>97 out " \
        "of 100</strong>" in standing
    assert not re.search(r"\b0\.\d", standing)


def test_without_a_winner_the_result_line_says_so(people):
    project_services.create_project(
        user=people.olivia, slug="early", name="Early",
        target={"metric": "accuracy", "direction": "maximize", "threshold": 0.9})
    target = card(client_for(people.olivia).get(
        reverse("web:dashboard", args=["early"])).content.decode(), "target-title")
    assert "At least 90 out of 100 on accuracy, judged on the test set" in target
    assert "<strong>Result:</strong> no best model yet." in target


def test_the_run_page_says_when_the_test_figure_comes_from_another_step(people, screening):
    project, run = screening
    client = client_for(people.olivia)
    text = client.get(reverse("web:run", args=[run.id])).content.decode()
    assert "The test figure was logged at step 29; validation peaked at step 0." in text
    same_step = make_run(project, people.olivia, name="tested-each-epoch", series={
        "validation.f1": [0.6, 0.7], "test.f1": [0.58, 0.69]})
    text = client.get(reverse("web:run", args=[same_step.id])).content.decode()
    assert "figure was logged at step" not in text
