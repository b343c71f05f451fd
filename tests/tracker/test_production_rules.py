"""Production status: every rule boundary and every sentence pinned literally, and the alert-once
rule."""

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tracker import drift as drift_rules
from tracker import production_rules
from tracker.drift import FeatureDrift
from tracker.production_rules import (
    BELOW_THE_BAR,
    HOLDING,
    MIN_LABELLED,
    NO_RESULTS,
    RECENT_WINDOWS,
    SLIPPING,
    Episodes,
    LiveWindow,
    alerts_due,
    drift_sentences,
    production,
)

TODAY = date(2026, 12, 7)  # a Monday
LAST_MONDAY = datetime(2026, 11, 30)


def weeks(*values, labelled=310):
    """Weekly windows, the last one last week (Monday to Monday), oldest first."""
    start = LAST_MONDAY - timedelta(weeks=len(values) - 1)
    return [LiveWindow(start + timedelta(weeks=i), start + timedelta(weeks=i + 1), value,
                       labelled) for i, value in enumerate(values)]


SHIFTED = [{"feature": "ticket_length", "psi": 0.41, "band": "significant"},
           {"feature": "channel", "psi": 0.3, "band": "significant"}]


def answer(*values, drift=(), **overrides):
    arguments = {"metric": "accuracy", "direction": "maximize", "threshold": 0.85,
                 "test_value": 0.87, "windows": weeks(*values), "drift": list(drift),
                 "live_since": date(2026, 11, 3), "today": TODAY, "cases": "tickets"}
    return production(**{**arguments, **overrides})


def test_the_issues_example():
    found = answer(0.88, 0.86, 0.83, drift=SHIFTED)
    assert found.status == BELOW_THE_BAR
    assert found.retrain
    assert found.window == weeks(0.88, 0.86, 0.83)[-1]
    assert found.sentence == (
        "Live since 3 November: on 310 checked tickets last week the model was right 83 times "
        "out of 100, below the agreed 85 (it scored 87 on the test set). Two inputs have "
        "shifted markedly since training: ticket length and channel. Retraining is "
        "recommended.")


# --- rule 1: what counts -----------------------------------------------------------------


def test_no_windows_no_results():
    found = answer(windows=[])
    assert (found.status, found.window, found.retrain) == (NO_RESULTS, None, False)
    assert found.sentence == (
        "Live since 3 November: no checked tickets yet, so we cannot say how the model does.")


def test_a_window_with_too_few_labelled_cases_is_ignored():
    assert MIN_LABELLED == 100
    found = answer(windows=weeks(0.70, labelled=99))
    assert found.status == NO_RESULTS
    assert found.sentence == (
        "Live since 3 November: no result yet on at least 100 checked tickets (the latest had "
        "99), so we cannot say how the model does.")
    assert answer(windows=weeks(0.70, labelled=100)).status == BELOW_THE_BAR


def test_the_latest_counting_window_is_quoted_small_ones_skipped():
    windows = weeks(0.88, 0.70)
    windows[-1] = LiveWindow(windows[-1].start, windows[-1].end, 0.70, 40)
    found = answer(windows=windows)
    assert found.status == HOLDING
    assert found.sentence == (
        "Live since 3 November: on 310 checked tickets from 23 to 29 November the model was "
        "right 88 times out of 100, above the agreed 85 (it scored 87 on the test set).")


def test_a_window_without_a_usable_value_is_ignored():
    assert answer(windows=weeks(None)).status == NO_RESULTS
    assert answer(windows=weeks(math.nan)).sentence == (
        "Live since 3 November: no live accuracy has been reported yet, so we cannot say how "
        "the model does.")
    assert answer(0.88, math.nan).window.value == 0.88


def test_no_results_with_significant_drift_asks_for_labels():
    assert answer(windows=[], drift=SHIFTED).sentence == (
        "Live since 3 November: no checked tickets yet, so we cannot say how the model does. "
        "Two inputs have shifted markedly since training: ticket length and channel. Label "
        "some recent cases to check it: its inputs no longer look like the training data.")


# --- rules 2 and 3: below the bar, or just under it ------------------------------------------


def test_one_point_under_is_a_clear_miss():
    assert answer(0.88, 0.84).status == BELOW_THE_BAR
    assert answer(0.84).status == BELOW_THE_BAR


def test_a_first_result_just_under_the_bar_is_slipping():
    found = answer(0.88, 0.845)
    assert (found.status, found.reason, found.retrain) == (SLIPPING, "just under", False)
    assert found.sentence == (
        "Live since 3 November: on 310 checked tickets last week the model was right 84.5 "
        "times out of 100, below the agreed 85 (it scored 87 on the test set). It is slipping: "
        "its first result just under the bar. Watch the next results: retraining may soon be "
        "needed.")
    assert answer(0.845).status == SLIPPING


