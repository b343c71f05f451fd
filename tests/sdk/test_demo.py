"""The demo training script that `make run` runs once: a real project a newcomer can open,
its winner deployed and followed in production."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.sdk.live import ROOT


def test_the_demo_fills_a_project_with_a_target_a_baseline_and_a_winner(sdk_env, api, slug):
    env = {**os.environ, **sdk_env, "TARGETLINE_DEMO_PROJECT": slug,
           "TARGETLINE_FLUSH_INTERVAL": "1"}
    done = subprocess.run([sys.executable, str(ROOT / "sdk/examples/demo.py")], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "still spooled" not in done.stderr

    project = api.project(slug)
    assert project["target"]["metric"] == "f1" and project["target"]["threshold"] == 0.97
    assert project["guardrails"] == [{"metric": "latency_ms", "split": "test", "op": "<=",
                                      "value": 10.0}]
    members = {m["username"]: m["role"] for m in api.members(slug)}
    assert members["admin"] == "owner"  # so whoever logs in to the quick start sees it
    experiments = {e["name"]: e for e in api.experiments(slug)}
    assert set(experiments) == {"majority-class", "logistic-regression", "sgd-logistic",
                                "svm-rbf", "random-forest"}
    assert all(e["hypothesis"] for e in experiments.values())

    runs = api.runs(slug)
    assert len(runs) == 12 and all(r["status"] == "finished" for r in runs)
    assert [r["name"] for r in runs if r["baseline"]] == ["most-frequent"]
    forests = api.runs(slug, filter='params.model = "random_forest"')
    assert len(forests) == 5 and len({str(sorted(r["params"].items())) for r in forests}) == 5
    for run in runs:
        series = {(m["split"], m["key"]) for m in run["metrics"]}
        assert {("validation", "f1"), ("test", "f1"), ("test", "latency_ms"),
                ("test/confusable_digits", "f1"), ("test/faint_strokes", "f1")} <= series
        assert [a["path"] for a in api.artifacts(run["id"])] == ["model.pkl"]
    sgd, = api.runs(slug, filter='experiment = "sgd-logistic"')
    assert len(api.history(sgd["id"], "loss", split="validation")) == 40
    assert len(api.history(sgd["id"], "f1", split="train")) == 40
    # its test set is evaluated on the best epoch's model, and logged at that epoch
    best_epoch = int(sgd["params"]["best_epoch"])
    assert [p["step"] for p in api.history(sgd["id"], "f1", split="test")] == [best_epoch]

    standing = api.winner(slug)
    assert standing["winner"] is not None and standing["baseline"]["name"] == "most-frequent"
    assert standing["lift"] > 0.5
    assert standing["sentence"] in done.stdout
    assert all(api.run_profile(run["id"])["profile"]["count"] == 1078 for run in runs)
    _check_production(api, slug, standing["winner"], done.stdout)


def _check_production(api, slug, winner, stdout):
    """The winner deployed, eight weeks of live results and profiles in which the ink fades
    and the live F1 slips below the bar, and one A/B test."""
    deployment, = api.deployments(slug, environment="production", live=True)
    assert deployment["run"] == winner["id"]
    results = api.live_results(deployment["id"])
    assert len(results) == 8 and all(r["labelled"] == 400 for r in results)
    assert results[0]["metrics"]["f1"] >= 0.97 > results[-1]["metrics"]["f1"]
    assert len(api.live_profiles(deployment["id"])) == 8
    drift = api.drift(deployment["id"])
    first, last = ({d["feature"]: d["band"] for d in week["features"]}
                   for week in (drift[0], drift[-1]))
    assert first == {"ink": "stable", "stroke_width": "stable", "sorting_centre": "stable"}
    assert last == {"ink": "significant", "stroke_width": "stable",
                    "sorting_centre": "stable"}
    impact, = api.impact(slug)
    assert (impact["kind"], impact["verdict"]) == ("ab_test", "improvement")
    assert impact["sentence"] in stdout

    answer = api.production(slug)
    assert (answer["status"], answer["retrain"]) == ("below the bar", True)
    assert answer["sentence"] in stdout
    assert answer["sentence"].startswith("Live since ")
    assert ("on 400 checked digits last week the model scored" in answer["sentence"]
            and answer["sentence"].endswith("One input has shifted markedly since training: "
                                            "ink. Retraining is recommended."))
