"""An unmodified MLflow tutorial script against Targetline; its runs then show with splits."""

import os
import subprocess
import sys
from pathlib import Path

from rest_framework.test import APIClient

SCRIPT = Path(__file__).with_name("tutorial_script.py")


def test_an_unmodified_mlflow_tutorial_script_runs_and_shows_in_targetline(
        live_server, make_token, tmp_path):
    token = make_token("tess")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=live_server.url, MLFLOW_TRACKING_TOKEN=token)
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "runs found: ['iris-sgd']" in done.stdout
    assert "artifacts: ['confusion_matrix.csv']" in done.stdout
    run_id = done.stdout.strip().splitlines()[-1].removeprefix("run id: ")

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    projects = api.get("/api/v1/projects/").json()["results"]
    assert [p["slug"] for p in projects] == ["mlflow-quickstart"]
    runs = api.get("/api/v1/projects/mlflow-quickstart/runs/").json()["results"]
    assert [(r["name"], r["status"], r["experiment"]) for r in runs] == [
        ("iris-sgd", "finished", "MLflow Quickstart")]
    assert runs[0]["id"].replace("-", "") == run_id
    series = {(m["split"], m["key"]): m["count"] for m in runs[0]["metrics"]}
    assert series == {("train", "loss"): 10, ("validation", "accuracy"): 10,
                      ("test", "accuracy"): 1}
    assert runs[0]["params"]["alpha"] == "0.001"
    history = api.get(f"/api/v1/runs/{runs[0]['id']}/history",
                      {"key": "accuracy", "split": "validation"}).json()["points"]
    assert [p["step"] for p in history] == list(range(10))
    filtered = api.get("/api/v1/projects/mlflow-quickstart/runs/",
                       {"filter": "validation.accuracy > 0.5 and test.accuracy >= 0"}).json()
    assert len(filtered["results"]) == 1
    artifacts = api.get(f"/api/v1/runs/{runs[0]['id']}/artifacts/").json()["results"]
    assert [a["path"] for a in artifacts] == ["confusion_matrix.csv"]
