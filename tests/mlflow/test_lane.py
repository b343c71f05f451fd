"""MLflow's calls through api/mlflow/lane.py: straight to their endpoint, the same answers.

They reach their endpoint without the middlewares a token-authenticated JSON call has no
use for; a gzipped body takes the usual way, to the same endpoint.
"""

import gzip
import json

import pytest
from django.test import Client

from tracker.models import Run


def metric(**fields):
    return {"key": "loss", "value": 0.5, "timestamp": "1700000000000", "step": "3", **fields}


@pytest.fixture
def member(alice):
    """A Django test client with Alice's token, and one of her runs."""
    run_id = alice.create_run(alice.create_experiment("lane")).info.run_id
    return Client(HTTP_AUTHORIZATION=f"Bearer {alice.token}"), run_id


def test_a_gzipped_batch_takes_the_usual_way_and_is_stored(member):
    client, run_id = member
    body = json.dumps({"run_id": run_id, "metrics": [metric(step=str(s)) for s in range(3)]})
    answer = client.post("/api/2.0/mlflow/runs/log-batch", gzip.compress(body.encode()),
                         content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {}
    assert [(s.key, s.count) for s in Run.objects.get(pk=run_id).summaries.all()] == [
        ("loss", 3)]


def test_a_refused_batch_gets_mlflows_error_and_writes_nothing(member):
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
                   client.get("/api/2.0/mlflow/metrics/get-history",
                              {"run_id": run_id, "metric_key": "loss"}),
                   client.get("/api/2.0/mlflow/runs/get", {"run_id": "0" * 32}),
                   client.get("/api/2.0/mlflow/no/such/call")):
        assert answer["Content-Length"] == str(len(answer.content))
        assert answer["Content-Type"] == "application/json"
    assert answer.status_code == 404
    assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
