"""The exact words a manager reads: every sentence is pinned literally."""

import math

import pytest

from tracker.phrasing import (
    METRIC_PHRASINGS,
    NO_WINNER_REASONS,
    default_direction,
    format_number,
    format_percent,
    guardrail_sentence,
    metric_label,
    metric_sentence,
    no_target_sentence,
    no_winner_sentence,
    split_phrase,
    validate_definition,
    winner_sentence,
)

F1_MEANS = "a balance of finding the cases that matter and being right when it flags one"
NO_BASELINE = (
    "There is no baseline yet, so we cannot say whether the model beats the status quo."
)


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.875, "0.875"),
        (0.87, "0.87"),
        (3.2, "3.2"),
        (12.0, "12"),
        (3.14159, "3.142"),
        (1234567.0, "1,234,567"),
        (1234.5678, "1,234.568"),
        (0.00042, "0.00042"),
        (0.123456, "0.123"),
        (0.99951, "1"),
        (1.0005, "1.001"),  # half up, as written
        (1e-12, "0.000000000001"),
        (-3.25, "-3.25"),
        (-0.00042, "-0.00042"),
        (-1500.0, "-1,500"),
        (1e300, "1" + ",000" * 100),
        (0, "0"),
        (-0.0, "0"),
        (math.nan, "NaN"),
        (math.inf, "infinity"),
        (-math.inf, "minus infinity"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (0.87, "87"),
        (0.875, "87.5"),
        (0.8754, "87.5"),
        (0.86996, "87"),  # never "87.0"
        (0.29, "29"),  # 28.999999999999996 in floating point
        (0.8725, "87.3"),  # half up, as written, though 0.8725 * 100 is 87.24999...
        (0.0005, "0.1"),  # 0.05 points, half up
        (1.0, "100"),
        (0.0, "0"),
        (0.0004, "0.04"),  # tiny, but not zero
        (-0.05, "-5"),
        (12.345, "1,234.5"),
    ],
)
def test_format_percent(share, text):
    assert format_percent(share) == text


def test_format_percent_never_crashes_on_extreme_floats():
    assert format_percent(1.7976931348623157e308) == "infinity"
    assert format_percent(5e-324).startswith("0.000")
    assert format_percent(math.nan) == "NaN"


# --- splits, labels, directions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("split", "phrase"),
    [
        ("test", "the test set"),
        ("validation", "the validation set"),
        ("train", "the training set"),
        ("val", "the validation set"),
        ("holdout", "the holdout set"),
        ("test/long_texts", "the long texts slice of the test set"),
        ("test/short-texts", "the short texts slice of the test set"),
        ("Test/EU_customers", "the EU customers slice of the test set"),
        ("validation/long_texts/en", "the long texts / en slice of the validation set"),
        ("test/", "the test set"),
    ],
)
def test_split_phrase(split, phrase):
    assert split_phrase(split) == phrase


@pytest.mark.parametrize(
    ("metric", "label", "direction"),
    [
        ("accuracy", "accuracy", "maximize"),
        ("acc", "accuracy", "maximize"),
        ("error_rate", "error rate", "minimize"),
        ("error", "error rate", "minimize"),
        ("precision", "precision", "maximize"),
        ("recall", "recall", "maximize"),
        ("f1", "F1 score", "maximize"),
        ("f1_score", "F1 score", "maximize"),
        ("F1-Score", "F1 score", "maximize"),
        ("f1_macro", "macro-averaged F1 score", "maximize"),
        ("f1_micro", "micro-averaged F1 score", "maximize"),
        ("f1_weighted", "weighted F1 score", "maximize"),
        ("roc_auc", "ROC AUC", "maximize"),
        ("auc", "ROC AUC", "maximize"),
        ("mae", "mean absolute error", "minimize"),
        ("rmse", "root mean squared error", "minimize"),
        ("mse", "mean squared error", "minimize"),
        ("latency", "latency", "minimize"),
        ("latency_ms", "latency", "minimize"),
        ("latency_s", "latency", "minimize"),
        ("loss", "training loss", "minimize"),
        ("r2", "R²", "maximize"),
        ("my_metric", "my_metric", None),
    ],
)
def test_metric_label_and_default_direction(metric, label, direction):
    assert metric_label(metric) == label
    assert default_direction(metric) == direction


def test_every_known_metric_has_a_direction_and_a_sentence():
    for key, phrasing in METRIC_PHRASINGS.items():
        assert phrasing.direction in ("maximize", "minimize"), key
        assert metric_sentence(key, 0.5, split="test", threshold=0.6).endswith(".")


