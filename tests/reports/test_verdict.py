"""The verdict rules, one test per rule, with every sentence pinned as a reader sees it."""

from datetime import date, timedelta

import pytest

from reports.narrative import TargetFacts
from reports.verdict import (
    AT_RISK,
    BELOW_BAR,
    HOLDING,
    IN_PRODUCTION,
    LABELS,
    MEANINGS,
    MET,
    NO_PROGRESS,
    ON_TRACK,
    SLIPPING,
    TOWARDS_TARGET,
    Live,
    Record,
    decide,
    explained,
    pace,
)

F1 = TargetFacts(metric="f1", direction="maximize", threshold=0.85, agreed_by="Dana",
                 agreed_on=date(2026, 11, 2))
ACCURACY = TargetFacts(metric="accuracy", direction="maximize", threshold=0.85)
LATENCY = TargetFacts(metric="latency_ms", direction="minimize", threshold=50)
MAE = TargetFacts(metric="mae", direction="minimize", threshold=0.35)
SINCE = "since the last check-in"
TOO_EARLY = ("It is too early to tell the pace: that takes the best model's results at 2 "
             "earlier check-ins, over at least 2 weeks.")


def weekly(*values, last=date(2026, 11, 30)) -> tuple:
    """Earlier weekly check-ins, oldest first, the last one on `last`, with these values."""
    return tuple((last - timedelta(days=7 * (len(values) - 1 - i)), v)
                 for i, v in enumerate(values))


def history(*values, days=None) -> Record:
    """A Record whose start is the last earlier check-in's value."""
    checkins = weekly(*values)
    return Record(start=values[-1] if values else None, checkins=checkins,
                  results_days=7 * len(values) if days is None else days)


def verdict(target=F1, *, current=None, record=None, runs=3, reason=None, since=SINCE,
            live=None):
    return decide(target=target, no_winner_reason=reason, current=current,
                  record=record or history(0.80, 0.80), runs_finished=runs, since=since,
                  live=live)


def live(status, value, *, reason="", test=0.87, earlier=None, labelled=310):
    return Live(status=status, value=value, labelled=labelled, cases="tickets", reason=reason,
                test_value=test, earlier=earlier)


def test_1_no_target_is_no_progress():
    v = decide(target=None, no_winner_reason=None, current=None, record=Record(),
               runs_finished=5, since=SINCE)
    assert (v.kind, v.label) == (NO_PROGRESS, "No progress")
    assert v.sentence == ("No target has been agreed yet, so there is nothing to measure "
                          "progress against.")


def test_1_no_target_is_no_progress_even_with_a_model_in_production():
    v = decide(target=None, no_winner_reason=None, current=None, record=Record(),
               runs_finished=0, since=SINCE, live=live("holding", 0.88))
    assert v.kind == NO_PROGRESS


def test_2a_clearly_below_the_bar_in_production():
    # The best model met the target on test: the live results decide.
    v = verdict(ACCURACY, current=0.87, record=Record(start=0.87),
                live=live("below the bar", 0.834, labelled=1302))
    assert (v.kind, v.label) == (BELOW_BAR, "Below the bar in production")
    assert v.sentence == ("In production, the model's accuracy is 1.6 points short of the "
                          "agreed bar of 85: 83.4 out of 100 on the latest 1,302 checked "
                          "tickets (87 on the test set).")


def test_2a_below_the_bar_over_a_limit_and_without_a_test_figure():
    v = verdict(LATENCY, current=38, record=Record(start=38),
                live=live("below the bar", 56, test=None))
    assert v.kind == BELOW_BAR
    assert v.sentence == ("In production, the model's latency is 6 ms over the agreed limit "
                          "of 50 ms: 56 ms on the latest 310 checked tickets.")


