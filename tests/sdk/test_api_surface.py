"""The SDK's whole public surface against a live server, as a training script uses it."""

from __future__ import annotations

import math
import pickle
import subprocess
import warnings
from datetime import datetime
from pathlib import Path

import pytest
import targetline as tl
from targetline._context import git_state

from tests.sdk.conftest import run_cli, series

TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85}
GUARDRAILS = [{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}]


def test_a_project_with_runs_from_baseline_to_winner(sdk_env, api, slug, tmp_path, capsys):
    project = api.create_project(slug, name="News topics", target=TARGET,
                                 guardrails=GUARDRAILS)
    assert project["target"]["metric"] == "f1"
    assert project["guardrails"][0]["metric"] == "latency_ms"

    baseline = tl.init(project=slug, experiment="majority-class", name="baseline",
                       params={"strategy": "most_frequent"}, baseline=True,
                       notes="the status quo")
    baseline.log({"f1": 0.40}, split="validation")
    baseline.log({"f1": 0.41, "latency_ms": 0.1}, split="test")
    baseline.finish()

    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with tl.init(project=slug, experiment="tfidf-logreg", name="lr-c1",
                 params={"C": 1.0, "optimizer": {"lr": 0.1}}, tags={"stage": "dev"}) as run:
        for step in range(5):
            run.log({"loss": 1.0 / (step + 1)})
            run.log({"f1": 0.80 + step / 100, "accuracy": 0.9}, split="validation", step=step)
        run.log({"f1": 0.83, "latency_ms": 12.5}, split="test")
        run.log({"f1": 0.71}, split="test/long_texts")
        run.log_params({"max_iter": 200})
        run.set_tags({"stage": "candidate"})
        run.log_artifact(model, name="models/model.pkl")
        assert run.id and run.url.endswith(f"/{run.id}/")
    slow = tl.init(project=slug, experiment="svm", name="svm-slow")
    slow.log({"f1": 0.95}, split="validation")
    slow.log({"f1": 0.96, "latency_ms": 120}, split="test")
    slow.finish()

    assert series(api, run.id, "loss") == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert series(api, run.id, "f1", "validation") == [(s, 0.80 + s / 100) for s in range(5)]
    # logged without a step after training: at the run's last step
    assert series(api, run.id, "f1", "test/long_texts") == [(4, 0.71)]
    buckets = api.history(run.id, "loss", buckets=2)
    assert [(b["step_min"], b["step_max"], b["max"]) for b in buckets] == [(0, 2, 1.0),
                                                                          (3, 4, 0.25)]

    stored = api.run(run.id)
    assert stored["status"] == "finished"
    assert stored["name"] == "lr-c1" and stored["experiment"] == "tfidf-logreg"
    assert stored["params"] == {"C": 1.0, "optimizer.lr": 0.1, "max_iter": 200}
    assert stored["tags"] == {"stage": "candidate"}
    assert api.update_run(run.id, notes="C=1 looks best")["notes"] == "C=1 looks best"
    assert stored["baseline"] is False
    # Context captured without being asked.
    assert stored["host"] and stored["context"]["python"].count(".") == 2
    assert stored["context"]["command"] and "pid" in stored["context"]
    started = datetime.fromisoformat(stored["started_at"])
    ended = datetime.fromisoformat(stored["ended_at"])
    assert started <= ended

    assert [a["path"] for a in api.artifacts(run.id)] == ["models/model.pkl"]
    saved = api.download_artifact(run.id, "models/model.pkl", tmp_path / "copy.pkl")
    assert pickle.loads(Path(saved).read_bytes()) == {"weights": [1, 2, 3]}

    ranked = api.runs(slug, filter="validation.f1 > 0.8", order_by="-validation.f1")
    assert [r["name"] for r in ranked] == ["svm-slow", "lr-c1"]
    assert [r["name"] for r in api.runs(slug, filter="baseline = true")] == ["baseline"]

    winner = api.winner(slug)
    # The SVM is best on validation but breaks the latency guardrail.
    assert winner["winner"]["name"] == "lr-c1"
    assert winner["judged"]["value"] == pytest.approx(0.83)
    assert winner["baseline"]["name"] == "baseline"
    assert winner["lift"] == pytest.approx(0.42)
    assert "85" in winner["sentence"]
    assert [r["name"] for r in api.leaderboard(slug)][:1] == ["svm-slow"]

    err = capsys.readouterr().err
    assert f"run lr-c1 finished; all 18 points sent. {run.url}" in err


