"""The verdict of a check-in: Target met, On track, At risk or No progress (pure).

The rules, in the order they are tried (the README's "Check-in reports" section says the
same in prose):

1. No agreed target → **No progress**: there is nothing to measure progress against.
2. No best model (no finished run, none reported the target metric on the selection
   split, or every one fails a guardrail) → **No progress**.
3. The best model has no usable value on the judged (test) split → **At risk**: we cannot
   tell how far it is from the target.
4. The best model's judged value meets the threshold (inclusive) → **Target met**.
5. There was no best model with a test value at the start of the period, so there is no
   trend yet → **At risk**.
6. Its value did not change since the start of the period (as a reader sees it: 82 and
   82.0 out of 100 are the same) → **No progress**.
7. It got worse (a new best model, picked on validation, does worse on test) → **At risk**.
8. It improved: at that pace the remaining gap closes within ON_TRACK_WITHIN more
   check-ins → **On track**; otherwise → **At risk**.

"The start of the period" is the best model as of the previous check-in; the pace is the
improvement during this period, so each verdict reads as "how did we do since last time".
"""

import math
from dataclasses import dataclass

from reports.narrative import TargetFacts, amount, bare, gap_words, quantity, same_shown
from tracker.phrasing import metric_label, split_phrase

MET = "met"
ON_TRACK = "on_track"
AT_RISK = "at_risk"
NO_PROGRESS = "no_progress"
LABELS = {MET: "Target met", ON_TRACK: "On track", AT_RISK: "At risk",
          NO_PROGRESS: "No progress"}

# At this period's pace, the gap must close within this many more check-ins to be on track.
ON_TRACK_WITHIN = 3


@dataclass(frozen=True)
class Verdict:
    kind: str  # MET, ON_TRACK, AT_RISK or NO_PROGRESS
    sentence: str

    @property
    def label(self) -> str:
        return LABELS[self.kind]


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _checkins(n: int) -> str:
    return "1 more check-in" if n == 1 else f"{n} more check-ins"


def decide(*, target: TargetFacts | None, no_winner_reason: str | None,
           current: float | None, start: float | None, runs_finished: int,
           since: str) -> Verdict:
    """The verdict and one sentence why.

    `current` is the best model's value on the judged split now; `start` the judged value
    of the best model at the start of the period (None when there was none, or it had no
    test value); `runs_finished` counts runs that finished in the period; `since` is
    "since the last check-in" or "since 3 November 2026".
    """
    if target is None:
        return Verdict(NO_PROGRESS, "No target has been agreed yet, so there is nothing to "
                                    "measure progress against.")
    if no_winner_reason is not None:
        return Verdict(NO_PROGRESS, _no_winner(target, no_winner_reason))
    judged = split_phrase(target.judged_on)
    what = f"{target.label} on {judged}"
    if not _usable(current):
        return Verdict(AT_RISK, f"The best model has not been evaluated on {judged} yet, so "
                                "we cannot tell how far it is from the target.")
    metric, definition, threshold = target.metric, target.definition, target.threshold
    now = quantity(metric, current, definition)
    bar = f"the agreed {target.bar} of {bare(metric, threshold, definition)}"
    maximize = target.direction == "maximize"
    if (current >= threshold) if maximize else (current <= threshold):
        where = "at or above" if maximize else "within"
        return Verdict(MET, f"The best model's {what} is {now}, {where} {bar}.")
    gap = abs(threshold - current)
    if not _usable(start):
        return Verdict(AT_RISK, f"This is the first test result of a best model: its {what} "
                                f"is {now}, {gap_words(target, gap)} {bar}; there is no "
                                "trend yet to say when it gets there.")
    then = bare(metric, start, definition)
    if same_shown(metric, start, current, definition):
        if runs_finished == 0:
            return Verdict(NO_PROGRESS, f"No run finished {since}, so the best model's {what} "
                                        f"is still {now}, against {bar}.")
        runs = "1 run" if runs_finished == 1 else f"{runs_finished} runs"
        return Verdict(NO_PROGRESS, f"The best model's {what} has not improved {since}: "
                                    f"still {now}, against {bar}, although {runs} finished.")
    gain = current - start if maximize else start - current
    if gain < 0:
        return Verdict(AT_RISK, f"The best model's {what} got worse {since}, from {then} to "
                                f"{now}, against {bar}.")
    needed = math.ceil(round(gap / gain, 6))  # 0.04 / 0.01 is 4, not 4.000000000000001
    if needed <= ON_TRACK_WITHIN:
        return Verdict(ON_TRACK, f"The best model's {what} improved from {then} to {now} "
                                 f"{since}; at that pace it reaches {bar} within "
                                 f"{_checkins(needed)}.")
    return Verdict(AT_RISK, f"The best model's {what} improved from {then} to {now} {since}, "
                            f"but at that pace the remaining "
                            f"{amount(metric, gap, definition)} to {bar} would take about "
                            f"{_checkins(needed)}.")


def _no_winner(target: TargetFacts, reason: str) -> str:
    if reason == "no_finished_runs":
        return "No run has finished yet, so there is no model to measure against the target."
    if reason == "no_selection_metric":
        return (f"No finished run has reported its {metric_label(target.metric)} on "
                f"{split_phrase(target.selected_on)} yet, so there is no model to measure "
                "against the target.")
    if reason == "all_fail_guardrails":
        return ("Every finished run fails at least one guardrail, so there is no model we "
                "could put forward yet.")
    raise ValueError(f"unknown reason {reason!r}")
