"""MLflow's calls through api/mlflow/lane.py: the same answers, sooner.

They reach their endpoint without the middlewares a token-authenticated JSON call has no
use for. The logging calls' plain case is answered before that, or left to the endpoint,
which answers as always. log-batch's body is read there in one typed pass (msgspec)
instead of the usual reading (orjson, then services.clean_points): whatever the fast
reading takes, the usual one takes to the same values; whatever else it leaves to the
usual way.
"""

import gzip
import json
import math

import pytest
from django.test import Client

from api.mlflow import batch
from api.mlflow.errors import MlflowError
from tracker.errors import TargetlineError
from tracker.models import Run

RUN = "0" * 32


def metric(**fields):
    return {"key": "loss", "value": 0.5, "timestamp": "1700000000000", "step": "3", **fields}


def usual_reading(body: bytes):
    """What the usual way makes of a log-batch body: its fields, None when they are not the
    plain case, or "refused"."""
    try:
        data = json.loads(body)
        metrics, params, tags = batch.log_batch_fields(data)
        points = batch.plain_points(metrics)
    except (ValueError, MlflowError, TargetlineError, AttributeError):
        return "refused"
    return None if points is None else (data.get("run_id"), points, params, tags)


def same(a, b) -> bool:
    """Equal, of the same types, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


BODIES = [
    # as MLflow's clients send them: int64 as numbers, or as strings (protobuf's JSON)
    {"run_id": RUN, "metrics": [metric(), metric(key="val_f1", step="3")]},
    {"run_id": RUN, "metrics": [metric(step=s) for s in ("4", "5.0", "1e3", 7, 8.0, -2)]},
    {"run_id": RUN, "metrics": [metric(value=v) for v in
                                ("NaN", "nan", "Infinity", "-Infinity", "inf", "Inf", "1e5",
                                 "1.5", 2, -0.0, 1e308)]},
    {"run_id": RUN, "metrics": [metric(timestamp=t) for t in ("1", 2, "3.0", 4.0)]},
    {"run_id": RUN, "metrics": [{"key": "loss", "value": 1, "timestamp": 5}]},  # no step
    {"run_id": RUN, "metrics": [metric(extra=[1, 2], dataset_digest="abc")]},  # ignored
    {"run_id": RUN, "params": [{"key": "lr", "value": "0.1"}, {"key": "none"}],
     "tags": [{"key": "stage", "value": "dev"}, {"key": "empty", "value": None}]},
    {"run_id": RUN},
    {"metrics": [metric()]},  # no run id
    # beyond 64 bits, or not integers
    {"run_id": RUN, "metrics": [metric(step=str(2**63))]},
    {"run_id": RUN, "metrics": [metric(step=2**63)]},
    {"run_id": RUN, "metrics": [metric(timestamp=str(-(2**63) - 1))]},
    {"run_id": RUN, "metrics": [metric(step="5.5")]},
    {"run_id": RUN, "metrics": [metric(step=5.5)]},
    {"run_id": RUN, "metrics": [metric(step=" 5")]},
    {"run_id": RUN, "metrics": [metric(step="5_000")]},
    {"run_id": RUN, "metrics": [metric(step=True)]},
    {"run_id": RUN, "metrics": [metric(step=None)]},
    # values that are no numbers, missing fields, keys that are no names
    {"run_id": RUN, "metrics": [metric(value="abc")]},
    {"run_id": RUN, "metrics": [metric(value=" 1.5")]},
    {"run_id": RUN, "metrics": [metric(value="+infinity")]},
    {"run_id": RUN, "metrics": [metric(value=True)]},
    {"run_id": RUN, "metrics": [metric(value=None)]},
    {"run_id": RUN, "metrics": [{"key": "loss", "value": 1, "step": 1}]},
    {"run_id": RUN, "metrics": [{"value": 1, "timestamp": 1}]},
    {"run_id": RUN, "metrics": [metric(key=7)]},
    {"run_id": RUN, "metrics": [metric(key=["loss"])]},
    {"run_id": RUN, "metrics": ["loss"]},
    {"run_id": RUN, "metrics": {"key": "loss"}},
    {"run_id": RUN, "metrics": None},
    {"run_id": RUN, "params": [{"key": "lr", "value": 0.1}]},
    {"run_id": RUN, "params": [{"value": "x"}]},
    {"run_id": 7, "metrics": [metric()]},
    {"run_uuid": RUN, "metrics": [metric()]},
    # a logged model's metrics, metrics on a dataset: the usual way
    {"run_id": RUN, "metrics": [metric(model_id="m-1")]},
    {"run_id": RUN, "metrics": [metric(), metric(dataset_name="eval", dataset_digest="d")]},
    # over MLflow's limits
    {"run_id": RUN, "metrics": [metric(step=i) for i in range(1001)]},
    {"run_id": RUN, "tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]},
]


@pytest.mark.parametrize("body", BODIES)
def test_the_fast_reading_takes_what_the_usual_one_takes_to_the_same_values(body):
    raw = json.dumps(body).encode()
    try:
        fast = batch.read_log_batch(raw)
    except MlflowError:
        fast = "refused"  # over MLflow's limits: told alike by both
    if fast is not None:  # else the usual way reads it, and answers as always
        assert same(fast, usual_reading(raw)), (fast, usual_reading(raw))


def test_the_fast_reading_takes_mlflows_own_batches():
    # the bodies of the first cases above are those the mlflow client sends
    for body in BODIES[:8]:
        assert batch.read_log_batch(json.dumps(body).encode()) is not None, body


@pytest.mark.parametrize("raw", [b"", b"[]", b'"{}"', b"{", b'{"run_id": "x", "metrics": [NaN]}',
                                 b'{"run_id": "x", "metrics": [{"key": "a", "value": NaN, '
                                 b'"timestamp": 1}]}'])
def test_what_is_not_plain_json_is_left_to_the_usual_way(raw):
    assert batch.read_log_batch(raw) is None


@pytest.fixture
def member(alice):
    """A Django test client with Alice's token, and one of her runs."""
    run_id = alice.create_run(alice.create_experiment("lane")).info.run_id
    return Client(HTTP_AUTHORIZATION=f"Bearer {alice.token}"), run_id