def test_init_on_a_missing_project_creates_it_without_a_target(sdk_env, api, slug, capsys):
    run = tl.init(project=slug, experiment="first-try")
    run.log({"loss": 0.5})
    run.finish()
    lines = [line for line in capsys.readouterr().err.splitlines() if "created project" in line]
    assert len(lines) == 1
    assert f"created project '{slug}'" in lines[0] and "no target yet" in lines[0]
    assert "set_target" in lines[0]
    assert api.project(slug)["target"] is None
    assert api.winner(slug)["winner"] is None
    target = api.set_target(slug, TARGET)
    assert target["metric"] == "f1"


def test_a_search_warns_of_names_no_run_has_and_reads_params_as_numbers(sdk_env, api, slug):
    api.create_project(slug)
    with tl.init(project=slug, experiment="sweep", name="lr",
                 params={"alpha": 0.01, "epochs": 30}) as run:
        run.log({"f1": 0.8}, split="validation")

    with pytest.warns(tl.FilterWarning,
                      match=r"logged F1 on validation; did you mean validation\.f1\?"):
        assert api.runs(slug, filter="validation.F1 > 0.5") == []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: every name is known
        found = api.runs(slug, filter='params.epochs = "30" and params.alpha = "1e-2"')
    assert [r["name"] for r in found] == ["lr"]


def test_steps_count_up_per_metric_and_split_when_omitted(sdk_env, api, slug):
    with tl.init(project=slug, experiment="steps") as run:
        for _ in range(3):
            run.log({"loss": 1.0})
        run.log({"loss": 2.0}, split="validation")
        run.log({"loss": 2.0}, split="validation")
        run.log({"acc": 0.5}, step=10)
        run.log({"acc": 0.6})
        run.log({"loss": 3.0}, step=7)
        run.log({"loss": 3.0})
    assert [s for s, _ in series(api, run.id, "loss")] == [0, 1, 2, 7, 8]
    assert [s for s, _ in series(api, run.id, "loss", "validation")] == [0, 1]
    assert [s for s, _ in series(api, run.id, "acc")] == [10, 11]


def test_a_test_result_logged_without_a_step_goes_to_the_runs_last_step(sdk_env, api, slug):
    api.create_project(slug, target=TARGET)
    with tl.init(project=slug, experiment="eval-at-end") as run:
        for epoch in range(5):
            run.log({"loss": 1.0 / (epoch + 1)})
            run.log({"f1": 0.8}, split="validation", step=epoch)  # a tie: best at step 0
        run.log({"f1": 0.77, "latency_ms": 12.0}, split="test")
        run.log({"f1": 0.7}, split="test/long_texts")
    assert series(api, run.id, "f1", "test") == [(4, 0.77)]
    assert series(api, run.id, "latency_ms", "test") == [(4, 12.0)]
    assert series(api, run.id, "f1", "test/long_texts") == [(4, 0.7)]
    assert [s for s, _ in series(api, run.id, "loss")] == [0, 1, 2, 3, 4]
    summaries = {(m["split"], m["key"]): m for m in api.run(run.id)["metrics"]}
    assert summaries["test", "f1"]["at_best_step"] == 0.77
    assert summaries["test", "f1"]["best_step"] == 4
    assert summaries["train", "loss"]["at_best_step"] == 1.0  # at step 0, where f1 peaked


