"""The production answer and business results with the SDK, against a live server: a
deployed winner's live results above then below the bar, and an A/B test and a backtest
recorded and read back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import targetline as tl

TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85}
WEEK = timedelta(days=7)


def _winner(api, slug):
    api.create_project(slug, target=TARGET)
    with tl.init(project=slug, experiment="tfidf-logreg", name="lr-c1") as run:
        run.log({"f1": 0.88}, split="validation")
        run.log({"f1": 0.87}, split="test")
    return run


def test_the_production_answer_follows_the_live_results(sdk_env, api, slug):
    run = _winner(api, slug)
    nothing = api.production(slug)
    assert (nothing["status"], nothing["deployment"], nothing["threshold"]) == (
        "no results", None, 0.85)

    start = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    deployment = api.deploy(slug, run.id, started_at=start)
    first = datetime(2026, 11, 2, tzinfo=UTC)
    api.log_live(slug, {"f1": 0.88}, window_start=first, window_end=first + WEEK, count=1240,
                 labelled=310)
    holding = api.production(slug)
    assert (holding["status"], holding["retrain"]) == ("holding", False)
    assert holding["deployment"]["id"] == deployment["id"]
    assert holding["test"] == {"value": 0.87, "split": "test"}

    api.log_live(slug, {"f1": 0.83}, window_start=first + WEEK, window_end=first + 2 * WEEK,
                 count=1240, labelled=310)
    below = api.production(slug)
    assert (below["status"], below["retrain"]) == ("below the bar", True)
    assert (below["live"]["value"], below["live"]["labelled"], below["live"]["count"]) == (
        0.83, 310, 1240)
    assert "on 310 checked cases" in below["sentence"]
    assert "below the agreed 85 (it scored 87 on the test set)" in below["sentence"]
    assert below["sentence"].endswith("Retraining is recommended.")
    assert [w["value"] for w in below["windows"]] == [0.88, 0.83]
    assert api.production(slug, environment="shadow")["deployment"] is None


def test_business_results_are_recorded_and_listed(sdk_env, api, slug):
    run = _winner(api, slug)
    deployment = api.deploy(slug, run.id, started_at=datetime(2026, 11, 2, tzinfo=UTC))
    ab = api.record_impact(
        slug, kind="ab_test", metric="first-contact resolution", direction="maximize",
        control={"successes": 3550, "n": 5000}, treatment={"successes": 5624, "n": 7400},
        started_at=date(2026, 11, 2), ended_at=date(2026, 11, 17),
        deployment=deployment["id"], note="half the agents")
    assert (ab["run"], ab["verdict"], ab["note"]) == (run.id, "improvement", "half the agents")
    assert ab["sentence"].endswith(
        "(12,400 cases), first-contact resolution went from 71.0 % to 76.0 %: 5.0 points "
        "better (95 % interval: 3.4 to 6.6 points), a real improvement.")
    backtest = api.record_impact(
        slug, kind="backtest", metric="average handling time", direction="minimize",
        control={"mean": 12.4, "sd": 3.1, "n": 390}, treatment={"mean": 12.3, "sd": 3.0,
                                                                "n": 390},
        started_at="2026-10-01T00:00:00Z", ended_at="2026-11-01T00:00:00Z", run=run.id,
        unit="minutes")
    assert (backtest["deployment"], backtest["unit"], backtest["verdict"]) == (
        None, "minutes", "no difference")
    assert backtest["difference"]["method"] == "welch"
    assert backtest["sentence"].endswith(", but no difference was shown.")

    assert [r["id"] for r in api.impact(slug)] == [ab["id"], backtest["id"]]

    with pytest.raises(tl.ApiError) as bad:
        api.record_impact(slug, kind="ab_test", metric="churn", direction="minimize",
                          control={"successes": 3}, treatment={"successes": 2, "n": 10},
                          started_at=date(2026, 11, 2), ended_at=date(2026, 11, 9),
                          run=run.id)
    assert (bad.value.status, bad.value.field) == (400, "control.n")
    assert len(api.impact(slug)) == 2
