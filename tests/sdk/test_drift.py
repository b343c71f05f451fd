"""A run's reference profile and a deployment's live profiles with the SDK, against a live
server: the drift the server reads from them is the drift in the data."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import targetline as tl

WEEK = timedelta(days=7)


def _cases(rng: random.Random, n: int, ink_mean: float, new_scanner: float) -> pd.DataFrame:
    return pd.DataFrame({
        "ink": [rng.gauss(ink_mean, 1.0) for _ in range(n)],
        "strokes": [rng.randint(1, 4) for _ in range(n)],
        "scanner": [("S-200" if rng.random() < new_scanner else rng.choice(["A4", "B7"]))
                    for _ in range(n)]})


def test_a_shifted_input_reads_as_drift_and_a_steady_one_as_stable(sdk_env, api, slug):
    rng = random.Random(11)
    train = _cases(rng, 2000, ink_mean=5.0, new_scanner=0.0)
    with tl.init(project=slug, experiment="forest", name="forest-1") as run:
        run.log({"f1": 0.9}, split="validation")
        sent = run.log_profile(train, predictions=[str(i % 3) for i in range(2000)])
    assert sent["count"] == 2000 and len(sent["features"]["ink"]["edges"]) == 11
    assert api.run_profile(run.id)["profile"] == sent

    with pytest.raises(tl.ApiError) as nothing_live:
        api.log_live_profile(slug, train, window_start="2026-11-02", window_end="2026-11-09")
    assert (nothing_live.value.status, nothing_live.value.field) == (404, "deployment")
    deployment = api.deploy(slug, run.id, started_at="2026-11-02T00:00:00Z")
    assert api.reference(deployment["id"])["profile"] == sent

    start = datetime(2026, 11, 2, tzinfo=UTC)
    for week, (ink, new_scanner) in enumerate([(5.0, 0.0), (4.0, 0.5)]):
        window = _cases(rng, 500, ink_mean=ink, new_scanner=new_scanner)
        stored = api.log_live_profile(slug, window, window_start=start + week * WEEK,
                                      window_end=start + (week + 1) * WEEK,
                                      predictions=[str(i % 3) for i in range(500)])
        # the reference's edges; the new scanner under its own name (the reference has no
        # "other": it never saw more than its 2 scanners)
        assert stored["profile"]["features"]["ink"]["edges"] == sent["features"]["ink"]["edges"]
    assert set(stored["profile"]["features"]["scanner"]["counts"]) == {"A4", "B7", "S-200"}
    assert len(api.live_profiles(deployment["id"])) == 2

    drift = api.drift(deployment["id"])
    bands = [{d["feature"]: d["band"] for d in window["features"]} for window in drift]
    assert bands == [{"ink": "stable", "strokes": "stable", "scanner": "stable"},
                     {"ink": "significant", "strokes": "stable", "scanner": "significant"}]
    assert drift[1]["features"][0]["feature"] in ("ink", "scanner")  # most drifted first
    assert drift[1]["predictions"]["band"] == "stable"


def test_a_window_without_a_reference_profile_says_why(sdk_env, api, slug, capsys):
    with tl.init(project=slug, experiment="forest", name="forest-1") as run:
        run.log({"f1": 0.9}, split="validation")
    api.deploy(slug, run.id)
    with pytest.raises(tl.ApiError) as none:
        api.log_live_profile(slug, {"ink": [1.0, 2.0]}, window_start="2026-11-02",
                             window_end="2026-11-09")
    assert (none.value.status, none.value.field) == (404, "reference")
    assert "logged no reference profile" in none.value.message