def test_points_logged_twice_at_one_step_are_all_kept(sdk_env, api, slug):
    with tl.init(project=slug, experiment="same-step") as run:
        for value in (0.1, 0.2, 0.3):
            run.log({"loss": value}, step=0)  # within one millisecond, most likely
        for step, value in ((5, 1.0), (3, 2.0), (5, 3.0), (3, 4.0), (4, 5.0)):
            run.log({"acc": value}, step=step)
    assert sorted(v for _, v in series(api, run.id, "loss")) == [0.1, 0.2, 0.3]
    assert sorted(series(api, run.id, "acc")) == [(3, 2.0), (3, 4.0), (4, 5.0), (5, 1.0),
                                                  (5, 3.0)]


def test_nan_and_infinity_round_trip(sdk_env, api, slug):
    with tl.init(project=slug, experiment="nan") as run:
        run.log({"loss": float("nan")})
        run.log({"loss": float("inf")})
        run.log({"loss": -math.inf})
    values = [v for _, v in series(api, run.id, "loss")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_numpy_numbers_are_logged(sdk_env, api, slug):
    numpy = pytest.importorskip("numpy")
    with tl.init(project=slug, experiment="numpy", params={"layers": numpy.int64(3)}) as run:
        run.log({"loss": numpy.float32(0.5), "count": numpy.int64(7)}, step=numpy.int64(2))
    assert series(api, run.id, "loss") == [(2, 0.5)]
    assert api.run(run.id)["params"] == {"layers": 3}


@pytest.mark.parametrize("call, message", [
    (lambda r: r.log({"loss": "0.3"}), "must be a number"),
    (lambda r: r.log({"loss": None}), "must be a number"),
    (lambda r: r.log({"loss": True}), "must be a number"),
    (lambda r: r.log({"loss": [1, 2]}), "must be a number"),
    (lambda r: r.log({"f1": 0.8}, split="valid"), "is not a split"),
    (lambda r: r.log({"f1": 0.8}, split="test/long texts"), "is not a split"),
    (lambda r: r.log({"k" * 251: 0.8}), "the limit is 250"),
    (lambda r: r.log({"loss%": 0.8}), "may only contain"),
    (lambda r: r.log({"": 0.8}), "non-empty"),
    (lambda r: r.log({"loss": 0.8}, step=1.5), "step must be an integer"),
    (lambda r: r.log({"loss": 0.8}, step="3"), "step must be an integer"),
    (lambda r: r.log([("loss", 0.8)]), "takes a dict"),
    (lambda r: r.log({"ok": 0.1, "bad": "x"}), "must be a number"),
    (lambda r: r.log_params({"lr": object()}), "must be a string, number"),
    (lambda r: r.set_tags({"stage": object()}), "must be a string"),
    (lambda r: r.log_artifact("/no/such/file"), "is not a file"),
    (lambda r: r.finish(status="done"), "status must be one of"),
])
def test_bad_input_raises_value_error_before_anything_is_queued(sdk_env, slug, call, message):
    run = tl.init(project=slug, experiment="bad-input")
    run.log({"ok": 0.5})
    segment = run.dir / f"{run._seg_seq:010d}.jsonl.open"
    before = segment.read_bytes()
    with pytest.raises(ValueError, match=message):
        call(run)
    assert segment.read_bytes() == before
    assert run._logged == 1
    run.finish()


def test_params_are_write_once(sdk_env, slug):
    with tl.init(project=slug, experiment="params", params={"lr": 0.1}) as run:
        run.log_params({"lr": 0.1, "seed": 1})  # the same value again is fine
        with pytest.raises(ValueError, match="write-once"):
            run.log_params({"lr": 0.2})


@pytest.mark.parametrize("kwargs, message", [
    ({"project": "News Topics"}, "must be a slug"),
    ({"project": "ok", "experiment": ""}, "experiment name must be a non-empty"),
    ({"project": "ok", "baseline": "yes"}, "baseline must be True or False"),
    ({"project": "ok", "params": {"a" * 300: 1}}, "the limit is 250"),
])
def test_bad_init_arguments_raise_value_error(sdk_env, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tl.init(**kwargs)


def test_init_without_url_or_token_says_what_to_set(monkeypatch):
    monkeypatch.delenv("TARGETLINE_URL", raising=False)
    monkeypatch.delenv("TARGETLINE_TOKEN", raising=False)
    with pytest.raises(ValueError, match="TARGETLINE_URL"):
        tl.init(project="x")
    with pytest.raises(ValueError, match="TARGETLINE_TOKEN"):
        tl.init(project="x", url="http://127.0.0.1:1")


def test_a_bad_token_or_a_viewer_role_stops_init(sdk_env, live, api, slug, spool_dir):
    with pytest.raises(tl.ApiError) as bad_token:
        tl.init(project=slug, token="tl_not-a-token")
    assert bad_token.value.status == 401
    api.create_project(slug)
    api.add_member(slug, "viv", role="viewer")
    with pytest.raises(tl.ApiError) as viewer:
        tl.init(project=slug, token=live.tokens["viv"])
    assert viewer.value.status == 403
    assert "only owners and members" in str(viewer.value)
    assert not list((spool_dir / "spool").iterdir())  # nothing left behind


def test_the_context_manager_marks_a_crashed_run_failed(sdk_env, api, slug):
    with pytest.raises(ZeroDivisionError), tl.init(project=slug, experiment="crash") as run:
        run.log({"loss": 0.5})
        1 / 0  # noqa: B018
    assert api.run(run.id)["status"] == "failed"
    assert series(api, run.id, "loss") == [(0, 0.5)]


def test_logging_after_finish_is_an_error(sdk_env, slug):
    run = tl.init(project=slug, experiment="late")
    run.finish()
    run.finish()  # twice is fine
    with pytest.raises(RuntimeError, match="finished"):
        run.log({"loss": 1.0})


def test_a_refused_batch_is_reported_once_and_kept(sdk_env, api, slug, capsys):
    run = tl.init(project=slug, experiment="conflict", params={"lr": 0.1})
    # Someone else wrote params this run will contradict: the server answers 409.
    api._transport.call("POST", f"/api/v1/runs/{run.id}/log-batch",
                        {"params": {"seed": 1, "depth": 3}})
    run.log_params({"seed": 2})
    run.log({"loss": 0.5})
    run.log_params({"depth": 4})
    run.log({"loss": 0.4})
    run.finish()
    err = capsys.readouterr().err
    refusals = [line for line in err.splitlines() if "HTTP 409" in line]
    assert len(refusals) == 1, err
    assert "HTTP 409" in refusals[0] and "seed" in refusals[0]
    rejected = sorted((run.dir / "rejected").glob("*.jsonl"))
    assert len(rejected) == 2
    assert "depth" in rejected[1].with_suffix(".error").read_text()
    # The points around the refused batches all arrived.
    assert series(api, run.id, "loss") == [(0, 0.5), (1, 0.4)]
    status = run_cli("status", env={"TARGETLINE_DIR": sdk_env["TARGETLINE_DIR"]})
    assert "2 batches refused by the server, kept for inspection" in status.stdout
    assert "Nothing waiting to be sent." in status.stdout


def test_git_commit_and_dirty_flag_are_recorded(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "train.py").write_text("print('hi')\n")
    git("add", "train.py")
    git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "first")
    clean = git_state(str(tmp_path))
    assert len(clean["git_commit"]) == 40 and clean["git_dirty"] is False
    (tmp_path / "train.py").write_text("print('changed')\n")
    assert git_state(str(tmp_path))["git_dirty"] is True
    assert git_state(str(tmp_path.parent / "not-a-repo-at-all")) == {}