def test_a_gzipped_batch_is_read_by_the_usual_way_and_stored(member):
    client, run_id = member
    body = json.dumps({"run_id": run_id, "metrics": [metric(step=str(s)) for s in range(3)]})
    answer = client.post("/api/2.0/mlflow/runs/log-batch", gzip.compress(body.encode()),
                         content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {}
    assert [(s.key, s.count) for s in Run.objects.get(pk=run_id).summaries.all()] == [
        ("loss", 3)]


def test_a_batch_the_lane_leaves_gets_mlflows_error_from_its_endpoint(member):
    client, run_id = member
    answer = client.post("/api/2.0/mlflow/runs/log-batch",
                         {"run_id": run_id, "metrics": [metric(step="5.5")]},
                         content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "step" in answer.json()["message"]
    assert not Run.objects.get(pk=run_id).summaries.exists()


def test_the_lanes_answer_carries_the_security_headers_of_every_answer(member):
    client, run_id = member
    answer = client.post("/api/2.0/mlflow/runs/log-batch",
                         {"run_id": run_id, "metrics": [metric()]},
                         content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {}
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Content-Type"] == "application/json"
    assert Run.objects.get(pk=run_id).summaries.get().count == 1


def test_mlflow_answers_are_sent_whole_with_their_length(member):
    # answered ahead of the middleware that would add it: without a length, gunicorn would
    # send each answer chunked
    client, run_id = member
    for answer in (client.get("/api/2.0/mlflow/runs/get", {"run_id": run_id}),
                   client.post("/api/2.0/mlflow/runs/log-batch",
                               {"run_id": run_id, "metrics": [metric()]},
                               content_type="application/json"),
                   client.get("/api/2.0/mlflow/runs/get", {"run_id": "0" * 32}),
                   client.get("/api/2.0/mlflow/no/such/call")):
        assert answer["Content-Length"] == str(len(answer.content))
        assert answer["Content-Type"] == "application/json"
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
