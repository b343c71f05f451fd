"""The winner endpoint: chosen on validation, quoted on test, with the baseline and the lift."""

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_run
from tracker.selectors.winner import pick_winner
from tracker.services import projects as project_services
from tracker.services import targets as target_services

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/news-topics/winner"


def fast(values: dict) -> dict:
    return {**values, "test.latency_ms": 20}


def test_the_winner_is_best_on_validation_even_when_another_run_is_best_on_test(
        api, project, owner):
    make_run(project, owner, name="majority-class", baseline=True,
             series=fast({"validation.f1": 0.60, "test.f1": 0.58}))
    make_run(project, owner, name="svm", series=fast({"validation.f1": 0.88, "test.f1": 0.86}))
    make_run(project, owner, name="lucky-on-test",
             series=fast({"validation.f1": 0.80, "test.f1": 0.95}))
    body = api.get(URL).json()
    assert body["winner"]["name"] == "svm"
    assert body["selection"] == {"split": "validation", "metric": "f1", "value": 0.88, "step": 0}
    assert body["judged"] == {
        "split": "test", "metric": "f1", "value": 0.86, "threshold": 0.85,
        "direction": "maximize", "met": True,
        "sentence": "Scores 86 out of 100 on F1, a balance of finding the cases that matter and "
                    "being right when it flags one, on the test set; the agreed bar is 85.",
        "judged_at_step": 0, "best_step": 0, "step_note": None}
    assert body["baseline"]["name"] == "majority-class"
    assert body["baseline"]["judged_value"] == 0.58
    assert body["lift"] == pytest.approx(0.28)
    assert body["sentence"] == (
        'Best model so far (run "svm"): scores 86 out of 100 on F1, a balance of finding the '
        "cases that matter and being right when it flags one, on the test set; the agreed bar "
        "is 85. It meets the target. It does 28 points better than the baseline.")


def test_a_test_figure_logged_after_training_says_which_step_it_comes_from(
        api, project, owner):
    # Validation ties from step 0 on, so the best step is 0; the test set is evaluated once,
    # after training, without a step: it belongs to step 29, and the answer says so.
    run = make_run(project, owner, name="tied", finish=None, series={
        "validation.f1": [0.9] * 30, "train.loss": [1 / (s + 1) for s in range(30)]})
    api.post(f"/api/v1/runs/{run.id}/log-batch", {"metrics": [
        {"key": "f1", "split": "test", "value": 0.88},
        {"key": "latency_ms", "split": "test", "value": 20}]}, format="json")
    api.post(f"/api/v1/runs/{run.id}/finish", {}, format="json")
    body = api.get(URL).json()
    assert body["selection"]["step"] == 0
    judged = body["judged"]
    assert (judged["value"], judged["judged_at_step"], judged["best_step"]) == (0.88, 29, 0)
    assert judged["step_note"] == ("The test figure was logged at step 29; validation peaked "
                                   "at step 0.")
    assert body["sentence"].startswith('Best model so far (run "tied"): scores 88 out of 100 on '
                                       "F1")
    assert "step" not in body["sentence"]  # the manager's sentence is unchanged
    summaries = {(m["split"], m["key"]): m
                 for m in api.get(f"/api/v1/runs/{run.id}").json()["metrics"]}
    assert summaries["test", "f1"]["best_step"] == 29


def test_pick_winner_never_reads_the_judged_split(project, owner):
    target_services.set_guardrails(project=project, user=owner, guardrails=[])
    make_run(project, owner, name="a", series={"validation.f1": 0.8, "test.f1": 0.99})
    make_run(project, owner, name="b", series={"validation.f1": 0.9, "test.f1": 0.10})
    with CaptureQueriesContext(connection) as queries:
        assert pick_winner(project=project).name == "b"
    assert not any("'test'" in q["sql"] for q in queries.captured_queries)


def test_minimising_target(api, project, owner):
    target_services.set_target(project=project, user=owner, target={
        "metric": "mae", "direction": "minimize", "threshold": 3.0})
    make_run(project, owner, name="big-error", series=fast({"validation.mae": 5.0}))
    make_run(project, owner, name="small-error",
             series=fast({"validation.mae": 2.0, "test.mae": 2.5}))
    body = api.get(URL).json()
    assert body["winner"]["name"] == "small-error"
    assert body["judged"]["met"] is True