def test_2b_just_under_the_bar_for_the_first_time_is_slipping():
    v = verdict(current=0.87, record=Record(start=0.87),
                live=live("slipping", 0.846, reason="just under"))
    assert (v.kind, v.label) == (SLIPPING, "Slipping in production")
    assert v.sentence == ("In production, the model's F1 score is 0.4 points short of the "
                          "agreed bar of 85 for the first time: 84.6 out of 100 on the latest "
                          "310 checked tickets (87 on the test set).")


@pytest.mark.parametrize(("found", "sentence"), [
    (live("slipping", 0.86, reason="below test", test=0.90),
     "In production, the model's F1 score is 86 out of 100 on the latest 310 checked tickets: "
     "still at or above the agreed bar of 85, but 4 points worse than its 90 on the test set."),
    (live("slipping", 0.855, reason="falling", earlier=0.88),
     "In production, the model's F1 score is 85.5 out of 100 on the latest 310 checked "
     "tickets: still at or above the agreed bar of 85, but 2.5 points worse than 2 results "
     "earlier (88)."),
], ids=["well below its test figure", "falling over the recent results"])
def test_2b_at_the_bar_but_heading_down_is_slipping(found, sentence):
    v = verdict(current=0.90, record=Record(start=0.90), live=found)
    assert (v.kind, v.sentence) == (SLIPPING, sentence)


def test_2c_holding_in_production():
    v = verdict(current=0.87, record=Record(start=0.87), live=live("holding", 0.88))
    assert (v.kind, v.label) == (HOLDING, "Holding in production")
    assert v.sentence == ("In production, the model's F1 score is 88 out of 100 on the latest "
                          "310 checked tickets, at or above the agreed bar of 85 (87 on the "
                          "test set).")


def test_2c_holding_within_a_limit():
    v = verdict(MAE, current=0.30, record=Record(start=0.30), live=live("holding", 0.31,
                                                                         test=0.30))
    assert v.sentence == ("In production, the model's mean absolute error is 0.31 on the "
                          "latest 310 checked tickets, within the agreed limit of 0.35 (0.3 on "
                          "the test set).")


def test_2_without_live_results_that_count_the_target_rules_decide():
    # A deployment whose windows are all too small is "no results": rule 5 decides.
    v = verdict(current=0.87, record=Record(start=0.80), live=live("no results", 0.80))
    assert v.kind == MET


@pytest.mark.parametrize(("reason", "sentence"), [
    ("no_finished_runs",
     "No model has finished training yet, so there is nothing to measure against the "
     "target."),
    ("no_selection_metric",
     "No trained model has reported its F1 score on the validation set yet, so there is "
     "nothing to measure against the target."),
    ("all_fail_guardrails",
     "Every model trained so far breaks at least one of the agreed limits (such as answering "
     "fast enough), so there is none we could put forward yet."),
])
def test_3_no_best_model_is_no_progress(reason, sentence):
    v = verdict(reason=reason)
    assert (v.kind, v.sentence) == (NO_PROGRESS, sentence)


@pytest.mark.parametrize("current", [None, float("nan")])
def test_4_a_best_model_without_a_test_result_is_at_risk(current):
    v = verdict(current=current)
    assert v.kind == AT_RISK
    assert v.sentence == ("The best model has not been evaluated on the test set yet, so we "
                          "cannot tell how far it is from the target.")


def test_5_target_met_says_since_when():
    v = verdict(current=0.87, record=Record(start=0.80, met_since=date(2026, 11, 18)))
    assert (v.kind, v.label) == (MET, "Target met")
    assert v.sentence == ("The best model's F1 score on the test set is 87 out of 100, at or "
                          "above the agreed bar of 85, and has been since 18 November 2026.")


def test_5_target_met_is_inclusive_and_ignores_the_trend():
    v = verdict(current=0.85, record=Record(start=0.90), runs=0)
    assert v.kind == MET
    assert v.sentence == ("The best model's F1 score on the test set is 85 out of 100, at or "
                          "above the agreed bar of 85.")


