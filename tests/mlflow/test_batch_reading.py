"""log-batch's quick reading (msgspec, api/mlflow/batch.py) agrees with services.clean_points.

The quick reading may decline a body, which then goes the usual way; what it does read
must be what clean_points reads from the same JSON, point for point, and what clean_points
refuses it must decline. It must also take every batch the MLflow client sends.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from api.mlflow import batch
from tracker import services
from tracker.errors import TargetlineError

INT64 = 2**63

integers = st.integers(min_value=-(2**70), max_value=2**70)
int_fields = st.one_of(
    integers, integers.map(str),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["3.0", "1e3", "1.5e3", "-0.0", "2.5", " 4", "+3", "1_000", "0003", "inf",
                     "nan", "", "soon", str(INT64), str(-INT64), str(INT64 - 1), "1e30"]),
    st.booleans(), st.none())
values = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), integers,
    st.sampled_from(["NaN", "nan", "-nan", "Infinity", "-Infinity", "inf", "+inf", "INF",
                     "0.5", " 1.5", "1e400", "-1e400", "1_0", ".5", "abc", ""]),
    st.booleans(), st.none())
keys = st.one_of(st.sampled_from(["loss", "val_f1", "train/acc"]), st.integers(0, 3), st.none())


@st.composite
def metric(draw, key=keys, value=values, step=int_fields, timestamp=int_fields):
    point = {"key": draw(key), "value": draw(value), "timestamp": draw(timestamp)}
    if draw(st.booleans()):
        point["step"] = draw(step)
    if draw(st.integers(0, 9)) == 0:  # a field missing altogether
        del point[draw(st.sampled_from(["key", "value", "timestamp"]))]
    return point


def usual_reading(metrics: list):
    try:
        return services.clean_points(metrics, by_name=True, timestamp_required=True)
    except TargetlineError:
        return None


@settings(max_examples=400, deadline=None)
@given(st.lists(metric(), max_size=6))
def test_what_the_quick_reading_takes_the_usual_one_reads_alike(metrics):
    body = json.dumps({"run_id": "r", "metrics": metrics}).encode()
    quick = batch.read_points(body)
    if quick is None:
        return  # declined: the usual way answers
    expected = usual_reading(json.loads(body)["metrics"])
    assert expected is not None, f"the quick reading took what the usual one refuses: {body}"
    run_id, points, params, tags = quick
    # repr tells NaN from NaN equal, and -0.0 from 0.0
    assert repr(points) == repr(expected)
    assert (run_id, params, tags) == ("r", [], [])


mlflow_metrics = st.lists(st.builds(
    lambda key, value, timestamp, step: {
        "key": key, "timestamp": str(timestamp), "step": str(step),
        # the client's JSON: a number, or NaN and the infinities as strings
        "value": value if value == value and abs(value) != float("inf") else
        {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]},
    st.sampled_from(["loss", "val_f1", "train_acc", "lr"]),
    st.floats(), st.integers(0, 2**62), st.integers(-(2**62), 2**62)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(mlflow_metrics)
def test_the_quick_reading_takes_every_batch_the_mlflow_client_sends(metrics):
    body = json.dumps({"run_id": "r", "metrics": metrics,
                       "params": [{"key": "lr", "value": "0.1"}],
                       "tags": [{"key": "stage", "value": "dev"}]}).encode()
    quick = batch.read_points(body)
    assert quick is not None
    assert repr(quick[1]) == repr(usual_reading(json.loads(body)["metrics"]))
    assert quick[2:] == ([("lr", "0.1")], [("stage", "dev")])


def test_the_quick_reading_declines_what_it_leaves_to_the_usual_way():
    def read(**body):
        return batch.read_points(json.dumps({"run_id": "r", **body}).encode())

    point = {"key": "loss", "value": 1, "timestamp": "1"}
    assert read(metrics=[point]) is not None
    assert read(metrics=[{**point, "model_id": "m-1"}]) is None  # a logged model's metric
    assert read(metrics=[{**point, "step": str(2**63)}]) is None  # beyond 64 bits
    assert read(metrics=None) is None
    assert read(params=[{"key": "lr", "value": 0.1}]) is None  # a number: str() it the usual way
    assert batch.read_points(b"{not json") is None