# --- one number ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "value", "threshold", "sentence"),
    [
        ("accuracy", 0.87, 0.85,
         "Right 87 times out of 100 on the test set; the agreed bar is 85."),
        ("accuracy", 0.87, None, "Right 87 times out of 100 on the test set."),
        ("acc", 0.875, 0.85,
         "Right 87.5 times out of 100 on the test set; the agreed bar is 85."),
        ("error_rate", 0.13, 0.15,
         "Wrong 13 times out of 100 on the test set; the agreed limit is 15."),
        ("error", 0.13, None, "Wrong 13 times out of 100 on the test set."),
        ("precision", 0.9, 0.85,
         "When it flags a case, it is right 90 times out of 100 on the test set;"
         " the agreed bar is 85."),
        ("precision", 0.9, None,
         "When it flags a case, it is right 90 times out of 100 on the test set."),
        ("recall", 0.8, 0.75,
         "Finds 80 of every 100 cases it should find on the test set; the agreed bar is 75."),
        ("recall", 0.8, None, "Finds 80 of every 100 cases it should find on the test set."),
        ("f1", 0.84, 0.85,
         f"Scores 84 out of 100 on F1, {F1_MEANS}, on the test set; the agreed bar is 85."),
        ("f1_score", 0.84, None, f"Scores 84 out of 100 on F1, {F1_MEANS}, on the test set."),
        ("f1_macro", 0.84, 0.8,
         f"Scores 84 out of 100 on macro-averaged F1, {F1_MEANS}, with every class counting"
         " equally, on the test set; the agreed bar is 80."),
        ("f1_micro", 0.84, None,
         f"Scores 84 out of 100 on micro-averaged F1, {F1_MEANS}, with every case counting"
         " equally, on the test set."),
        ("f1_weighted", 0.84, None,
         f"Scores 84 out of 100 on weighted F1, {F1_MEANS}, with bigger classes counting"
         " more, on the test set."),
        ("roc_auc", 0.91, 0.9,
         "Ranks a real case above a non-case 91 times out of 100 on the test set;"
         " the agreed bar is 90."),
        ("auc", 0.91, None,
         "Ranks a real case above a non-case 91 times out of 100 on the test set."),
        ("mae", 3.2, 3.5, "Off by 3.2 on average on the test set; the agreed limit is 3.5."),
        ("mae", 3.2, None, "Off by 3.2 on average on the test set."),
        ("rmse", 4.1, 5.0,
         "Off by about 4.1 in a typical case, counting big misses more, on the test set;"
         " the agreed limit is 5."),
        ("rmse", 4.1, None,
         "Off by about 4.1 in a typical case, counting big misses more, on the test set."),
        ("mse", 16.81, 20.0,
         "Squared error is 16.81 on average, counting big misses much more, on the test set;"
         " the agreed limit is 20."),
        ("latency_ms", 38.0, 50.0, "Answers in 38 ms on the test set; the limit is 50 ms."),
        ("latency", 38.0, None, "Answers in 38 ms on the test set."),
        ("latency_s", 0.038, 0.05, "Answers in 38 ms on the test set; the limit is 50 ms."),
        ("loss", 0.31, 0.3,
         "Training loss is 0.31 on the test set (lower is better); the agreed limit is 0.3."),
        ("loss", 0.31, None, "Training loss is 0.31 on the test set (lower is better)."),
        ("r2", 0.72, 0.7,
         "Explains 72 out of 100 parts of the variation in the outcome on the test set;"
         " the agreed bar is 70."),
        ("r2", -0.05, None,
         "Does worse than always guessing the average (scores -5 out of 100) on the test set."),
    ],
)
def test_metric_sentence(metric, value, threshold, sentence):
    assert metric_sentence(metric, value, split="test", threshold=threshold) == sentence


def test_metric_sentence_on_a_slice():
    text = metric_sentence("accuracy", 0.8, split="test/long_texts", threshold=0.85)
    assert text == (
        "Right 80 times out of 100 on the long texts slice of the test set;"
        " the agreed bar is 85."
    )


def test_metric_sentence_formats_threshold_like_the_value():
    text = metric_sentence("accuracy", 0.8725, split="validation", threshold=0.855)
    assert text == "Right 87.3 times out of 100 on the validation set; the agreed bar is 85.5."


def test_metric_sentence_direction_changes_the_bar_word():
    text = metric_sentence("mae", 3.2, split="test", threshold=3.5, direction="maximize")
    assert text == "Off by 3.2 on average on the test set; the agreed bar is 3.5."


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        (math.nan,
         "No usable F1 score on the test set (the run logged NaN); the agreed bar is 85."),
        (math.inf,
         "No usable F1 score on the test set (the run logged infinity); the agreed bar is 85."),
        (-math.inf,
         "No usable F1 score on the test set (the run logged minus infinity);"
         " the agreed bar is 85."),
    ],
)
def test_metric_sentence_when_the_run_logged_nan(value, sentence):
    assert metric_sentence("f1", value, split="test", threshold=0.85) == sentence


