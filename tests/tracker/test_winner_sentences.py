"""The verdict sentences about a project: every sentence is pinned literally."""

import math

import pytest

from tracker.winner_sentences import (
    NO_WINNER_REASONS,
    judged_step_sentence,
    no_target_sentence,
    no_winner_sentence,
    winner_sentence,
)

F1_MEANS = "a balance of finding the cases that matter and being right when it flags one"
CHURN = "{percent} of every 100 churners are caught"
NO_BASELINE = (
    "There is no baseline yet, so we cannot say whether the model beats the status quo."
)


def test_no_target_sentence():
    assert no_target_sentence() == (
        "No target has been agreed yet: agree on a metric, a direction and a threshold first,"
        " so we can say how far the project is from done."
    )


def winner(**overrides):
    arguments = {
        "metric": "accuracy",
        "direction": "maximize",
        "threshold": 0.85,
        "judged_split": "test",
        "judged_value": 0.87,
        "met": True,
        "baseline_value": 0.82,
        "lift": 0.05,
        "run_name": "svm-c1",
    }
    arguments.update(overrides)
    return winner_sentence(**arguments)


ACCURACY_87 = (
    'Best model so far (run "svm-c1"): right 87 times out of 100 on the test set;'
    " the agreed bar is 85."
)
F1_83 = (
    f'Best model so far (run "svm-c1"): scores 83 out of 100 on F1, {F1_MEANS},'
    " on the test set; the agreed bar is 85."
)


def test_winner_meets_the_target_and_beats_the_baseline():
    assert winner() == (
        ACCURACY_87 + " It meets the target. It does 5 points better than the baseline."
    )


def test_winner_falls_short():
    text = winner(metric="f1", judged_value=0.83, met=False, baseline_value=0.8, lift=0.03)
    assert text == (
        F1_83 + " It falls 2 points short of the target. It does 3 points better than the"
        " baseline."
    )


def test_winner_without_baseline():
    text = winner(metric="f1", judged_value=0.83, met=False, baseline_value=None, lift=None)
    assert text == F1_83 + " It falls 2 points short of the target. " + NO_BASELINE


def test_winner_worse_than_baseline():
    text = winner(baseline_value=0.9, lift=-0.03)
    assert text == ACCURACY_87 + " It meets the target. It does 3 points worse than the baseline."


def test_winner_as_good_as_baseline_and_one_point():
    assert winner(baseline_value=0.87, lift=0.0) == (
        ACCURACY_87 + " It meets the target. It does as well as the baseline."
    )
    assert winner(baseline_value=0.86, lift=0.01) == (
        ACCURACY_87 + " It meets the target. It does 1 point better than the baseline."
    )
    assert winner(baseline_value=0.855, lift=0.015) == (
        ACCURACY_87 + " It meets the target. It does 1.5 points better than the baseline."
    )


def test_winner_works_out_met_and_lift_when_not_given():
    assert winner(judged_value=0.85, met=None, baseline_value=0.8, lift=None) == (
        'Best model so far (run "svm-c1"): right 85 times out of 100 on the test set;'
        " the agreed bar is 85. It meets the target. It does 5 points better than the baseline."
    )


def test_winner_just_short_when_the_rounded_numbers_look_equal():
    text = winner(judged_value=0.84999, met=False, baseline_value=None, lift=None)
    assert text == (
        'Best model so far (run "svm-c1"): right 85 times out of 100 on the test set;'
        " the agreed bar is 85. It falls just short of the target. " + NO_BASELINE
    )


def test_winner_not_evaluated_on_the_judged_split():
    text = winner(judged_value=None, met=None, lift=None)
    assert text == (
        'Best model so far (run "svm-c1") has not been evaluated on the test set yet,'
        " so we cannot say whether it meets the target."
    )


def test_winner_not_evaluated_and_no_baseline():
    text = winner(judged_value=None, met=None, baseline_value=None, lift=None)
    assert text == (
        'Best model so far (run "svm-c1") has not been evaluated on the test set yet,'
        " so we cannot say whether it meets the target. " + NO_BASELINE
    )


def test_winner_logged_nan():
    text = winner(metric="f1", judged_value=math.nan, met=None, lift=None)
    assert text == (
        'Best model so far (run "svm-c1"): no usable F1 score on the test set'
        " (the run logged NaN); the agreed bar is 85. We cannot say whether it meets the"
        " target. We cannot compare it with the baseline: one of them logged no usable value."
    )