def test_nan_never_wins_and_a_run_missing_the_metric_is_ignored(api, project, owner):
    make_run(project, owner, name="nan", series=fast({"validation.f1": math.nan}))
    make_run(project, owner, name="no-f1", series=fast({"validation.accuracy": 0.99}))
    make_run(project, owner, name="real", series=fast({"validation.f1": 0.5}))
    assert api.get(URL).json()["winner"]["name"] == "real"


def test_a_run_failing_a_guardrail_loses_to_a_slower_scoring_one(api, project, owner):
    make_run(project, owner, name="slow", series={"validation.f1": 0.95,
                                                   "test.latency_ms": 120})
    make_run(project, owner, name="unmeasured", series={"validation.f1": 0.93})
    make_run(project, owner, name="fast", series=fast({"validation.f1": 0.90}))
    body = api.get(URL).json()
    assert body["winner"]["name"] == "fast"
    assert body["guardrails"] == [{
        "metric": "latency_ms", "split": "test", "op": "<=", "value": 50.0, "actual": 20.0,
        "passed": True,
        "sentence": "Answers in 20 ms on the test set; the limit is 50 ms (passes)."}]
    board = api.get("/api/v1/projects/news-topics/leaderboard").json()["results"]
    assert [(r["name"], r["passes_guardrails"], r["winner"]) for r in board] == [
        ("slow", False, False), ("unmeasured", False, False), ("fast", True, True)]
    assert board[0]["guardrail_failures"] == ["test.latency_ms is 120 (test.latency_ms <= 50)"]


def test_when_every_run_fails_a_guardrail_there_is_no_winner(api, project, owner):
    make_run(project, owner, name="slow", series={"validation.f1": 0.95,
                                                   "test.latency_ms": 120})
    body = api.get(URL).json()
    assert body["winner"] is None
    assert body["sentence"] == ("Every finished run fails at least one guardrail, so there is "
                                "no model we can recommend yet.")


def test_ties_go_to_the_run_that_finished_first(api, project, owner):
    make_run(project, owner, name="first", series=fast({"validation.f1": 0.9}))
    make_run(project, owner, name="second", series=fast({"validation.f1": 0.9}))
    assert api.get(URL).json()["winner"]["name"] == "first"


def test_only_finished_runs_compete(api, project, owner):
    make_run(project, owner, name="running", finish=None, series=fast({"validation.f1": 0.99}))
    make_run(project, owner, name="failed", finish="failed", series=fast({"validation.f1": 0.98}))
    body = api.get(URL).json()
    assert body["winner"] is None
    assert body["sentence"] == ("No run has finished yet, so there is no best model to compare "
                                "with the target.")


def test_without_a_baseline_the_answer_says_so(api, project, owner):
    make_run(project, owner, name="only", series=fast({"validation.f1": 0.9, "test.f1": 0.8}))
    body = api.get(URL).json()
    assert body["baseline"] is None and body["lift"] is None
    assert body["judged"]["met"] is False
    assert body["sentence"].endswith(
        "There is no baseline yet, so we cannot say whether the model beats the status quo.")


def test_an_early_stopped_run_is_judged_at_its_best_step(api, project, owner):
    make_run(project, owner, name="overfit", series=fast({
        "validation.f1": [0.70, 0.91, 0.80], "test.f1": [0.69, 0.89, 0.78]}))
    make_run(project, owner, name="steady", series=fast({
        "validation.f1": [0.85, 0.86, 0.87], "test.f1": [0.84, 0.85, 0.86]}))
    body = api.get(URL).json()
    assert body["winner"]["name"] == "overfit"
    assert body["selection"]["step"] == 1
    assert body["judged"]["value"] == 0.89


def test_a_project_without_a_target_says_so(api, owner):
    project_services.create_project(user=owner, slug="no-target")
    body = api.get("/api/v1/projects/no-target/winner").json()
    assert body["winner"] is None and body["target"] is None
    assert body["sentence"].startswith("No target has been agreed yet")