def test_5_target_met_when_minimizing():
    v = verdict(LATENCY, current=38, record=Record(start=61))
    assert v.kind == MET
    assert v.sentence == ("The best model's latency on the test set is 38 ms, within the "
                          "agreed limit of 50 ms.")


def test_6_the_first_check_in_is_too_early_for_a_pace():
    # One day of runs: a baseline at 60, then a model at 84. The baseline is not an earlier
    # state of the model, so there is no "start" and no pace, however close it is.
    v = verdict(ACCURACY, current=0.84, record=Record(start=None, checkins=(), results_days=0))
    assert (v.kind, v.too_early) == (AT_RISK, True)
    assert v.sentence == ("1 point short of the agreed bar of 85 on the first check-in: the "
                          "best model's accuracy on the test set is 84 out of 100. " + TOO_EARLY)


def test_6_a_first_result_after_earlier_check_ins_without_one():
    v = verdict(current=0.78, record=Record(start=None, checkins=weekly(None, None)))
    assert v.kind == AT_RISK
    assert v.sentence == ("7 points short of the agreed bar of 85 on the best model's first "
                          "check-in: its F1 score on the test set is 78 out of 100. " + TOO_EARLY)


def test_6_a_first_result_over_a_limit():
    v = verdict(LATENCY, current=62, record=Record())
    assert v.sentence == ("12 ms over the agreed limit of 50 ms on the first check-in: the "
                          "best model's latency on the test set is 62 ms. " + TOO_EARLY)


def test_7_no_change_and_no_run_is_no_progress():
    v = verdict(current=0.78, record=history(0.70, 0.78), runs=0)
    assert (v.kind, v.label) == (NO_PROGRESS, "No progress")
    assert v.sentence == ("No model finished training since the last check-in, so the best "
                          "model's F1 score on the test set is still 78 out of 100, against "
                          "the agreed bar of 85.")


def test_7_runs_that_did_not_beat_the_best_model_are_no_progress():
    v = verdict(current=0.78, record=history(0.78), runs=4)
    assert v.kind == NO_PROGRESS
    assert v.sentence == ("The best model's F1 score on the test set has not improved since "
                          "the last check-in: still 78 out of 100, against the agreed bar of "
                          "85, although 4 models finished training.")
    assert verdict(current=0.78, record=history(0.78), runs=1).sentence.endswith(
        "although 1 model finished training.")


def test_7_a_change_too_small_to_read_is_no_change():
    # 78.01 and 78.0 both read "78 out of 100".
    assert verdict(current=0.7801, record=history(0.78)).kind == NO_PROGRESS


def test_8_a_worse_best_model_is_at_risk():
    v = verdict(current=0.80, record=history(0.75, 0.78, 0.82))
    assert (v.kind, v.label) == (AT_RISK, "At risk")
    assert v.sentence == ("The best model's F1 score on the test set got worse since the last "
                          "check-in, from 82 to 80 out of 100, against the agreed bar of 85.")


def test_9_one_earlier_check_in_is_too_early_for_a_pace():
    v = verdict(current=0.83, record=history(0.80))
    assert (v.kind, v.too_early) == (AT_RISK, True)
    assert v.sentence == ("The best model's F1 score on the test set improved from 80 to 83 "
                          "out of 100 since the last check-in, 2 points short of the agreed "
                          "bar of 85. " + TOO_EARLY)


def test_9_daily_check_ins_need_two_weeks_of_results_too():
    record = history(0.78, 0.80, 0.82, days=13)
    assert verdict(current=0.84, record=record).too_early
    assert not verdict(current=0.84, record=history(0.78, 0.80, 0.82, days=14)).too_early


def test_10_improving_fast_enough_is_on_track():
    v = verdict(current=0.82, record=history(0.78, 0.80))
    assert (v.kind, v.label, v.too_early) == (ON_TRACK, "On track", False)
    assert v.sentence == ("The best model's F1 score on the test set improved from 78 at the "
                          "check-in of 23 November 2026 to 82 out of 100, about 2 points per "
                          "check-in; at that pace it reaches the agreed bar of 85 within 2 "
                          "more check-ins.")