def test_metric_sentence_nan_without_threshold():
    text = metric_sentence("latency_ms", math.nan, split="test")
    assert text == "No usable latency on the test set (the run logged NaN)."


@pytest.mark.parametrize(
    ("direction", "threshold", "sentence"),
    [
        ("maximize", 0.5,
         "my_metric is 0.42 on the test set (higher is better); the agreed bar is 0.5."),
        ("minimize", 0.5,
         "my_metric is 0.42 on the test set (lower is better); the agreed limit is 0.5."),
        (None, 0.5, "my_metric is 0.42 on the test set; the agreed threshold is 0.5."),
        (None, None, "my_metric is 0.42 on the test set."),
    ],
)
def test_unknown_metric(direction, threshold, sentence):
    assert metric_sentence(
        "my_metric", 0.42, split="test", threshold=threshold, direction=direction
    ) == sentence


def test_unknown_metric_big_number():
    text = metric_sentence("rows_scored", 1234567.0, split="validation/long_texts")
    assert text == "rows_scored is 1,234,567 on the long texts slice of the validation set."


def test_unknown_direction_is_a_programming_error():
    with pytest.raises(ValueError):
        metric_sentence("f1", 0.8, split="test", direction="up")


# --- custom definitions ----------------------------------------------------------------------

CHURN = "{percent} of every 100 churners are caught"


def test_definition_appends_split_and_bar():
    text = metric_sentence(
        "churn_caught", 0.42, split="test", threshold=0.5, direction="maximize",
        definition=CHURN,
    )
    assert text == "42 of every 100 churners are caught on the test set; the agreed bar is 50."


def test_definition_without_threshold_and_with_a_full_stop():
    text = metric_sentence("churn_caught", 0.42, split="test", definition=CHURN + ".")
    assert text == "42 of every 100 churners are caught on the test set."


def test_definition_with_value_shows_threshold_as_a_plain_number():
    text = metric_sentence(
        "revenue_lift", 0.042, split="test", threshold=0.05, direction="maximize",
        definition="Revenue grows by {value} million a year",
    )
    assert text == "Revenue grows by 0.042 million a year on the test set; the agreed bar is 0.05."


def test_definition_places_split_and_threshold_itself():
    text = metric_sentence(
        "churn_caught", 0.42, split="test/long_texts", threshold=0.5,
        definition="On {split}, {percent} of every 100 churners are caught"
        " (we agreed on {threshold_percent}; {metric} is {value}, bar {threshold})",
    )
    assert text == (
        "On the long texts slice of the test set, 42 of every 100 churners are caught"
        " (we agreed on 50; churn_caught is 0.42, bar 0.5)."
    )


def test_definition_threshold_placeholder_without_a_threshold():
    text = metric_sentence(
        "churn_caught", 0.42, split="test", definition="{percent} caught; bar {threshold_percent}"
    )
    assert text == "42 caught; bar not agreed yet on the test set."


def test_definition_overrides_a_known_metric_and_keeps_its_direction():
    text = metric_sentence(
        "recall", 0.42, split="test", threshold=0.5, definition=CHURN
    )
    assert text == "42 of every 100 churners are caught on the test set; the agreed bar is 50."


def test_definition_with_literal_braces():
    text = metric_sentence("x", 0.42, split="test", definition="{{x}} is {value}")
    assert text == "{x} is 0.42 on the test set."


def test_definition_nan():
    text = metric_sentence("churn_caught", math.nan, split="test", threshold=0.5,
                           direction="maximize", definition=CHURN)
    assert text == (
        "No usable churn_caught on the test set (the run logged NaN); the agreed bar is 50."
    )


@pytest.mark.parametrize(
    "template", ["{churners} caught", "{percent", "}{percent}", "{value:.2f}", "no number", ""]
)
def test_bad_definition_falls_back_instead_of_crashing(template):
    assert metric_sentence(
        "churn_caught", 0.42, split="test", threshold=0.5, direction="maximize",
        definition=template,
    ) == "churn_caught is 0.42 on the test set (higher is better); the agreed bar is 0.5."


def test_bad_definition_of_a_known_metric_falls_back_to_its_phrasing():
    text = metric_sentence("accuracy", 0.87, split="test", definition="{oops}")
    assert text == "Right 87 times out of 100 on the test set."


@pytest.mark.parametrize(
    "template",
    [
        CHURN,
        "{value} churners are caught",
        "On {split}, {metric} is {percent} (bar {threshold_percent}, or {threshold})",
        "{{braces}} and {value}",
    ],
)
def test_validate_definition_accepts(template):
    assert validate_definition(template) is None


