"""Storing points and keeping the summaries current (runs against the configured database)."""

import math

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from tests.factories import make_run
from tracker.errors import Conflict, InvalidInput, LimitExceeded
from tracker.models import MetricSummary, PointBlock
from tracker.selectors.metrics import metric_history, metric_history_buckets
from tracker.services import metrics as metric_services
from tracker.services import runs as run_services
from tracker.services import targets as target_services

pytestmark = pytest.mark.django_db


def summary(run, field):
    split, key = field.rsplit(".", 1)
    return MetricSummary.objects.get(run=run, key=key, split=split)


def point(key, split, step, value, ts):
    return {"key": key, "split": split, "step": step, "value": value, "timestamp": ts}


def test_a_run_that_peaked_early_is_judged_at_its_best_step(project, owner):
    # Validation f1 peaks at step 2 and degrades; test is logged at every step.
    run = make_run(project, owner, name="early-stop", series={
        "validation.f1": [0.70, 0.80, 0.90, 0.85, 0.60],
        "test.f1": [0.69, 0.79, 0.88, 0.84, 0.58],
        "train.loss": [1.0, 0.8, 0.6, 0.4, 0.2],
    })
    assert run.best_step == 2
    assert summary(run, "validation.f1").best_value == 0.90
    assert summary(run, "validation.f1").last_value == 0.60
    assert summary(run, "test.f1").best_value == 0.88
    assert summary(run, "train.loss").best_value == 0.6


def test_a_test_value_logged_once_at_the_end_counts_as_it_is(project, owner):
    run = make_run(project, owner, name="eval-at-end",
                   series={"validation.f1": [0.7, 0.9, 0.8]})
    metric_services.log_batch(run=run, metrics=[point("f1", "test", 99, 0.86, 5)])
    s = summary(run, "test.f1")
    assert (s.best_value, s.best_step, s.last_value) == (0.86, 99, 0.86)


def test_best_step_moves_when_a_later_batch_is_better(project, owner):
    run = make_run(project, owner, name="growing", finish=None,
                   series={"validation.f1": [0.5, 0.6], "test.f1": [0.4, 0.55]})
    assert run.best_step == 1
    metric_services.log_batch(run=run, metrics=[point("f1", "validation", 2, 0.7, 10),
                                                point("f1", "test", 2, 0.66, 11)])
    run.refresh_from_db()
    assert run.best_step == 2
    assert summary(run, "test.f1").best_value == 0.66


def test_a_newer_point_at_the_best_step_replaces_it_and_the_best_step_is_rescanned(
        project, owner):
    run = make_run(project, owner, name="rewritten", finish=None,
                   series={"validation.f1": [0.5, 0.9, 0.7]})
    assert run.best_step == 1
    # MLflow-style: same step, later timestamp. The latest point at a step counts.
    metric_services.log_batch(run=run,
                              metrics=[point("f1", "validation", 1, 0.1, 9_999_999_999_999)])
    run.refresh_from_db()
    assert run.best_step == 2
    assert summary(run, "validation.f1").best_value == 0.7


def test_points_at_one_step_with_different_timestamps_are_all_kept(project, owner):
    run = make_run(project, owner, name="mlflow-style", finish=None)
    metric_services.log_batch(run=run, metrics=[point("loss", "train", 0, v, ts)
                                                for ts, v in [(3, 0.3), (1, 0.9), (2, 0.5)]])
    s = summary(run, "train.loss")
    assert s.count == 3
    assert s.last_value == 0.3  # the latest timestamp at the last step
    assert (s.min_value, s.max_value) == (0.3, 0.9)


def test_a_replayed_batch_stores_each_point_once(project, owner):
    run = make_run(project, owner, name="replay", finish=None)
    batch = [point("loss", "train", i, 1 / (i + 1), 1000 + i) for i in range(100)]
    first = metric_services.log_batch(run=run, metrics=batch)
    again = metric_services.log_batch(run=run, metrics=batch)
    assert (first["points_stored"], again["points_stored"]) == (100, 0)
    assert len(metric_history(run=run, key="loss", split="train")) == 100
    assert summary(run, "train.loss").count == 100