def test_10_on_track_up_to_three_check_ins_away():
    v = verdict(current=0.82, record=history(0.79, 0.80, 0.81))  # 1 point per check-in
    assert v.kind == ON_TRACK
    assert v.sentence.endswith("within 3 more check-ins.")


def test_10_improving_too_slowly_is_at_risk():
    v = verdict(current=0.81, record=history(0.78, 0.79, 0.80))  # 1 point per check-in
    assert v.kind == AT_RISK
    assert v.sentence == ("The best model's F1 score on the test set improved from 78 at the "
                          "check-in of 16 November 2026 to 81 out of 100, about 1 point per "
                          "check-in; at that pace the remaining 4 points to the agreed bar of "
                          "85 would take about 4 more check-ins.")


def test_10_the_pace_reads_the_last_three_check_ins_only():
    # A jump from 60 five weeks ago does not make the last weeks' crawl look fast.
    record = history(0.60, 0.80, 0.805, 0.81, 0.815)
    found = pace(record, current=0.82, direction="maximize")
    assert (found.since, found.then, found.periods) == (date(2026, 11, 16), 0.805, 3)
    assert verdict(current=0.82, record=record).kind == AT_RISK


def test_10_no_gain_over_recent_check_ins_is_at_risk():
    v = verdict(current=0.81, record=history(0.82, 0.79, 0.78))
    assert v.kind == AT_RISK
    assert v.sentence == ("The best model's F1 score on the test set improved since the last "
                          "check-in, but at 81 out of 100 it is no better than at the check-in "
                          "of 16 November 2026 (82): no steady gain towards the agreed bar of "
                          "85.")


def test_10_check_ins_without_a_result_count_as_time_not_as_results():
    record = Record(start=0.80, checkins=weekly(None, 0.76, None, 0.80), results_days=30)
    found = pace(record, current=0.82, direction="maximize")
    assert (found.then, found.periods) == (0.76, 3)
    assert pace(Record(start=0.80, checkins=weekly(None, None, 0.80), results_days=30),
                current=0.82, direction="maximize") is None


def test_10_lower_is_better_metrics_improve_downwards():
    v = verdict(MAE, current=0.38, record=history(0.46, 0.42), since="since 3 November 2026")
    assert v.kind == ON_TRACK
    assert v.sentence == ("The best model's mean absolute error on the test set improved from "
                          "0.46 at the check-in of 23 November 2026 to 0.38, about 0.04 per "
                          "check-in; at that pace it reaches the agreed limit of 0.35 within 1 "
                          "more check-in.")
    assert verdict(MAE, current=0.42, record=history(0.40, 0.38)).kind == AT_RISK


def test_the_verdict_box_explains_the_verdicts_of_its_group():
    assert explained(MET) == explained(NO_PROGRESS) == TOWARDS_TARGET
    assert explained(HOLDING) == explained(BELOW_BAR) == IN_PRODUCTION
    assert set(TOWARDS_TARGET) | set(IN_PRODUCTION) == set(LABELS)


def test_every_verdict_has_a_one_line_meaning():
    assert {LABELS[k]: MEANINGS[k] for k in LABELS} == {
        "Target met": "the best model reaches the agreed target.",
        "On track": "not there yet, but at its pace over recent check-ins it gets there "
                    "within 3 more.",
        "At risk": "not there yet, and the results so far do not show it getting there within "
                   "3 more check-ins.",
        "No progress": "nothing improved since the last check-in, or there is no model to "
                       "judge yet.",
        "Holding in production": "on live cases it meets the agreed target and holds steady.",
        "Slipping in production": "on live cases it just misses the bar for the first time, is "
                                  "falling, or lags its test result.",
        "Below the bar in production": "on live cases it misses the agreed target clearly, or "
                                       "twice in a row.",
    }
