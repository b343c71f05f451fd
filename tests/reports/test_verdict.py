"""The verdict rules, one test per rule, with every sentence pinned as a reader sees it."""

from datetime import date

import pytest

from reports.narrative import TargetFacts
from reports.verdict import AT_RISK, MET, NO_PROGRESS, ON_TRACK, decide

F1 = TargetFacts(metric="f1", direction="maximize", threshold=0.85, agreed_by="Dana",
                 agreed_on=date(2026, 11, 2))
LATENCY = TargetFacts(metric="latency_ms", direction="minimize", threshold=50)
MAE = TargetFacts(metric="mae", direction="minimize", threshold=0.35)
SINCE = "since the last check-in"


def verdict(target=F1, *, current=None, start=None, runs=3, reason=None, since=SINCE):
    return decide(target=target, no_winner_reason=reason, current=current, start=start,
                  runs_finished=runs, since=since)


def test_1_no_target_is_no_progress():
    v = decide(target=None, no_winner_reason=None, current=None, start=None, runs_finished=5,
               since=SINCE)
    assert (v.kind, v.label) == (NO_PROGRESS, "No progress")
    assert v.sentence == ("No target has been agreed yet, so there is nothing to measure "
                          "progress against.")


@pytest.mark.parametrize(("reason", "sentence"), [
    ("no_finished_runs",
     "No run has finished yet, so there is no model to measure against the target."),
    ("no_selection_metric",
     "No finished run has reported its F1 score on the validation set yet, so there is no "
     "model to measure against the target."),
    ("all_fail_guardrails",
     "Every finished run fails at least one guardrail, so there is no model we could put "
     "forward yet."),
])
def test_2_no_best_model_is_no_progress(reason, sentence):
    v = verdict(reason=reason)
    assert (v.kind, v.sentence) == (NO_PROGRESS, sentence)


@pytest.mark.parametrize("current", [None, float("nan")])
def test_3_a_best_model_without_a_test_result_is_at_risk(current):
    v = verdict(current=current, start=0.8)
    assert v.kind == AT_RISK
    assert v.sentence == ("The best model has not been evaluated on the test set yet, so we "
                          "cannot tell how far it is from the target.")


def test_4_target_met():
    v = verdict(current=0.87, start=0.80)
    assert (v.kind, v.label) == (MET, "Target met")
    assert v.sentence == ("The best model's F1 score on the test set is 87 out of 100, at or "
                          "above the agreed bar of 85.")


def test_4_target_met_is_inclusive_and_ignores_the_trend():
    assert verdict(current=0.85, start=0.90, runs=0).kind == MET


def test_4_target_met_when_minimizing():
    v = verdict(LATENCY, current=38, start=61)
    assert v.kind == MET
    assert v.sentence == ("The best model's latency on the test set is 38 ms, within the "
                          "agreed limit of 50 ms.")


def test_5_a_first_result_has_no_trend_yet_so_it_is_at_risk():
    v = verdict(current=0.78, start=None)
    assert v.kind == AT_RISK
    assert v.sentence == ("This is the first test result of a best model: its F1 score on the "
                          "test set is 78 out of 100, 7 points short of the agreed bar of 85; "
                          "there is no trend yet to say when it gets there.")


def test_5_a_first_result_over_a_limit():
    v = verdict(LATENCY, current=62, start=None)
    assert v.sentence == ("This is the first test result of a best model: its latency on the "
                          "test set is 62 ms, 12 ms over the agreed limit of 50 ms; there is "
                          "no trend yet to say when it gets there.")


def test_6_no_change_and_no_run_is_no_progress():
    v = verdict(current=0.78, start=0.78, runs=0)
    assert (v.kind, v.label) == (NO_PROGRESS, "No progress")
    assert v.sentence == ("No run finished since the last check-in, so the best model's F1 "
                          "score on the test set is still 78 out of 100, against the agreed "
                          "bar of 85.")


def test_6_runs_that_did_not_beat_the_best_model_are_no_progress():
    v = verdict(current=0.78, start=0.78, runs=4)
    assert v.kind == NO_PROGRESS
    assert v.sentence == ("The best model's F1 score on the test set has not improved since "
                          "the last check-in: still 78 out of 100, against the agreed bar of "
                          "85, although 4 runs finished.")
    assert verdict(current=0.78, start=0.78, runs=1).sentence.endswith(
        "although 1 run finished.")


def test_6_a_change_too_small_to_read_is_no_change():
    # 78.01 and 78.0 both read "78 out of 100".
    assert verdict(current=0.7801, start=0.78).kind == NO_PROGRESS


def test_7_a_worse_best_model_is_at_risk():
    v = verdict(current=0.80, start=0.82)
    assert (v.kind, v.label) == (AT_RISK, "At risk")
    assert v.sentence == ("The best model's F1 score on the test set got worse since the last "
                          "check-in, from 82 to 80 out of 100, against the agreed bar of 85.")


def test_8_improving_fast_enough_is_on_track():
    v = verdict(current=0.82, start=0.78)
    assert (v.kind, v.label) == (ON_TRACK, "On track")
    assert v.sentence == ("The best model's F1 score on the test set improved from 78 to 82 "
                          "out of 100 since the last check-in; at that pace it reaches the "
                          "agreed bar of 85 within 1 more check-in.")


def test_8_on_track_up_to_three_check_ins_away():
    v = verdict(current=0.82, start=0.81)  # 3 points to go at 1 point per check-in
    assert v.kind == ON_TRACK
    assert v.sentence.endswith("within 3 more check-ins.")


def test_8_improving_too_slowly_is_at_risk():
    v = verdict(current=0.81, start=0.80)  # 4 points to go at 1 point per check-in
    assert v.kind == AT_RISK
    assert v.sentence == ("The best model's F1 score on the test set improved from 80 to 81 "
                          "out of 100 since the last check-in, but at that pace the remaining "
                          "4 points to the agreed bar of 85 would take about 4 more check-ins.")


def test_8_lower_is_better_metrics_improve_downwards():
    v = verdict(MAE, current=0.38, start=0.42, since="since 3 November 2026")
    assert v.kind == ON_TRACK
    assert v.sentence == ("The best model's mean absolute error on the test set improved from "
                          "0.42 to 0.38 since 3 November 2026; at that pace it reaches the "
                          "agreed limit of 0.35 within 1 more check-in.")
    assert verdict(MAE, current=0.42, start=0.38).kind == AT_RISK
