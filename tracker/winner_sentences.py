"""Sentences about a project's standing: no target yet, the best model so far, no winner.

The verdict a manager reads first, on the dashboard, in the API and in reports. Built on
the metric phrasings of `tracker.phrasing`; pure (stdlib only).
"""

import math

from tracker.numbers import format_percent
from tracker.phrasing import (
    MAXIMIZE,
    MINIMIZE,
    MetricPhrasing,
    check_direction,
    clause,
    metric_label,
    phrasing_for,
    split_phrase,
)

NO_WINNER_REASONS = ("no_finished_runs", "no_selection_metric", "all_fail_guardrails")

NO_BASELINE = (
    "There is no baseline yet, so we cannot say whether the model beats the status quo."
)


def no_target_sentence() -> str:
    """What a project without an agreed target says instead of a verdict."""
    return (
        "No target has been agreed yet: agree on a metric, a direction and a threshold first,"
        " so we can say how far the project is from done."
    )


def _lower_first(text: str) -> str:
    # "Right 87 times" -> "right 87 times", but "ROC AUC" and "F1" keep their capitals.
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _points(phrasing: MetricPhrasing, difference: float) -> str:
    if phrasing.percent:
        shown = format_percent(difference)
        return f"{shown} point" if shown == "1" else f"{shown} points"
    return phrasing.show(difference)


def _shortfall_sentence(phrasing: MetricPhrasing, value: float, threshold: float,
                        direction: str) -> str:
    if phrasing.show(value) == phrasing.show(threshold):
        return "It falls just short of the target."
    gap = _points(phrasing, abs(threshold - value))
    if direction == MINIMIZE and not phrasing.percent:
        return f"It is {gap} over the agreed limit."
    return f"It falls {gap} short of the target."


def _lift_sentence(phrasing: MetricPhrasing, lift: float, direction: str) -> str:
    if not math.isfinite(lift):
        return "We cannot compare it with the baseline: one of them logged no usable value."
    if lift == 0:
        return "It does as well as the baseline."
    better = lift > 0
    amount = _points(phrasing, abs(lift))
    if phrasing.percent:
        return f"It does {amount} {'better' if better else 'worse'} than the baseline."
    lower = better == (direction == MINIMIZE)
    return f"It has {amount} {'lower' if lower else 'higher'} {phrasing.label} than the baseline."


def winner_sentence(*, metric: str, direction: str, threshold: float, judged_split: str,
                    judged_value: float | None, met: bool | None, baseline_value: float | None,
                    lift: float | None, run_name: str, definition: str | None = None) -> str:
    """The verdict on the best model so far, first, in one to three short sentences.

    'Best model so far (run "svm-c1"): right 87 times out of 100 on the test set; the
    agreed bar is 85. It meets the target. It does 5 points better than the baseline.'

    `met` and `lift` come from the winner rules; when they are None but the values are
    usable they are worked out here the same way (inclusive threshold, positive is better).
    """
    check_direction(direction)
    phrasing = phrasing_for(metric, definition)
    who = f'Best model so far (run "{run_name}")' if run_name else "Best model so far"
    sentences = []
    usable_value = judged_value is not None and math.isfinite(judged_value)
    if judged_value is None:
        sentences.append(
            f"{who} has not been evaluated on {split_phrase(judged_split)} yet,"
            " so we cannot say whether it meets the target."
        )
    else:
        text = clause(phrasing, metric, judged_value, split=judged_split,
                      threshold=threshold, direction=direction)
        if phrasing.builtin or not usable_value:
            text = _lower_first(text)
        sentences.append(f"{who}: {text}.")
        if not usable_value:
            sentences.append("We cannot say whether it meets the target.")
        else:
            if met is None:
                met = (judged_value >= threshold if direction == MAXIMIZE
                       else judged_value <= threshold)
            sentences.append(
                "It meets the target." if met
                else _shortfall_sentence(phrasing, judged_value, threshold, direction)
            )
    if baseline_value is None:
        sentences.append(NO_BASELINE)
    elif judged_value is not None:
        if lift is None:
            difference = judged_value - baseline_value
            lift = difference if direction == MAXIMIZE else -difference
        sentences.append(_lift_sentence(phrasing, lift, direction))
    return " ".join(sentences)


def no_winner_sentence(*, reason: str, metric: str | None = None,
                       selected_split: str | None = None) -> str:
    """Why there is no best model yet, for a project that has a target.

    `reason` is one of NO_WINNER_REASONS; `metric` and `selected_split` (the split winners
    are picked on) make the "no_selection_metric" sentence specific.
    """
    if reason == "no_finished_runs":
        return "No run has finished yet, so there is no best model to compare with the target."
    if reason == "no_selection_metric":
        what = f"its {metric_label(metric)}" if metric else "the target metric"
        where = f" on {split_phrase(selected_split)}" if selected_split else ""
        return f"No finished run has reported {what}{where} yet, so we cannot pick a best model."
    if reason == "all_fail_guardrails":
        return (
            "Every finished run fails at least one guardrail, so there is no model we can"
            " recommend yet."
        )
    raise ValueError(f"reason must be one of {', '.join(NO_WINNER_REASONS)}, not {reason!r}")


def judged_step_sentence(*, judged_split: str, selected_split: str,
                         judged_at_step: int | None, best_step: int | None) -> str | None:
    """For engineers, when the quoted figure and the selection come from different steps.

    "The test figure was logged at step 29; validation peaked at step 0." None when both
    come from the same step, or either step is unknown. (A manager's sentence stays as it
    is: the figure quoted is still the run's judged value.)
    """
    if judged_at_step is None or best_step is None or judged_at_step == best_step:
        return None
    return (f"The {judged_split} figure was logged at step {judged_at_step}; "
            f"{selected_split} peaked at step {best_step}.")
