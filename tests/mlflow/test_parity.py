"""Targetline refuses what `mlflow server` refuses, with its error codes and messages.

Each case of parity_cases.json was sent to a real mlflow server by scripts/mlflow_parity.py,
which recorded its answer. Here each is replayed against Targetline (authenticated as the
owner of the fixtures the recording's setup creates): same status, same error_code, and the
same message (with this server's ids in place of the placeholders) unless MLflow's told
something of its own server (the message was recorded as null). DIFFERENCES lists where
Targetline answers otherwise on purpose, and what it answers instead.
"""

import json
from pathlib import Path

import mlflow
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from mlflow.exceptions import MlflowException

from scripts.mlflow_parity import fill
from tracker.services import tokens as token_services

RECORDED = json.loads(Path(__file__).with_name("parity_cases.json").read_text())
CASES = {case["name"]: case for case in RECORDED["cases"]}

INVALID = (400, "INVALID_PARAMETER_VALUE")
# Where Targetline answers otherwise on purpose: case name -> (status, error_code, why). The
# same status and code as MLflow's means only the message differs. docs/mlflow.md lists them.
DIFFERENCES: dict[str, tuple[int, str | None, str]] = {
    'runs/update {"run_id": "{run}", "status": "BOGUS"}': (
        *INVALID, "mlflow server ignores a status it does not know; Targetline says so"),
    'runs/create {"experiment_id": "{experiment}", "tags": "foo"}': (
        *INVALID, "mlflow server drops tags that are no list; Targetline refuses them"),
    'runs/log-metric {"run_id": "{run}", "key": "m", "value": 1.0, "timestamp": 1.5, '
    '"step": 0}': (*INVALID, "mlflow server cuts a fractional timestamp; Targetline refuses it"),
    'runs/log-batch {"run_id": "{run}", "metrics": [{"key": "a", "value": "x", "timestamp": '
    '1700000000000}]}': (*INVALID, "mlflow server answers 200 for a value that is no number"),
    'GET metrics/get-history {"run_id": "0123456789abcdef0123456789abcdef", "metric_key": '
    '"loss"}': (404, "RESOURCE_DOES_NOT_EXIST",
                "mlflow server answers an empty history for a run that does not exist"),
    'runs/log-parameter {"run_id": "{run}", "key": "p", "value": "2"}': (
        *INVALID, "the message says params are write-once and what to do instead"),
    "model-versions/create source mlflow-artifacts://host:9000/models/../../../": (
        *INVALID, "mlflow's message ends with a setting of mlflow server's own"),
    'experiments/search {"view_type": "BOGUS", "max_results": 10}': (
        *INVALID, "mlflow server reads a view type it does not know as none"),
    'experiments/search {"view_type": 7, "max_results": 10}': (
        *INVALID, "mlflow server's message speaks of max_results"),
    "model-versions/create source models:/{model}/1/../../x": (
        *INVALID, "refused for its '..' rather than for naming no logged model"),
}


def send(client: Client, request: dict, names: dict):
    path = fill(request["path"], names)
    if request["method"] == "GET":
        return client.get(path, fill(request.get("query") or {}, names))
    body = fill(request.get("body"), names)
    if isinstance(body, str):
        return client.generic(request["method"], path, body.encode(),
                              content_type="application/octet-stream")
    return client.generic(request["method"], path, json.dumps(body),
                          content_type="application/json")


@pytest.fixture
def server(db):
    """A client with the owner's token, and the names of the fixtures the setup made."""
    user = get_user_model().objects.create_user(username="parity")
    _, token = token_services.create_token(user=user, name="parity")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    names = {"experiment_name": "parity-fixture", "model": "parity-model-fixture"}
    for step in RECORDED["setup"]:
        response = send(client, step, names)
        assert response.status_code == 200, (step, response.content)
        for name, dotted in step["captures"].items():
            data = response.json()
            for part in dotted.split("."):
                data = data[part]
            names[name] = str(data)
    return client, names


def test_the_recording_covers_the_calls_of_the_issue():
    assert RECORDED["mlflow_version"].startswith("3.17")
    assert len(CASES) == len(RECORDED["cases"]) >= 150
    assert CASES['runs/update {"status": "FINISHED", "run_id": 31}']["mlflow"]["status"] == 400
    assert set(DIFFERENCES) <= set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_targetline_answers_as_mlflow_server(server, name):
    client, names = server
    case = CASES[name]
    response = send(client, case, names)
    answer = response.json() if response.get("Content-Type") == "application/json" else {}
    got = (response.status_code, answer.get("error_code"))
    mlflow = case["mlflow"]
    if name in DIFFERENCES:
        assert got == DIFFERENCES[name][:2], answer
        return
    if mlflow["status"] >= 500:  # MLflow's own failure: bad input is a 400 here
        assert got == INVALID, answer
        return
    assert got == (mlflow["status"], mlflow["error_code"]), answer
    if mlflow["status"] >= 400 and mlflow["message"] is not None:
        assert answer["message"] == fill(mlflow["message"], names)


def test_the_client_fetches_a_whole_run_with_artifact_path_dot(alice, tmp_path):
    """download_artifacts(run_id=R, artifact_path=".") is how the client fetches every file of
    a run: `.` is fine, as in mlflow server; only `..` is refused."""
    run_id = alice.create_run(alice.create_experiment("dot")).info.run_id
    (tmp_path / "notes.txt").write_text("kept")
    alice.log_artifact(run_id, str(tmp_path / "notes.txt"), "sub")
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=".",
                                                dst_path=str(tmp_path / "out"))
    assert (Path(local) / "sub" / "notes.txt").read_text() == "kept"
    with pytest.raises(MlflowException, match="Failed to download"):  # the server's 400
        mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="../sub",
                                            dst_path=str(tmp_path / "up"))