UNKNOWN = "; use {value}, {percent}, {threshold}, {threshold_percent}, {split} or {metric}."
BRACE = (
    "The definition has an unmatched brace; put placeholders in braces, like {percent},"
    " and write {{ or }} for a brace of its own."
)
EMPTY = (
    "The definition is empty; write a sentence with {percent} or {value} where the number goes."
)
FORMATTED = "carries a format; leave it out, numbers are formatted for you."


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("", EMPTY),
        ("   ", EMPTY),
        ("{percent", BRACE),
        ("{percent} caught}", BRACE),
        ("{churners} caught", "The definition uses an unknown placeholder {churners}" + UNKNOWN),
        ("{} caught", "The definition uses an unknown placeholder {}" + UNKNOWN),
        ("{0} caught", "The definition uses an unknown placeholder {0}" + UNKNOWN),
        ("{value.__class__}", "The definition uses an unknown placeholder {value.__class__}"
         + UNKNOWN),
        ("{value[0]}", "The definition uses an unknown placeholder {value[0]}" + UNKNOWN),
        ("{value:.2f}", "The placeholder {value} " + FORMATTED),
        ("{percent!r}", "The placeholder {percent} " + FORMATTED),
        ("churners are caught on {split}",
         "The definition never shows the number; include {value} or {percent}."),
    ],
)
def test_validate_definition_rejects(template, error):
    assert validate_definition(template) == error


# --- guardrails ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "value", "op", "limit", "passed", "sentence"),
    [
        ("latency_ms", 38.0, "<=", 50.0, True,
         "Answers in 38 ms on the test set; the limit is 50 ms (passes)."),
        ("latency_ms", 62.0, "<=", 50.0, False,
         "Answers in 62 ms on the test set; the limit is 50 ms (fails)."),
        ("model_size_mb", 250.0, "<", 200.0, False,
         "model_size_mb is 250 on the test set; it must stay below 200 (fails)."),
        ("accuracy", 0.83, ">=", 0.8, True,
         "Right 83 times out of 100 on the test set; the minimum is 80 (passes)."),
        ("recall", 0.72, ">", 0.7, True,
         "Finds 72 of every 100 cases it should find on the test set;"
         " it must stay above 70 (passes)."),
        ("loss", 0.31, "<=", 0.5, True,
         "Training loss is 0.31 on the test set (lower is better); the limit is 0.5 (passes)."),
    ],
)
def test_guardrail_sentence(metric, value, op, limit, passed, sentence):
    assert guardrail_sentence(
        metric, value, op=op, limit=limit, split="test", passed=passed
    ) == sentence


def test_guardrail_on_a_slice():
    text = guardrail_sentence(
        "accuracy", 0.78, op=">=", limit=0.8, split="test/long_texts", passed=False
    )
    assert text == (
        "Right 78 times out of 100 on the long texts slice of the test set;"
        " the minimum is 80 (fails)."
    )


def test_guardrail_not_measured():
    text = guardrail_sentence("latency_ms", None, op="<=", limit=50.0, split="test", passed=False)
    assert text == (
        'Latency was not measured on the test set, so the guardrail "latency at most 50 ms"'
        " fails."
    )


def test_guardrail_not_measured_unknown_metric_and_percent_limit():
    assert guardrail_sentence(
        "model_size_mb", None, op="<=", limit=200.0, split="test", passed=False
    ) == (
        'model_size_mb was not measured on the test set, so the guardrail'
        ' "model_size_mb at most 200" fails.'
    )
    assert guardrail_sentence(
        "f1", None, op=">=", limit=0.7, split="validation", passed=False
    ) == (
        'F1 score was not measured on the validation set, so the guardrail'
        ' "F1 score at least 70 out of 100" fails.'
    )


def test_guardrail_not_measured_but_counted_as_passed():
    text = guardrail_sentence("latency_ms", None, op="<", limit=50.0, split="test", passed=True)
    assert text == (
        'Latency was not measured on the test set, so the guardrail "latency below 50 ms"'
        " cannot be checked (counted as passed)."
    )


def test_guardrail_nan():
    text = guardrail_sentence("recall", math.nan, op=">", limit=0.7, split="test", passed=False)
    assert text == (
        "No usable recall on the test set (the run logged NaN), so the guardrail"
        ' "recall above 70 out of 100" fails.'
    )


def test_guardrail_unknown_op_is_a_programming_error():
    with pytest.raises(ValueError):
        guardrail_sentence("latency_ms", 38.0, op="=<", limit=50.0, split="test", passed=True)


# --- the project -----------------------------------------------------------------------------


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