def test_just_under_twice_in_a_row_is_below_the_bar():
    assert answer(0.88, 0.849, 0.845).status == BELOW_THE_BAR


def test_exactly_at_the_bar_holds():
    found = answer(0.86, 0.855, 0.85)
    assert found.status == HOLDING
    assert found.sentence == (
        "Live since 3 November: on 310 checked tickets last week the model was right 85 times "
        "out of 100, at the agreed 85 (it scored 87 on the test set).")


# --- rule 4: slipping above the bar -------------------------------------------------------


def test_three_points_under_the_test_figure_is_slipping():
    found = answer(0.87, test_value=0.90)
    assert (found.status, found.reason) == (SLIPPING, "below test")
    assert found.sentence == (
        "Live since 3 November: on 310 checked tickets last week the model was right 87 times "
        "out of 100, above the agreed 85 (it scored 90 on the test set). It is slipping: 3 "
        "points worse than its test figure. Watch the next results: retraining may soon be "
        "needed.")
    assert answer(0.871, test_value=0.90).status == HOLDING


def test_falling_two_points_over_the_last_three_results_is_slipping():
    assert RECENT_WINDOWS == 3
    found = answer(0.95, 0.90, 0.89, 0.88, test_value=0.89)
    assert (found.status, found.reason) == (SLIPPING, "falling")
    assert found.sentence == (
        "Live since 3 November: on 310 checked tickets last week the model was right 88 times "
        "out of 100, above the agreed 85 (it scored 89 on the test set). It is slipping: 2 "
        "points worse over the last 3 results. Watch the next results: retraining may soon be "
        "needed.")
    assert answer(0.95, 0.899, 0.89, 0.88, test_value=0.89).status == HOLDING
    assert answer(0.90, 0.88, test_value=0.89).status == HOLDING  # two results: no trend yet


def test_slipping_with_significant_drift_recommends_retraining():
    found = answer(0.87, test_value=0.90, drift=SHIFTED[:1])
    assert found.retrain
    assert found.sentence.endswith(
        "It is slipping: 3 points worse than its test figure. One input has shifted markedly "
        "since training: ticket length. Retraining is recommended.")


def test_holding_with_significant_drift_says_to_watch():
    assert answer(0.88, drift=SHIFTED[1:]).sentence == (
        "Live since 3 November: on 310 checked tickets last week the model was right 88 times "
        "out of 100, above the agreed 85 (it scored 87 on the test set). One input has shifted "
        "markedly since training: channel. The results still hold; watch the next ones.")


def test_moderate_drift_is_mentioned_without_advice():
    moderate = [FeatureDrift("region", 0.12, "moderate"), FeatureDrift("hour", 0.11,
                                                                       "moderate")]
    assert answer(0.88, drift=moderate).sentence.endswith(
        "(it scored 87 on the test set). Two inputs have shifted somewhat since training: "
        "region and hour.")


def test_drift_sentences_both_bands_and_stable_left_out():
    drift = [*SHIFTED, {"feature": "region", "psi": 0.12, "band": "moderate"},
             {"feature": "hour", "psi": 0.01, "band": "stable"}]
    assert drift_sentences(drift) == [
        "Two inputs have shifted markedly since training: ticket length and channel.",
        "One more has shifted somewhat: region.",
    ]
    assert drift_sentences([{"feature": f"f{i}", "psi": 1, "band": "significant"}
                            for i in range(3)]) == [
        "Three inputs have shifted markedly since training: f0, f1 and f2."]


# --- other metrics, other words -------------------------------------------------------------


def test_a_limit_to_stay_under():
    found = answer(3.9, 4.03, metric="mae", direction="minimize", threshold=4.0,
                   test_value=3.8, cases="orders")
    assert (found.status, found.reason) == (SLIPPING, "just under")
    assert found.sentence == (
        "Live since 3 November: on 310 checked orders last week the model was off by 4.03 on "
        "average, over the agreed limit of 4 (it scored 3.8 on the test set). It is slipping: "
        "its first result just over the limit. Watch the next results: retraining may soon be "
        "needed.")
    # a clear miss of a non-percent metric is a hundredth of the threshold: 4.04 over 4
    assert answer(3.9, 4.04, metric="mae", direction="minimize", threshold=4.0,
                  test_value=3.8).status == BELOW_THE_BAR
    holding = answer(3.9, metric="mae", direction="minimize", threshold=4.0, test_value=3.8)
    assert "off by 3.9 on average, within the agreed limit of 4" in holding.sentence