def test_duplicates_inside_one_batch_are_stored_once(project, owner):
    run = make_run(project, owner, name="dup", finish=None)
    result = metric_services.log_batch(run=run, metrics=[point("loss", "train", 1, 0.5, 7)] * 3)
    assert result["points_stored"] == 1


def test_nan_and_infinities_round_trip_and_nan_never_becomes_min_or_max(project, owner):
    run = make_run(project, owner, name="weird", finish=None)
    metric_services.log_batch(run=run, metrics=[
        point("loss", "train", 0, "NaN", 1), point("loss", "train", 1, math.inf, 2),
        point("loss", "train", 2, -math.inf, 3), point("loss", "train", 3, 0.5, 4),
        point("loss", "train", 4, math.nan, 5),
    ])
    values = [v for _, v, _ in metric_history(run=run, key="loss", split="train")]
    assert math.isnan(values[0]) and math.isnan(values[4])
    assert values[1:4] == [math.inf, -math.inf, 0.5]
    s = summary(run, "train.loss")
    assert (s.min_value, s.max_value, s.count) == (-math.inf, math.inf, 5)
    assert s.last_value is None  # NaN is stored as NULL


def test_nan_on_the_selection_split_is_never_the_best_step(project, owner):
    run = make_run(project, owner, name="nan-peak",
                   series={"validation.f1": [0.6, math.nan, 0.7, 0.65]})
    assert run.best_step == 2


def test_params_are_write_once_and_tags_last_write_wins(project, owner):
    run = make_run(project, owner, name="params", finish=None, params={"C": 1.0},
                   tags={"stage": "dev"})
    metric_services.log_batch(run=run, params={"C": 1.0, "kernel": "rbf"}, tags={"stage": "prod"})
    with pytest.raises(Conflict) as exc:
        metric_services.log_batch(run=run, params={"C": 2.0},
                                  metrics=[point("loss", "train", 0, 1.0, 1)])
    assert "param 'C' is already 1.0" in exc.value.message
    assert exc.value.field == "params.C"
    run.refresh_from_db()
    assert run.params == {"C": 1.0, "kernel": "rbf"}
    assert run.tags == {"stage": "prod"}
    # The rejected batch stored nothing: the whole batch is one transaction.
    assert not MetricSummary.objects.filter(run=run, key="loss").exists()


def test_a_finished_run_still_accepts_points(project, owner):
    run = make_run(project, owner, name="late-test", series={"validation.f1": [0.8]})
    metric_services.log_batch(run=run, metrics=[point("f1", "test", 0, 0.79, 5)])
    assert summary(run, "test.f1").best_value == 0.79


def test_a_deleted_run_accepts_no_points(project, owner):
    run = make_run(project, owner, name="gone", finish=None)
    run_services.delete_run(run=run)
    with pytest.raises(Conflict, match="was deleted"):
        metric_services.log_batch(run=run, metrics=[point("loss", "train", 0, 1.0, 1)])


@pytest.mark.parametrize("bad, field, words", [
    ({"key": "", "split": "train", "value": 1}, "metrics[0].key", "non-empty"),
    ({"key": "x" * 251, "split": "train", "value": 1}, "metrics[0].key", "limit is 250"),
    ({"key": "loss", "split": "valid", "value": 1}, "metrics[0].split", "not a split"),
    ({"key": "loss", "split": "test/", "value": 1}, "metrics[0].split", "not a split"),
    ({"key": "loss", "split": "train", "value": "high"}, "metrics[0].value", "must be a number"),
    ({"key": "loss", "split": "train", "value": True}, "metrics[0].value", "not a boolean"),
    ({"key": "loss", "split": "train", "step": 1.5, "value": 1}, "metrics[0].step", "integer"),
    ({"key": "loss", "split": "train"}, "metrics[0].value", "required"),
])
def test_bad_points_are_refused_with_the_field_named(project, owner, bad, field, words):
    run = make_run(project, owner, name="bad", finish=None)
    with pytest.raises(InvalidInput) as exc:
        metric_services.log_batch(run=run, metrics=[bad])
    assert exc.value.field == field
    assert words in exc.value.message


