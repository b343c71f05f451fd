"""Point blocks as the readers see them: series in step then time order, whatever the batches."""

import math

import pytest

from tests.factories import make_run
from tracker import points
from tracker.models import MetricSummary, PointBlock
from tracker.services import metrics as metric_services

pytestmark = pytest.mark.django_db


def log(run, *steps_and_stamps, key="loss", value=lambda step: step / 10):
    metric_services.log_batch(run=run, metrics=[
        {"key": key, "split": "train", "step": step, "timestamp": ts, "value": value(step)}
        for step, ts in steps_and_stamps])
    return MetricSummary.objects.get(run=run, key=key, split="train").id


def test_a_block_packs_and_unpacks_every_value_exactly():
    steps, stamps = [0, 1, 2**62, -5], [1, 2**63 - 1, -(2**63), 0]
    values = [0.1, math.inf, -0.0, 1e-308]
    got = points.unpack(points.pack(steps, stamps, values))
    assert [list(column) for column in got] == [steps, stamps, values]


def test_points_logged_one_by_one_read_back_like_a_batch(project, owner):
    run = make_run(project, owner, name="one by one", finish=None)
    for step in range(5):
        sid = log(run, (step, 100 + step))
    assert PointBlock.objects.filter(summary_id=sid).count() == 5
    assert points.series_points([sid])[sid] == [(s, 100 + s, s / 10) for s in range(5)]


def test_overlapping_batches_merge_into_one_ordered_series(project, owner):
    run = make_run(project, owner, name="overlap", finish=None)
    sid = log(run, (0, 10), (5, 15), (10, 20))
    log(run, (3, 30), (7, 31), (12, 32))  # a second evaluation pass, in between and after
    log(run, (5, 40))  # the same step again, later
    series = points.series_points([sid])[sid]
    assert [(s, t) for s, t, _ in series] == [(0, 10), (3, 30), (5, 15), (5, 40), (7, 31),
                                              (10, 20), (12, 32)]
    assert points.series_points([sid], steps=(5, 7))[sid] == [
        (5, 15, 0.5), (5, 40, 0.5), (7, 31, 0.7)]
    assert points.step_values(sid) == {0: 0.0, 3: 0.3, 5: 0.5, 7: 0.7, 10: 1.0, 12: 1.2}


def test_values_at_a_step_take_the_latest_point_and_skip_series_without_one(project, owner):
    run = make_run(project, owner, name="at step", finish=None)
    loss = log(run, (1, 10), (2, 11), key="loss", value=lambda s: 1.0)
    log(run, (2, 50), key="loss", value=lambda s: 0.25)  # step 2 again, later
    acc = log(run, (1, 12), key="acc", value=lambda s: 0.9)
    assert points.values_at([loss, acc], 2) == {loss: 0.25}
    assert points.values_at([loss, acc], 1) == {loss: 1.0, acc: 0.9}
    assert points.values_at([loss, acc], 99) == {}


def test_a_batch_of_ten_thousand_series_is_stored_whole(project, owner):
    run = make_run(project, owner, name="wide", finish=None)
    result = metric_services.log_batch(run=run, metrics=[
        {"key": f"m{i}", "split": "train", "step": 0, "timestamp": 1, "value": i}
        for i in range(10_000)])
    assert result["points_stored"] == 10_000
    assert PointBlock.objects.filter(summary__run=run).count() == 10_000
    last = MetricSummary.objects.get(run=run, key="m9999")
    assert points.series_points([last.id])[last.id] == [(0, 1, 9999.0)]
