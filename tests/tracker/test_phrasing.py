"""The exact words a manager reads: every sentence is pinned literally."""

import math

import pytest

from tracker.phrasing import (
    METRIC_PHRASINGS,
    default_direction,
    guardrail_sentence,
    is_cost,
    metric_label,
    metric_sentence,
    outside_words,
    phrasing_for,
    range_words,
    split_phrase,
    validate_definition,
)

F1_MEANS = "a balance of finding the cases that matter and being right when it flags one"


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
        ("throughput", "throughput", "maximize"),
        ("qps", "throughput", "maximize"),
        ("model_size_mb", "model size", "minimize"),
        ("memory_mb", "memory use", "minimize"),
        ("peak_memory_mb", "memory use", "minimize"),
        ("loss", "training loss", "minimize"),
        ("r2", "R²", "maximize"),
        ("my_metric", "my_metric", None),
    ],
)
def test_metric_label_and_default_direction(metric, label, direction):
    assert metric_label(metric) == label
    assert default_direction(metric) == direction


FRACTIONS = ["accuracy", "acc", "error_rate", "precision", "recall", "sensitivity", "f1",
             "f1_score", "F1-Score", "f1_macro", "macro_f1", "f1_micro", "f1_weighted", "roc_auc",
             "auc"]


@pytest.mark.parametrize("metric", FRACTIONS)
def test_fraction_metrics_lie_between_0_and_1(metric):
    assert phrasing_for(metric).bounds == (0.0, 1.0)
    assert range_words(phrasing_for(metric).bounds) == "between 0 and 1"


@pytest.mark.parametrize(
    ("metric", "words"),
    [("mae", "never negative"), ("latency_ms", "never negative"), ("r2", "at most 1")])
def test_other_known_ranges(metric, words):
    assert range_words(phrasing_for(metric).bounds) == words


@pytest.mark.parametrize("metric", ["loss", "my_metric", "revenue"])
def test_a_metric_without_a_known_range_has_none(metric):
    assert phrasing_for(metric).bounds is None


def test_a_definition_that_says_the_number_out_of_100_declares_a_fraction():
    assert phrasing_for("churn_caught", "{percent} of every 100 churners are caught").bounds \
        == (0.0, 1.0)
    assert phrasing_for("churn_caught", "{value} churners are caught").bounds is None
    # A metric Targetline knows keeps its own range, whatever its definition says.
    assert phrasing_for("r2", "{percent} explained").bounds == (-math.inf, 1.0)
    assert phrasing_for("f1", "{value} on F1").bounds == (0.0, 1.0)


def test_where_a_value_lies_outside_its_range():
    assert outside_words((0.0, 1.0), 1.7) == "outside 0–1"
    assert outside_words((0.0, math.inf), -0.2) == "below 0"
    assert outside_words((-math.inf, 1.0), 1.2) == "above 1"


@pytest.mark.parametrize("metric", ["latency_ms", "latency", "latency_s", "throughput",
                                    "model_size_mb", "memory_mb"])
def test_measures_of_cost(metric):
    assert is_cost(metric)


@pytest.mark.parametrize("metric", ["f1", "recall", "loss", "mae", "latency_p95_ms"])
def test_measures_of_quality_and_unknown_metrics_are_not_cost(metric):
    assert not is_cost(metric)


def test_a_project_lists_its_own_measures_of_cost():
    assert is_cost("latency_p95_ms", ["latency_p95_ms"])
    assert not is_cost("latency_p95_ms", ["gpu_hours"])


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
         "The model takes 250 MB on the test set; it must stay below 200 MB (fails)."),
        ("gpu_hours", 250.0, "<", 200.0, False,
         "gpu_hours is 250 on the test set; it must stay below 200 (fails)."),
        ("memory_mb", 900.0, "<=", 1024.0, True,
         "Uses 900 MB of memory on the test set; the limit is 1,024 MB (passes)."),
        ("throughput", 120.0, ">=", 100.0, True,
         "Handles 120 cases a second on the test set; the minimum is 100 (passes)."),
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
        "gpu_hours", None, op="<=", limit=200.0, split="test", passed=False
    ) == (
        'gpu_hours was not measured on the test set, so the guardrail'
        ' "gpu_hours at most 200" fails.'
    )
    assert guardrail_sentence(
        "model_size_mb", None, op="<=", limit=200.0, split="test", passed=False
    ) == (
        'Model size was not measured on the test set, so the guardrail'
        ' "model size at most 200 MB" fails.'
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