def test_over_the_batch_limit_the_client_is_told_to_split(project, owner):
    run = make_run(project, owner, name="big", finish=None)
    with pytest.raises(LimitExceeded, match="split the batch"):
        metric_services.log_batch(run=run,
                                  metrics=[point("x", "train", i, 1, i) for i in range(10_001)])


def test_changing_the_target_moves_every_runs_best_step(project, owner):
    run = make_run(project, owner, name="two-metrics", series={
        "validation.f1": [0.9, 0.5, 0.6], "validation.loss": [0.9, 0.7, 0.2],
        "test.f1": [0.88, 0.49, 0.61],
    })
    assert run.best_step == 0
    target_services.set_target(project=project, user=owner, target={
        "metric": "loss", "direction": "minimize", "threshold": 0.3})
    run.refresh_from_db()
    assert run.best_step == 2
    assert summary(run, "test.f1").best_value == 0.61


def test_downsampling_keeps_a_single_step_spike(project, owner):
    run = make_run(project, owner, name="spiky", finish=None)
    values = [0.5] * 10_000
    values[4321] = 99.0
    metric_services.log_batch(run=run, metrics=[point("loss", "train", i, v, i)
                                                for i, v in enumerate(values)])
    buckets = metric_history_buckets(run=run, key="loss", split="train", buckets=20)
    assert len(buckets) == 20
    assert max(b["max"] for b in buckets) == 99.0
    assert sum(b["count"] for b in buckets) == 10_000
    spiky = [b for b in buckets if b["max"] == 99.0]
    assert len(spiky) == 1 and spiky[0]["step_min"] <= 4321 <= spiky[0]["step_max"]
    assert buckets[-1]["last"] == 0.5 and buckets[-1]["step_max"] == 9_999


