"""Deploying a run and logging its live results with the SDK, against a live server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import targetline as tl

TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85}


def test_a_deployed_run_gets_its_live_results_per_window(sdk_env, api, slug):
    api.create_project(slug, target=TARGET)
    with tl.init(project=slug, experiment="tfidf-logreg", name="lr-c1") as run:
        run.log({"f1": 0.88}, split="validation")
        run.log({"f1": 0.87}, split="test")
    with pytest.raises(tl.ApiError) as nothing_live:
        api.log_live(slug, {"f1": 0.83}, window_start="2026-11-02T00:00:00Z",
                     window_end="2026-11-09T00:00:00Z", count=1240, labelled=310)
    assert (nothing_live.value.status, nothing_live.value.field) == (404, "deployment")

    start = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    deployment = api.deploy(slug, run.id, started_at=start, note="after the review")
    assert (deployment["environment"], deployment["run"], deployment["live"]) == (
        "production", run.id, True)
    assert deployment["started_at"] == "2026-11-03T09:00:00+00:00"

    week = datetime(2026, 11, 2)  # naive: taken as UTC
    first = api.log_live(slug, {"f1": 0.83}, window_start=week,
                         window_end=week + timedelta(days=7), count=1240, labelled=310,
                         slices={"long_texts": {"f1": 0.71}})
    assert (first["metrics"], first["slices"]) == ({"f1": 0.83}, {"long_texts": {"f1": 0.71}})
    # The same window again replaces it: a script re-run after a correction adds nothing.
    api.log_live(slug, {"f1": 0.82}, window_start=week, window_end=week + timedelta(days=7),
                 count=1240, labelled=320)
    results = api.live_results(deployment["id"])
    assert [(r["window_start"], r["metrics"], r["labelled"]) for r in results] == [
        ("2026-11-02T00:00:00+00:00", {"f1": 0.82}, 320)]

    with pytest.raises(tl.ApiError) as bad:
        api.log_live(slug, {"f1": 0.8}, window_start=week, window_end=week, count=10,
                     labelled=5)
    assert (bad.value.status, bad.value.field) == (400, "window_end")

    ended = api.end_deployment(deployment["id"], ended_at=start + timedelta(days=30))
    assert ended["live"] is False
    assert api.deployments(slug, live=True) == []
    assert [d["id"] for d in api.deployments(slug, environment="production")] == [
        deployment["id"]]
