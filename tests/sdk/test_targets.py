"""Setting a target and guardrails from a script: the server's refusal as a clear exception,
its warnings as a line on stderr."""

from __future__ import annotations

import pytest
import targetline as tl

TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85}


def test_an_f1_threshold_of_90_raises_with_the_fraction_it_meant(sdk_env, api, slug):
    api.create_project(slug, target=TARGET)

    with pytest.raises(tl.ApiError) as refused:
        api.set_target(slug, {**TARGET, "threshold": 90})

    assert (refused.value.status, refused.value.field) == (400, "target.threshold")
    assert str(refused.value) == ("HTTP 400: target.threshold: F1 score is between 0 and 1, "
                                  "not 90; did you mean 0.90?")
    assert api.project(slug)["target"]["threshold"] == 0.85


def test_a_project_created_with_a_percentage_bar_is_not_created(sdk_env, api, slug):
    with pytest.raises(tl.ApiError, match="did you mean 0.97"):
        api.create_project(slug, target={**TARGET, "metric": "accuracy", "threshold": 97})

    with pytest.raises(tl.ApiError) as missing:
        api.project(slug)
    assert missing.value.status == 404


def test_a_quality_guardrail_on_test_raises_and_a_cost_one_is_taken(sdk_env, api, slug):
    api.create_project(slug, target=TARGET)

    with pytest.raises(tl.ApiError) as refused:
        api.set_guardrails(slug, [{"metric": "recall", "split": "test", "op": ">=",
                                   "value": 0.9}])
    guardrails = api.set_guardrails(
        slug, [{"metric": "latency_p95_ms", "split": "test", "op": "<=", "value": 80}],
        cost_metrics=["latency_p95_ms"])

    assert refused.value.field == "guardrails[0].split"
    assert "put the guardrail on validation" in refused.value.message
    assert guardrails == [{"metric": "latency_p95_ms", "split": "test", "op": "<=",
                           "value": 80.0}]
    assert api.project(slug)["cost_metrics"] == ["latency_p95_ms"]


def test_a_target_on_a_metric_no_run_logged_says_so_on_stderr(sdk_env, api, slug, capsys):
    api.create_project(slug, target=TARGET)
    with tl.init(project=slug, experiment="e") as run:
        run.log({"accuracy": 0.8, "loss": 0.3}, split="validation")
    capsys.readouterr()

    target = api.set_target(slug, {**TARGET, "metric": "f1_macro"})

    assert target["metric"] == "f1_macro"
    assert capsys.readouterr().err.splitlines() == [
        "targetline: target.metric: No run has logged f1_macro on validation yet; runs log "
        "accuracy and loss."]