def test_f1_and_a_metric_without_a_past_tense():
    assert answer(0.88, metric="f1").sentence == (
        "Live since 3 November: on 310 checked tickets last week the model scored 88 out of "
        "100 on F1, a balance of finding the cases that matter and being right when it flags "
        "one, above the agreed 85 (it scored 87 on the test set).")
    assert answer(0.88, metric="precision").sentence.startswith(
        "Live since 3 November: on 310 checked tickets last week the model's precision was 88 "
        "out of 100, above the agreed 85")


def test_without_a_test_figure_and_older_windows():
    found = answer(test_value=None, cases="cases", live_since=datetime(2025, 12, 30, 9),
                   windows=[LiveWindow(date(2026, 11, 2), date(2026, 11, 8), 0.9, 1240)])
    assert found.sentence == (
        "Live since 30 December 2025: on 1,240 checked cases from 2 to 8 November the model "
        "was right 90 times out of 100, above the agreed 85.")


def test_a_bad_direction_is_refused():
    with pytest.raises(ValueError, match="direction must be"):
        answer(0.9, direction="up")


# --- alerts, once per episode ---------------------------------------------------------------


def significant(feature):
    return {"feature": feature, "psi": 0.3, "band": "significant"}


def test_below_the_bar_alerts_once_per_episode():
    state = Episodes()
    sent = []
    for status in (HOLDING, BELOW_THE_BAR, BELOW_THE_BAR, NO_RESULTS, BELOW_THE_BAR,
                   SLIPPING, BELOW_THE_BAR, HOLDING, HOLDING, BELOW_THE_BAR):
        due = alerts_due(state, status=status, drift=[])
        sent.append(due.below_bar)
        state = due.episodes
    assert sent == [False, True, False, False, False, False, True, False, False, True]


def test_no_results_keeps_the_episode_open():
    due = alerts_due(Episodes(below_bar=True), status=NO_RESULTS, drift=[])
    assert (due.below_bar, due.episodes.below_bar) == (False, True)


def test_significant_drift_alerts_once_per_feature_until_stable_again():
    state = Episodes()
    steps = [
        [significant("length"), {"feature": "channel", "psi": 0.2, "band": "moderate"}],
        [significant("length"), significant("channel")],
        [{"feature": "length", "psi": 0.2, "band": "moderate"}, significant("channel")],
        [significant("length")],  # channel not measured: stays in its episode
        [{"feature": "length", "psi": 0.05, "band": "stable"}, significant("channel")],
        [FeatureDrift("length", 0.5, "significant")],
    ]
    sent = []
    for drift in steps:
        due = alerts_due(state, status=HOLDING, drift=drift)
        sent.append(due.drifted)
        state = due.episodes
    assert sent == [("length",), ("channel",), (), (), (), ("length",)]
    assert state.as_dict() == {"below_bar": False, "drifting": ["channel", "length"]}


def test_episodes_round_trip_through_json():
    state = Episodes(below_bar=True, drifting=frozenset({"length"}))
    assert Episodes.from_dict(state.as_dict()) == state
    assert Episodes.from_dict(None) == Episodes()


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status must be one of"):
        alerts_due(Episodes(), status="fine", drift=[])


def test_the_readme_states_the_rules_the_module_applies():
    """The README's summary of the production rules quotes the module's constants: a rule
    changed in code and not in the README fails here."""
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    points = {share: f"**{round(share * 100)} point" for share in (
        production_rules.CLEAR_MISS, production_rules.SLIP_FROM_TEST,
        production_rules.SLIP_OVER_WINDOWS)}
    for phrase in [f"at least **{production_rules.MIN_LABELLED}** of its cases were labelled",
                   f"misses the bar by {points[production_rules.CLEAR_MISS]}",
                   f"({round(production_rules.CLEAR_MISS * 100)} % of the bar",
                   f"meets the bar {points[production_rules.SLIP_FROM_TEST]}s** under the test",
                   f"fell {points[production_rules.SLIP_OVER_WINDOWS]}s** over the last "
                   f"**{production_rules.RECENT_WINDOWS}** windows",
                   f"under {drift_rules.MODERATE_FROM} stable, {drift_rules.MODERATE_FROM}–"
                   f"{drift_rules.SIGNIFICANT_ABOVE} moderate, above "
                   f"{drift_rules.SIGNIFICANT_ABOVE} significant"]:
        assert phrase in readme