def test_buckets_sum_up_every_point_of_their_step_range_whatever_order_it_came_in(
        project, owner):
    # Batches out of step order (blocks that overlap), gaps, NaN and infinities.
    run = make_run(project, owner, name="ragged", finish=None)
    values = {step: math.sin(step / 7) for step in range(0, 3000, 3)}
    values.update({30: math.nan, 31: math.nan, 32: math.nan, 600: math.inf, 601: -math.inf,
                   1500: math.nan})
    steps = sorted(values)
    for batch in (steps[500:], steps[:250], steps[250:500]):
        metric_services.log_batch(run=run, metrics=[point("loss", "train", s, values[s], s)
                                                    for s in batch])
    # A second point at a step, logged later: same step, later time.
    metric_services.log_batch(run=run, metrics=[point("loss", "train", 300, 7.0, 10_000)])
    history = metric_history(run=run, key="loss", split="train")
    for buckets in (1, 7, 100, 2000):
        width = math.ceil((history[-1][0] - history[0][0] + 1) / buckets)
        expected = {}
        for step, value, _ in history:  # the slow, obvious way
            expected.setdefault((step - history[0][0]) // width, []).append((step, value))
        found = metric_history_buckets(run=run, key="loss", split="train", buckets=buckets)
        assert len(found) == len(expected)
        for bucket, (_, members) in zip(found, sorted(expected.items()), strict=True):
            numbers = [v for _, v in members if not math.isnan(v)]
            assert (bucket["step_min"], bucket["step_max"], bucket["count"]) == (
                members[0][0], members[-1][0], len(members))
            assert repr((bucket["min"], bucket["max"], bucket["last"])) == repr((
                min(numbers, default=math.nan), max(numbers, default=math.nan),
                members[-1][1]))


def test_a_batch_mixing_replayed_and_new_points_counts_each_once(project, owner):
    run = make_run(project, owner, name="partial", finish=None)
    first = [point("f1", "validation", i, 0.5 + i / 100, 100 + i) for i in range(10)]
    metric_services.log_batch(run=run, metrics=first)
    # The retry of a batch whose response was lost, plus points logged since.
    second = first[5:] + [point("f1", "validation", i, 0.9 - i / 100, 100 + i)
                          for i in range(10, 15)]
    result = metric_services.log_batch(run=run, metrics=second)
    assert result["points_stored"] == 5
    s = summary(run, "validation.f1")
    assert s.count == 15
    assert (s.min_value, s.max_value, s.last_value) == (0.5, 0.8, 0.76)
    run.refresh_from_db()
    assert run.best_step == 10 and s.best_value == 0.8


def test_points_logged_out_of_order_read_back_in_step_then_time_order(project, owner):
    # A late evaluation fills in steps between those already stored, and one batch
    # arrives with its own points shuffled: reads are in step, then time, order all the same.
    run = make_run(project, owner, name="late", finish=None)
    metric_services.log_batch(run=run, metrics=[point("loss", "train", s, s / 10, 100 + s)
                                                for s in (0, 2, 4, 6)])
    result = metric_services.log_batch(run=run, metrics=[point("loss", "train", s, s / 10, 200 + s)
                                                         for s in (5, 1, 3, 4)])
    assert result["points_stored"] == 4
    history = metric_history(run=run, key="loss", split="train")
    assert [(step, ts) for step, _, ts in history] == [
        (0, 100), (1, 201), (2, 102), (3, 203), (4, 104), (4, 204), (5, 205), (6, 106)]
    s = summary(run, "train.loss")
    assert (s.count, s.last_step, s.last_timestamp, s.last_value) == (8, 6, 106, 0.6)
    # The same shuffled batch again is a replay: nothing new.
    again = metric_services.log_batch(run=run, metrics=[point("loss", "train", s, s / 10, 200 + s)
                                                        for s in (5, 1, 3, 4)])
    assert again["points_stored"] == 0
    assert summary(run, "train.loss").count == 8


def test_a_batch_is_one_stored_block_per_series(project, owner):
    run = make_run(project, owner, name="blocks", finish=None)
    batch = [point(key, "train", s, 0.1, 1000 + s) for s in range(200) for key in "abcde"]
    metric_services.log_batch(run=run, metrics=batch)
    blocks = PointBlock.objects.filter(summary__run=run)
    assert sorted(blocks.values_list("first_step", "last_step", "count")) == [(0, 199, 200)] * 5


def test_nan_and_infinities_are_stored_as_they_are(project, owner):
    run = make_run(project, owner, name="odd values", finish=None)
    metric_services.log_batch(run=run, metrics=[point("loss", "train", 0, math.nan, 1),
                                                point("loss", "train", 1, math.inf, 2),
                                                point("loss", "train", 2, -math.inf, 3),
                                                point("loss", "train", 3, -0.0, 4)])
    values = [v for _, v, _ in metric_history(run=run, key="loss", split="train")]
    assert math.isnan(values[0]) and values[1:3] == [math.inf, -math.inf]
    assert math.copysign(1, values[3]) == -1


def test_batches_past_the_last_step_keep_the_same_summaries_as_any_other(project, owner):
    # One run logs forward in steps (the plain INSERT), the other sends the same points
    # with each batch repeating the previous one's last point (the conflict-checking path).
    values = [0.5, 0.7, 0.65, 0.9, 0.85, 0.95, 0.4, 0.8]
    forward = make_run(project, owner, name="forward", finish=None)
    overlapping = make_run(project, owner, name="overlapping", finish=None)
    for start in range(0, 8, 2):
        batch = [point("f1", "validation", s, values[s], 10 + s) for s in range(start, start + 2)]
        metric_services.log_batch(run=forward, metrics=batch)
        earlier = [point("f1", "validation", start - 1, values[start - 1], 9 + start)]
        metric_services.log_batch(run=overlapping, metrics=(earlier if start else []) + batch)
    fields = ("count", "last_value", "last_step", "min_value", "max_value", "best_value",
              "best_step")
    assert [getattr(summary(forward, "validation.f1"), f) for f in fields] == \
        [getattr(summary(overlapping, "validation.f1"), f) for f in fields] == \
        [8, 0.8, 7, 0.4, 0.95, 0.95, 5]


def test_a_series_ahead_of_the_selection_series_is_read_at_the_new_best_step(project, owner):
    # train.loss runs ahead of validation.f1; when f1's best step moves to 3, loss's value
    # there is one stored by an earlier batch, not one of this batch.
    run = make_run(project, owner, name="ahead", finish=None)
    metric_services.log_batch(run=run, metrics=[point("loss", "train", s, 1 - s / 10, s)
                                                for s in range(10)]
                              + [point("f1", "validation", 0, 0.5, 100)])
    metric_services.log_batch(run=run, metrics=[point("f1", "validation", s, v, 100 + s)
                                                for s, v in ((2, 0.6), (3, 0.8), (4, 0.7))]
                              + [point("loss", "train", 10, 0.05, 10)])
    run.refresh_from_db()
    assert run.best_step == 3
    assert (summary(run, "validation.f1").best_value, summary(run, "train.loss").best_value) \
        == (0.8, 0.7)


@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="prepared statements are PostgreSQL's")
def test_the_statements_of_every_batch_are_prepared_on_postgresql(project, owner):
    """Django turns psycopg's prepared statements off unless asked; the settings ask, so a
    training loop's batches skip PostgreSQL's parsing and planning after the first."""
    run = make_run(project, owner, name="prepared")
    for step in range(3):
        metric_services.log_batch(run=run, metrics=[point("loss", "train", step, 1.0, step)])
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("INSERT INTO tracker_pointblock" in statement for statement in prepared), prepared


