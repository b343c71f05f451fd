"""Artifacts through MLflow's artifact proxy, stored as the run's Targetline artifacts."""

import hashlib
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow.exceptions import MlflowException
from rest_framework.test import APIClient

from tracker.models import Artifact


def test_log_list_and_download_artifacts(alice, tmp_path):
    (tmp_path / "report.txt").write_text("accuracy 0.91\n")
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "roc.csv").write_text("fpr,tpr\n0,0\n1,1\n")
    (plots / "pr.bin").write_bytes(bytes(range(256)) * 64)
    mlflow.set_experiment("artifacts")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "report.txt"))
        mlflow.log_artifacts(str(plots), artifact_path="plots")
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_dict({"C": 1.0}, "config.json")
    run_id = run.info.run_id

    client = mlflow.MlflowClient()
    root = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in root] == [
        ("config.json", False), ("notes", True), ("plots", True), ("report.txt", False)]
    assert [f.file_size for f in root if f.path == "report.txt"] == [14]
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "plots")] == [
        ("plots/pr.bin", 16384), ("plots/roc.csv", 16)]
    assert client.list_artifacts(run_id, "report.txt") == []

    local = Path(client.download_artifacts(run_id, "report.txt", str(tmp_path)))
    assert local.read_text() == "accuracy 0.91\n"
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="plots",
                                                      dst_path=str(tmp_path / "dl")))
    assert (folder / "pr.bin").read_bytes() == bytes(range(256)) * 64
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"C": 1.0}

    # they are the run's Targetline artifacts, with size and checksum
    stored = Artifact.objects.get(run_id=run_id, path="plots/pr.bin")
    assert stored.size == 16384
    assert stored.sha256 == hashlib.sha256(bytes(range(256)) * 64).hexdigest()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.token}")
    listed = api.get(f"/api/v1/runs/{run_id}/artifacts/").json()["results"]
    assert {a["path"] for a in listed} == {"report.txt", "plots/roc.csv", "plots/pr.bin",
                                           "notes/hello.txt", "config.json"}


def test_the_run_artifact_listing_endpoint(live_server, alice):
    mlflow.set_experiment("artifact-list")
    with mlflow.start_run() as run:
        mlflow.log_text("x", "a/b.txt")
    response = requests.get(f"{live_server.url}/api/2.0/mlflow/artifacts/list",
                            params={"run_id": run.info.run_id, "path": "a"},
                            headers={"Authorization": f"Bearer {alice.token}"}, timeout=10)
    assert response.json()["files"] == [{"path": "a/b.txt", "is_dir": False, "file_size": 1}]
    assert response.json()["root_uri"].endswith(f"/{run.info.run_id}/artifacts")


def test_a_viewer_cannot_upload_and_an_outsider_cannot_read(shared_project, tracking, tmp_path):
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("art-roles", tags={"targetline.project": "news"})
    run_id = member.create_run(experiment_id).info.run_id
    (tmp_path / "model.txt").write_text("weights")
    member.log_artifact(run_id, str(tmp_path / "model.txt"))

    viewer = tracking(tokens["vera"])
    assert [f.path for f in viewer.list_artifacts(run_id)] == ["model.txt"]
    with pytest.raises(requests.HTTPError, match="PERMISSION_DENIED"):
        viewer.log_artifact(run_id, str(tmp_path / "model.txt"), "again")
    assert not Artifact.objects.filter(path="again/model.txt").exists()

    outsider = tracking(tokens["otto"])
    with pytest.raises(MlflowException):
        outsider.list_artifacts(run_id)


def test_unsafe_artifact_paths_are_refused(live_server, alice):
    run_id = alice.create_run(alice.create_experiment("unsafe")).info.run_id
    experiment_id = alice.get_run(run_id).info.experiment_id
    response = requests.get(
        f"{live_server.url}/api/2.0/mlflow-artifacts/artifacts",
        params={"path": f"{experiment_id}/{run_id}/artifacts/../../x"},
        headers={"Authorization": f"Bearer {alice.token}"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