def test_winner_minimising_a_plain_metric():
    common = {"metric": "mae", "direction": "minimize", "threshold": 3.0, "run_name": "gbm"}
    assert winner(**common, judged_value=3.2, met=False, baseline_value=3.5, lift=0.3) == (
        'Best model so far (run "gbm"): off by 3.2 on average on the test set;'
        " the agreed limit is 3. It is 0.2 over the agreed limit."
        " It has 0.3 lower mean absolute error than the baseline."
    )
    assert winner(**common, judged_value=2.9, met=True, baseline_value=2.6, lift=-0.3) == (
        'Best model so far (run "gbm"): off by 2.9 on average on the test set;'
        " the agreed limit is 3. It meets the target."
        " It has 0.3 higher mean absolute error than the baseline."
    )


def test_winner_error_rate_counts_points():
    text = winner(metric="error_rate", direction="minimize", threshold=0.15, judged_value=0.17,
                  met=False, baseline_value=0.2, lift=0.03)
    assert text == (
        'Best model so far (run "svm-c1"): wrong 17 times out of 100 on the test set;'
        " the agreed limit is 15. It falls 2 points short of the target."
        " It does 3 points better than the baseline."
    )


def test_winner_latency():
    text = winner(metric="latency_ms", direction="minimize", threshold=50.0, judged_value=38.0,
                  baseline_value=50.0, lift=None)
    assert text == (
        'Best model so far (run "svm-c1"): answers in 38 ms on the test set;'
        " the limit is 50 ms. It meets the target. It has 12 ms lower latency than the baseline."
    )


def test_winner_maximising_an_unknown_plain_metric():
    text = winner(metric="revenue", threshold=1000.0, judged_value=900.0, met=False,
                  baseline_value=950.0, lift=-50.0)
    assert text == (
        'Best model so far (run "svm-c1"): revenue is 900 on the test set (higher is better);'
        " the agreed bar is 1,000. It falls 100 short of the target."
        " It has 50 lower revenue than the baseline."
    )


def test_winner_keeps_capitals_of_a_known_abbreviation_and_a_definition():
    text = winner(metric="churn_caught", threshold=0.5, judged_value=0.42, met=False,
                  baseline_value=0.4, lift=None, definition=CHURN)
    assert text == (
        'Best model so far (run "svm-c1"): 42 of every 100 churners are caught on the test'
        " set; the agreed bar is 50. It falls 8 points short of the target."
        " It does 2 points better than the baseline."
    )
    text = winner(metric="churn_caught", threshold=0.5, judged_value=0.52, met=True,
                  baseline_value=None, lift=None,
                  definition="Churners caught: {percent} in every 100")
    assert text == (
        'Best model so far (run "svm-c1"): Churners caught: 52 in every 100 on the test set;'
        " the agreed bar is 50. It meets the target. " + NO_BASELINE
    )


def test_winner_judged_on_a_slice_without_a_run_name():
    text = winner(judged_split="test/long_texts", run_name="", baseline_value=None, lift=None)
    assert text == (
        "Best model so far: right 87 times out of 100 on the long texts slice of the test set;"
        " the agreed bar is 85. It meets the target. " + NO_BASELINE
    )


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        ("no_finished_runs",
         "No run has finished yet, so there is no best model to compare with the target."),
        ("no_selection_metric",
         "No finished run has reported its F1 score on the validation set yet,"
         " so we cannot pick a best model."),
        ("all_fail_guardrails",
         "Every finished run fails at least one guardrail, so there is no model we can"
         " recommend yet."),
    ],
)
def test_no_winner_sentence(reason, sentence):
    assert reason in NO_WINNER_REASONS
    assert no_winner_sentence(reason=reason, metric="f1", selected_split="validation") == sentence


def test_no_winner_without_metric_or_split():
    assert no_winner_sentence(reason="no_selection_metric") == (
        "No finished run has reported the target metric yet, so we cannot pick a best model."
    )
    assert no_winner_sentence(reason="no_selection_metric", metric="my_metric") == (
        "No finished run has reported its my_metric yet, so we cannot pick a best model."
    )


def test_no_winner_unknown_reason_is_a_programming_error():
    with pytest.raises(ValueError):
        no_winner_sentence(reason="tired")


def test_a_judged_figure_from_another_step_is_told_to_engineers():
    assert judged_step_sentence(judged_split="test", selected_split="validation",
                                judged_at_step=29, best_step=0) == (
        "The test figure was logged at step 29; validation peaked at step 0.")


@pytest.mark.parametrize(("judged_at_step", "best_step"), [(12, 12), (None, 3), (4, None)])
def test_nothing_is_said_when_the_steps_agree_or_one_is_unknown(judged_at_step, best_step):
    assert judged_step_sentence(judged_split="test", selected_split="validation",
                                judged_at_step=judged_at_step, best_step=best_step) is None
