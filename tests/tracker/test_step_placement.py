"""A result logged without a step goes to the run's last step on the judged split
(tracker.step_placement), through the services as the v1 API calls them."""

import pytest

from tests.factories import make_run, next_ts
from tracker.models import MetricSummary
from tracker.selectors.metrics import metric_history
from tracker.services import metrics as metric_services
from tracker.services import targets as target_services

pytestmark = pytest.mark.django_db


def log(run, *points):
    return metric_services.log_batch(run=run, metrics=list(points))


def stepless(key, split, value, ts=None, **extra):
    return {"key": key, "split": split, "value": value, "timestamp": ts or next_ts(), **extra}


def steps_of(run, key, split):
    return [(step, value) for step, value, _ in metric_history(run=run, key=key, split=split)]


def trained(project, owner, name="trained", epochs=30):
    """A run whose validation F1 peaked at step 0 (a tie) and whose loss went on to step 29."""
    return make_run(project, owner, name=name, finish=None, series={
        "validation.f1": [0.9] + [0.9] * (epochs - 1),
        "train.loss": [1.0 / (step + 1) for step in range(epochs)],
    })


def test_a_test_figure_logged_without_a_step_goes_to_the_runs_last_step(project, owner):
    run = trained(project, owner)
    assert run.best_step == 0
    log(run, stepless("f1", "test", 0.87))
    assert steps_of(run, "f1", "test") == [(29, 0.87)]
    summary = MetricSummary.objects.get(run=run, key="f1", split="test")
    # validation peaked at step 0, where the test set has no point: its value is read at 29
    assert (summary.best_value, summary.best_step) == (0.87, 29)


def test_slices_of_the_judged_split_are_placed_and_other_splits_are_not(project, owner):
    run = trained(project, owner)
    log(run, stepless("f1", "test/long_texts", 0.8), stepless("accuracy", "validation", 0.7),
        stepless("latency_ms", "test", 12.0, step=None))
    assert steps_of(run, "f1", "test/long_texts") == [(29, 0.8)]
    assert steps_of(run, "latency_ms", "test") == [(29, 12.0)]
    assert steps_of(run, "accuracy", "validation") == [(0, 0.7)]


def test_the_last_step_counts_the_batch_the_point_came_in(project, owner):
    run = make_run(project, owner, name="one-batch", finish=None)
    log(run, *[{"key": "loss", "split": "train", "step": step, "value": 1.0,
                "timestamp": next_ts()} for step in range(5)],
        stepless("f1", "test", 0.8))
    assert steps_of(run, "f1", "test") == [(4, 0.8)]


def test_before_any_step_it_stays_at_step_zero(project, owner):
    run = make_run(project, owner, name="fresh", finish=None)
    log(run, stepless("f1", "test", 0.8))
    assert steps_of(run, "f1", "test") == [(0, 0.8)]


def test_a_step_counted_by_the_client_is_placed_only_on_the_judged_split(project, owner):
    run = trained(project, owner, epochs=10)
    log(run, stepless("f1", "test", 0.8, step=3, auto_step=True),
        stepless("loss", "train", 0.05, step=10, auto_step=True),
        stepless("f1", "test/short_texts", 0.7, step=4))  # a step given stays
    assert steps_of(run, "loss", "train")[-1] == (10, 0.05)  # the client's count stands
    assert steps_of(run, "f1", "test") == [(10, 0.8)]  # the last step, with that loss
    assert steps_of(run, "f1", "test/short_texts") == [(4, 0.7)]


def test_a_replay_after_the_run_moved_on_is_stored_once(project, owner):
    run = trained(project, owner, epochs=10)
    point = stepless("f1", "test", 0.8)
    assert log(run, point)["points_stored"] == 1
    log(run, {"key": "loss", "split": "train", "step": 40, "value": 0.01,
              "timestamp": next_ts()})
    assert log(run, point)["points_stored"] == 0
    assert steps_of(run, "f1", "test") == [(9, 0.8)]


def test_a_point_never_overwrites_another_at_its_place(project, owner):
    run = trained(project, owner, epochs=10)
    ts = next_ts()
    log(run, {"key": "f1", "split": "test", "step": 9, "value": 0.81, "timestamp": ts},
        stepless("f1", "test", 0.79, ts=ts))
    assert steps_of(run, "f1", "test") == [(0, 0.79), (9, 0.81)]


def test_the_judged_split_is_the_targets(project, owner):
    target_services.set_target(project=project, user=owner, target={
        "metric": "f1", "direction": "maximize", "threshold": 0.8,
        "judged_on": "test/holdout", "selected_on": "validation"})
    run = trained(project, owner, epochs=5)
    log(run, stepless("f1", "test", 0.7), stepless("f1", "test/holdout", 0.75))
    assert steps_of(run, "f1", "test") == [(0, 0.7)]
    assert steps_of(run, "f1", "test/holdout") == [(4, 0.75)]
