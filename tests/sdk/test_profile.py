"""The SDK's profiles of inputs, computed on the client: quantile bins for numbers, top
categories plus "other" for the rest, missing values left out; the same profile from the
standard library alone as with numpy and pandas, and one the server's rules accept."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from targetline import _profile

from tests.sdk.live import ROOT
from tracker import drift as drift_rules

PATHS = ["stdlib", "numpy"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    """Each test once on the standard-library path (numpy hidden) and once with numpy."""
    if request.param == "stdlib":
        monkeypatch.setattr(_profile, "_np", None)
    return request.param


def _numeric(values, bins=10, path="numpy"):
    column = np.array(values, dtype=float) if path == "numpy" else list(values)
    return _profile.profile({"x": column}, bins=bins)["features"]["x"]


def test_numbers_get_quantile_edges_and_equal_bins(path):
    feature = _numeric(range(100), path=path)
    assert feature == {"kind": "numeric", "missing": 0, "counts": [10] * 10, "edges": [
        0.0, 9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.1, 99.0]}


def test_equal_quantiles_are_merged_into_strictly_increasing_edges(path):
    # 12 values, 4 bins: quantiles 0, 0, 0.5, 3.25, 6 (interpolated), the two zeros merged.
    feature = _numeric([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6], bins=4, path=path)
    assert (feature["edges"], feature["counts"]) == ([0.0, 0.5, 3.25, 6.0], [6, 3, 3])


def test_a_column_of_few_values_gets_a_bin_per_value_and_a_constant_one_bin(path):
    assert _numeric([0, 1, 1, 0, 1], path=path)["edges"] == [0.0, 0.5, 1.0]
    assert _numeric([0, 1, 1, 0, 1], path=path)["counts"] == [2, 3]
    assert _numeric([5, 5, 5], path=path) == {"kind": "numeric", "edges": [5.0, 6.0],
                                               "counts": [3], "missing": 0}


def test_missing_values_are_counted_and_left_out_and_infinities_go_to_the_end_bins(path):
    values = [1.0, None, float("nan"), 2.0, 3.0, float("inf"), -float("inf")]
    data = ({"x": pd.array([1, None, None, 2, 3, 9, -9], dtype="Int64")} if path == "numpy"
            else {"x": values})
    feature = _profile.profile(data)["features"]["x"]
    if path == "numpy":
        assert feature == {"kind": "numeric", "edges": [-9.0, -4.0, 1.5, 2.5, 6.0, 9.0],
                           "counts": [1, 1, 1, 1, 1], "missing": 2}
    else:
        assert feature == {"kind": "numeric", "edges": [1.0, 1.5, 2.5, 3.0],
                           "counts": [2, 1, 2], "missing": 2}


def test_other_values_are_categories_the_rare_ones_under_other(path):
    column = ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d", None, ""]
    feature = _profile.profile({"x": column}, top=2)["features"]["x"]
    assert feature == {"kind": "categorical", "counts": {"a": 5, "b": 3, "other": 3},
                       "missing": 2}
    flags = _profile.profile({"ok": np.array([True, False, True])})["features"]["ok"]
    assert flags["counts"] == {"True": 2, "False": 1}


def test_every_input_shape_gives_the_same_profile(path):
    rows = [{"ink": 3.5, "scanner": "north"}, {"ink": 1.0, "scanner": "south"},
            {"ink": 2.0, "scanner": "north"}]
    names = ["ink", "scanner"]
    expected = _profile.profile(rows, predictions=[3, 5, 3])
    assert expected == {"count": 3, "features": {
        "ink": {"kind": "numeric", "edges": [1.0, 1.5, 2.75, 3.5], "counts": [1, 1, 1],
                "missing": 0},
        "scanner": {"kind": "categorical", "counts": {"north": 2, "south": 1}, "missing": 0},
        "prediction": {"kind": "categorical", "counts": {"3": 2, "5": 1}, "missing": 0}}}
    as_rows = [[r["ink"], r["scanner"]] for r in rows]
    shapes = [{n: [r[n] for r in rows] for n in names}, (as_rows, names),
              pd.DataFrame(rows), (np.array(as_rows, dtype=object), names)]
    for shape in shapes:
        data, feature_names = shape if isinstance(shape, tuple) else (shape, None)
        got = _profile.profile(data, feature_names=feature_names,
                               predictions=np.array([3, 5, 3]))
        assert got == expected, type(data)


def test_the_standard_library_and_numpy_agree_on_messy_data(monkeypatch):
    rng = random.Random(7)
    ink = [rng.gauss(5, 2) for _ in range(2000)] + [0.0] * 500 + [math.nan] * 30
    rng.shuffle(ink)
    grade = [rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(len(ink))]
    frame = pd.DataFrame({"ink": ink, "grade": grade, "size": [len(g) for g in grade]})
    with_numpy = _profile.profile(frame, bins=12, top=5)
    monkeypatch.setattr(_profile, "_np", None)
    rows = frame.to_dict("records")
    assert _profile.profile(rows, bins=12, top=5) == with_numpy
    assert with_numpy["features"]["ink"]["missing"] == 30
    assert drift_rules.profile_errors(with_numpy) == []


def test_the_profile_module_imports_and_works_without_numpy():
    script = ("import sys; sys.modules['numpy'] = None\n"
              "from targetline import _profile\n"
              "assert _profile._np is None\n"
              "print(_profile.profile({'x': [1, 2, 3, 4]}, bins=2)['features']['x'])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "sdk")}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("{'kind': 'numeric', 'edges': [1.0, 2.5, 4.0], "
                                   "'counts': [2, 2], 'missing': 0}")


REFERENCE = {"count": 10, "features": {
    "ink": {"kind": "numeric", "edges": [0.0, 10.0, 20.0], "counts": [5, 5], "missing": 0},
    "scanner": {"kind": "categorical", "counts": {"north": 6, "south": 3, "other": 1}},
    "centre": {"kind": "categorical", "counts": {"leeds": 5, "york": 5}},
    "prediction": {"kind": "categorical", "counts": {"3": 5, "5": 5}}}}


def test_a_live_window_is_binned_with_the_references_edges_and_categories(path):
    window = {"ink": [-5, 0, 10, 20, 25, None], "scanner": ["north", "east", "east", "south",
                                                            None, "north"],
              "centre": ["leeds", "hull", "hull", "leeds", "leeds", "leeds"],
              "weight": [1, 2, 3, 4, 5, 6]}
    live, absent = _profile.binned(window, REFERENCE, predictions=[3, 3, 3, 5, 7, 3])
    assert absent == []
    assert live == {"count": 6, "features": {
        # values beyond the edges count in the first or last bin
        "ink": {"kind": "numeric", "edges": [0.0, 10.0, 20.0], "counts": [2, 3], "missing": 1},
        # an unseen scanner ("east") goes under the reference's "other"
        "scanner": {"kind": "categorical", "counts": {"north": 2, "south": 1, "other": 2},
                    "missing": 1},
        # the reference has no "other": an unseen centre keeps its name (new drift to see)
        "centre": {"kind": "categorical", "counts": {"leeds": 4, "york": 0, "hull": 2},
                   "missing": 0},
        "prediction": {"kind": "categorical", "counts": {"3": 4, "5": 1, "7": 1},
                       "missing": 0}}}
    assert drift_rules.profile_errors(live, reference=REFERENCE) == []
    found = {d.feature: d.band for d in drift_rules.drift(REFERENCE, live)}
    assert found == {"centre": "significant", "ink": "stable", "scanner": "significant"}

    partial, absent = _profile.binned({"ink": [1.0]}, REFERENCE)
    assert (list(partial["features"]), absent) == (["ink"], ["scanner", "centre"])


@pytest.mark.parametrize(("call", "words"), [
    (lambda: _profile.profile(np.zeros((3, 2))), "pass feature_names=[...]"),
    (lambda: _profile.profile(np.zeros(3), feature_names=["a"]), "must be 2-D"),
    (lambda: _profile.profile({"a": [1, 2]}, predictions=[1]), "1 predictions for 2 rows"),
    (lambda: _profile.profile({"a": [None, None]}), "column 'a' has no values"),
    (lambda: _profile.profile({"a": [math.inf]}), "column 'a' has no finite value"),
    (lambda: _profile.profile({"a": [1], "b": [1, 2]}), "the columns differ in length"),
    (lambda: _profile.profile(pd.DataFrame({"a": [1]}), feature_names=["b"]),
     "no column 'b' in the data"),
    (lambda: _profile.profile({"a": [1]}, bins=0), "bins must be a positive whole number"),
    (lambda: _profile.binned({"ink": ["dark"]}, REFERENCE),
     "column 'ink' is numeric in the reference profile, but holds 'dark'"),
])
def test_what_cannot_be_profiled_is_refused_naming_it(call, words):
    with pytest.raises(ValueError) as refused:
        call()
    assert words in str(refused.value)
