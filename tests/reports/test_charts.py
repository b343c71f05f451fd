"""The report's figures, read as plotly figure dicts: axes, markers and labels."""

from datetime import UTC, datetime, timedelta

from reports import charts

END = datetime(2026, 12, 7, 18, 44, 30, tzinfo=UTC)
START = END - timedelta(days=7)
T0 = datetime(2026, 12, 7, 18, 43, 56, tzinfo=UTC)
COMMON = {"threshold": 0.85, "scale": 100.0, "label": "F1 score", "unit": "out of 100",
          "bounds": (0.0, 1.0)}


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


def _new_project_runs() -> list[dict]:
    """A new project: a baseline at 0 and two runs, all ended within 6 seconds."""
    return [
        {"run_id": "a", "name": "majority", "experiment": "majority class",
         "ended_at": _at(0), "value": 0.0, "baseline": True, "passes_guardrails": True},
        {"run_id": "b", "name": "logreg", "experiment": "tf-idf", "ended_at": _at(3),
         "value": 0.8394, "baseline": False, "passes_guardrails": True},
        {"run_id": "c", "name": "svm", "experiment": "svm", "ended_at": _at(6),
         "value": 0.81, "baseline": False, "passes_guardrails": True},
    ]


def _notes(figure: dict) -> list[str]:
    return [a["text"] for a in figure["layout"]["annotations"]]


def _markers(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if "markers" in t.get("mode", "")]


def test_runs_of_a_new_project_are_drawn_in_order_named_and_fitted_to_the_bar():
    figure = charts.runs_figure(runs=_new_project_runs(), baseline=0.0, winner_id="b",
                                selected_split="validation", period_start=START,
                                period_end=END, **COMMON)
    x_axis, y_axis = figure["layout"]["xaxis"], figure["layout"]["yaxis"]
    assert x_axis["ticktext"] == ["majority", "logreg", "svm"]
    assert x_axis["title"]["text"] == "runs in the order they ended (all within 6 seconds)"
    low, high = y_axis["range"]
    assert 60 < low < 81 and 85 < high < 95  # not 0-100 because the baseline sits at 0
    assert "▼ Baseline: 0 (below this chart)" in _notes(figure)
    drawn = {t["name"]: t for t in figure["data"]}
    assert "Baseline run" not in drawn  # off the scale: named, not drawn at the edge
    assert drawn["tf-idf"]["x"] == [2] and drawn["svm"]["x"] == [3]
    assert all(t["cliponaxis"] is False for t in _markers(figure))


def test_runs_spread_over_the_period_keep_a_time_axis():
    runs = _new_project_runs()
    for i, run in enumerate(runs):
        run["ended_at"] = (START + timedelta(days=2 * i + 1)).isoformat()
    figure = charts.runs_figure(runs=runs, baseline=0.7, winner_id="b",
                                selected_split="validation", period_start=START,
                                period_end=END, **COMMON)
    x_axis = figure["layout"]["xaxis"]
    assert x_axis["type"] == "date" and x_axis["tickformat"] == "%-d %b"
    assert x_axis["range"][0] <= START.isoformat() and x_axis["range"][1] >= END.isoformat()


def test_runs_near_the_top_of_the_scale_stop_at_100_and_show_whole():
    runs = _new_project_runs()[1:]
    runs[0]["value"], runs[1]["value"] = 1.0, 0.98
    figure = charts.runs_figure(runs=runs, baseline=None, winner_id="b",
                                selected_split="validation", period_start=START,
                                period_end=END, **COMMON)
    assert figure["layout"]["yaxis"]["range"][1] == 100.0
    assert all(t["cliponaxis"] is False for t in _markers(figure))


def _progress(points: list[dict], **extra) -> dict:
    return charts.progress_figure(points=points, judged_split="test",
                                  selected_split="validation", period_start=START,
                                  period_end=extra.pop("period_end", END), checkins=[],
                                  **COMMON, **extra)


def test_progress_of_a_new_project_is_drawn_change_by_change():
    figure = _progress([
        {"at": _at(0), "run_name": "majority", "baseline": True, "selection_value": 0.0,
         "judged_value": 0.0},
        {"at": _at(3), "run_name": "logreg", "baseline": False, "selection_value": 0.8394,
         "judged_value": 0.83}], period_end=T0 + timedelta(seconds=20))
    x_axis = figure["layout"]["xaxis"]
    assert x_axis["ticktext"] == ["majority", "logreg"]
    assert x_axis["title"]["text"] == (
        "each time the best model changed, in order (all within 3 seconds)")
    low, high = figure["layout"]["yaxis"]["range"]
    assert 60 < low < 83 and 85 < high < 95
    assert "▼ Baseline: 0 (below this chart)" in _notes(figure)
    judged = _markers(figure)
    assert judged and judged[0]["y"] == [83.0] and judged[0]["cliponaxis"] is False


def test_progress_over_weeks_keeps_its_time_axis_and_period():
    figure = _progress([
        {"at": (START - timedelta(days=10)).isoformat(), "run_name": "a", "baseline": False,
         "selection_value": 0.7, "judged_value": 0.69},
        {"at": (START + timedelta(days=3)).isoformat(), "run_name": "b", "baseline": False,
         "selection_value": 0.88, "judged_value": 0.86}])
    x_axis = figure["layout"]["xaxis"]
    assert x_axis["type"] == "date" and "ticktext" not in x_axis
    assert x_axis["range"][0] < (START - timedelta(days=10)).isoformat()
    assert " this period" in _notes(figure)
    low, high = figure["layout"]["yaxis"]["range"]
    assert 60 < low < 69 and 88 < high < 100


def test_a_bar_at_zero_is_labelled_beside_it():
    figure = charts.experiments_figure(
        experiments=[{"name": "majority class", "best_value": 0.0},
                     {"name": "tf-idf", "best_value": 0.8394}],
        baseline=0.0, selected_split="validation", **COMMON)
    bars = figure["data"][0]
    assert bars["text"] == ["83.9", "0"] and bars["textposition"] == ["inside", "outside"]
    assert figure["layout"]["xaxis"]["range"][0] == 0.0