@pytest.mark.django_db(transaction=True)
def test_a_batch_outside_a_transaction_commits_whole_or_not_at_all(project, owner):
    """A request's batch is its own transaction (on PostgreSQL committed with its last
    statements): what it stored is there for every other connection once it returns, a
    refused batch leaves nothing behind, and the connection takes the next batch."""
    run = make_run(project, owner, name="committed")

    def stored_elsewhere() -> int | None:
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with other.cursor() as cursor:
                cursor.execute(f"SELECT count FROM {MetricSummary._meta.db_table} "
                               "WHERE run_id = %s AND key = 'loss'",
                               [run.pk.hex if other.vendor == "sqlite" else run.pk])
                row = cursor.fetchone()
        finally:
            other.close()
        return row and row[0]

    metric_services.log_batch(run=run, metrics=[point("loss", "train", 0, 1.0, 0)],
                              params={"lr": 0.1})
    assert stored_elsewhere() == 1
    assert connection.get_autocommit() and not connection.in_atomic_block

    with pytest.raises(Conflict):  # its point and its new param go with the refused one
        metric_services.log_batch(run=run, metrics=[point("loss", "train", 1, 0.5, 1)],
                                  params={"lr": 0.2, "seed": 7})
    assert stored_elsewhere() == 1
    run.refresh_from_db()
    assert run.params == {"lr": 0.1}

    metric_services.log_batch(run=run, metrics=[point("loss", "train", 1, 0.5, 1)])
    assert stored_elsewhere() == 2
    assert metric_history(run=run, key="loss", split="train") == [(0, 1.0, 0), (1, 0.5, 1)]
