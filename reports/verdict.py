"""The verdict of a check-in (pure): Target met, On track, At risk or No progress while the
project works towards its target; Holding, Slipping or Below the bar in production once a
model is deployed and its live results count.

"The best model" is the winner (picked on validation, quoted on test); a baseline run is
never counted as an earlier state of it. "The deployed model" is the one live in production,
judged on live cases by tracker.production_rules. The rules, in the order they are tried
(docs/reports.md says the same in prose):

1. No agreed target → **No progress**: there is nothing to measure progress against.
2. A model is live in production and has at least one live result that counts (enough
   checked cases, tracker.production_rules.MIN_LABELLED): the live results decide, since
   they say whether the model still does what was agreed, where the test set only said it
   would. Its production status, in words:
   a. below the bar (missed by a clear margin, or for the second result in a row) →
      **Below the bar in production**;
   b. slipping (just under the bar for the first time, or meeting it while well below its
      test figure or falling over the recent results) → **Slipping in production**;
   c. holding → **Holding in production**.
   Without a live result that counts, the rules below decide, as before the deployment.
3. No best model (no finished run, none reported the target metric on the selection
   split, or every one fails a guardrail) → **No progress**.
4. The best model has no usable value on the judged (test) split → **At risk**: we cannot
   tell how far it is from the target.
5. The best model's judged value meets the threshold (inclusive) → **Target met**, with
   the day since which it has.
6. There was no best model with a test value at the start of the period (the previous
   check-in): no trend yet → **At risk**, saying how far it is and what that rests on
   ("on the first check-in").
7. Its value did not change since the start of the period (as a reader sees it: 82 and
   82.0 out of 100 are the same) → **No progress**.
8. It got worse (a new best model, picked on validation, does worse on test) → **At risk**.
9. It improved, but there is no pace yet → **At risk**, "too early to tell the pace". A
   pace needs the best model's test value at PACE_MIN_CHECKINS earlier check-ins and
   PACE_MIN_DAYS days since its first test value: one day of runs, or a baseline followed by
   a model, is not a pace.
10. The pace is the gain per check-in from the earliest of the last PACE_WINDOW earlier
    check-ins with a value to now. At that pace the remaining gap closes within
    ON_TRACK_WITHIN more check-ins → **On track**; otherwise (or with no gain over that
    window) → **At risk**.
"""

import math
from dataclasses import dataclass
from datetime import date

from reports.narrative import TargetFacts, amount, bare, day_text, gap_words, quantity, same_shown
from tracker import production_rules
from tracker.phrasing import metric_label, split_phrase

MET = "met"
ON_TRACK = "on_track"
AT_RISK = "at_risk"
NO_PROGRESS = "no_progress"
HOLDING = "holding"
SLIPPING = "slipping"
BELOW_BAR = "below_bar"
LABELS = {MET: "Target met", ON_TRACK: "On track", AT_RISK: "At risk",
          NO_PROGRESS: "No progress", HOLDING: "Holding in production",
          SLIPPING: "Slipping in production", BELOW_BAR: "Below the bar in production"}
# The verdicts towards the target, and those of a model live in production (rule 2): the
# verdict box explains the verdicts of its own group.
TOWARDS_TARGET = (MET, ON_TRACK, AT_RISK, NO_PROGRESS)
IN_PRODUCTION = (HOLDING, SLIPPING, BELOW_BAR)
# The production status (tracker.production_rules) behind each verdict of rule 2.
_FROM_STATUS = {production_rules.HOLDING: HOLDING, production_rules.SLIPPING: SLIPPING,
                production_rules.BELOW_THE_BAR: BELOW_BAR}

# At the pace of recent check-ins, the gap must close within this many more to be on track.
ON_TRACK_WITHIN = 3
# A pace needs the best model's test value at this many earlier check-ins ...
PACE_MIN_CHECKINS = 2
# ... and this many days since its first test value.
PACE_MIN_DAYS = 14
# The pace is read over at most this many check-in periods, so an old jump does not last.
PACE_WINDOW = 3

# What each verdict means, in one line each: the verdict box shows all four.
MEANINGS = {
    MET: "the best model reaches the agreed target.",
    ON_TRACK: "not there yet, but at its pace over recent check-ins it gets there within "
              f"{ON_TRACK_WITHIN} more.",
    AT_RISK: "not there yet, and the results so far do not show it getting there within "
             f"{ON_TRACK_WITHIN} more check-ins.",
    NO_PROGRESS: "nothing improved since the last check-in, or there is no model to judge "
                 "yet.",
    HOLDING: "on live cases it meets the agreed target and holds steady.",
    SLIPPING: "on live cases it just misses the bar for the first time, is falling, or lags "
              "its test result.",
    BELOW_BAR: "on live cases it misses the agreed target clearly, or twice in a row.",
}

TOO_EARLY = ("It is too early to tell the pace: that takes the best model's results at "
             f"{PACE_MIN_CHECKINS} earlier check-ins, over at least {PACE_MIN_DAYS // 7} weeks.")


@dataclass(frozen=True)
class Verdict:
    kind: str  # MET, ON_TRACK, AT_RISK or NO_PROGRESS
    sentence: str
    too_early: bool = False  # below the target with no pace yet (rules 6 and 9)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def meaning(self) -> str:
        return MEANINGS[self.kind]


def explained(kind: str) -> tuple[str, ...]:
    """The verdicts the verdict box explains next to `kind`: those of its group."""
    return IN_PRODUCTION if kind in IN_PRODUCTION else TOWARDS_TARGET


@dataclass(frozen=True)
class Live:
    """The deployed model's live results as tracker.production_rules judged them: the
    production `status` and why when slipping (`reason`), the latest counting window's
    `value` on its `labelled` cases (`cases`: "tickets"), the deployed model's `test_value`,
    and for "falling" the value `earlier`, RECENT_WINDOWS counting windows back."""

    status: str
    value: float
    labelled: int
    cases: str = "cases"
    reason: str = ""
    test_value: float | None = None
    earlier: float | None = None


@dataclass(frozen=True)
class Record:
    """The best model's test values the verdict reads, as plain values.

    `start`: at the start of the period (None when there was no best model other than the
    baseline, or it had no test value); `checkins`: (day, value or None) at each earlier
    check-in, oldest first; `results_days`: days from the best model's first test value to
    the end of the period; `met_since`: the day since which the best model has met the
    current target (None when it does not).
    """

    start: float | None = None
    checkins: tuple[tuple[date, float | None], ...] = ()
    results_days: int = 0
    met_since: date | None = None


@dataclass(frozen=True)
class Pace:
    """The gain per check-in since the check-in of `since` (valued `then`), over `periods`."""

    since: date
    then: float
    periods: int
    per_checkin: float  # signed so that positive is better


def pace(record: Record, *, current: float, direction: str) -> Pace | None:
    """The best model's pace, or None while its history is too short to show one."""
    known = [(i, day, value) for i, (day, value) in enumerate(record.checkins)
             if _usable(value)]
    if len(known) < PACE_MIN_CHECKINS or record.results_days < PACE_MIN_DAYS:
        return None
    index, day, then = known[-PACE_WINDOW:][0]
    periods = len(record.checkins) - index
    gain = current - then if direction == "maximize" else then - current
    return Pace(since=day, then=then, periods=periods, per_checkin=gain / periods)


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _checkins(n: int) -> str:
    return "1 more check-in" if n == 1 else f"{n} more check-ins"


def decide(*, target: TargetFacts | None, no_winner_reason: str | None,
           current: float | None, record: Record, runs_finished: int,
           since: str, live: Live | None = None) -> Verdict:
    """The verdict and one sentence why, saying what it rests on.

    `current` is the best model's value on the judged split now; `record` its history
    (see Record); `runs_finished` counts runs that finished in the period; `since` is
    "since the last check-in" or "since 3 November 2026"; `live` the deployed model's live
    results when one is live in production (see Live).
    """
    if target is None:
        return Verdict(NO_PROGRESS, "No target has been agreed yet, so there is nothing to "
                                    "measure progress against.")
    if live is not None and live.status in _FROM_STATUS:
        return _in_production(target, live)
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
        held = f", and has been since {day_text(record.met_since)}" if record.met_since else ""
        return Verdict(MET, f"The best model's {what} is {now}, {where} {bar}{held}.")
    short = f"{gap_words(target, abs(threshold - current))} {bar}"
    start = record.start
    if not _usable(start):
        rests_on = ("on the first check-in: the best model's" if not record.checkins
                    else "on the best model's first check-in: its")
        return Verdict(AT_RISK, f"{short[0].upper()}{short[1:]} {rests_on} {what} is {now}. "
                                f"{TOO_EARLY}", too_early=True)
    then = bare(metric, start, definition)
    if same_shown(metric, start, current, definition):
        if runs_finished == 0:
            return Verdict(NO_PROGRESS, f"No model finished training {since}, so the best "
                                        f"model's {what} is still {now}, against {bar}.")
        runs = "1 model" if runs_finished == 1 else f"{runs_finished} models"
        return Verdict(NO_PROGRESS, f"The best model's {what} has not improved {since}: "
                                    f"still {now}, against {bar}, although {runs} finished "
                                    "training.")
    if (current < start) if maximize else (current > start):
        return Verdict(AT_RISK, f"The best model's {what} got worse {since}, from {then} to "
                                f"{now}, against {bar}.")
    found = pace(record, current=current, direction=target.direction)
    if found is None:
        return Verdict(AT_RISK, f"The best model's {what} improved from {then} to {now} "
                                f"{since}, {short}. {TOO_EARLY}", too_early=True)
    return _paced(target, found, what=what, now=now, bar=bar, current=current, since=since)


def _paced(target: TargetFacts, found: Pace, *, what: str, now: str, bar: str,
           current: float, since: str) -> Verdict:
    """Rule 10: on track or at risk at the pace of recent check-ins."""
    metric, definition = target.metric, target.definition
    then = bare(metric, found.then, definition)
    at = f"the check-in of {day_text(found.since)}"
    if found.per_checkin <= 0 or same_shown(metric, found.then, current, definition):
        return Verdict(AT_RISK, f"The best model's {what} improved {since}, but at {now} it "
                                f"is no better than at {at} ({then}): no steady gain "
                                f"towards {bar}.")
    gap = abs(target.threshold - current)
    needed = math.ceil(round(gap / found.per_checkin, 6))  # 0.04 / 0.01 is 4, not 4.0000001
    rose = (f"The best model's {what} improved from {then} at {at} to {now}, about "
            f"{amount(metric, found.per_checkin, definition)} per check-in")
    if needed <= ON_TRACK_WITHIN:
        return Verdict(ON_TRACK, f"{rose}; at that pace it reaches {bar} within "
                                 f"{_checkins(needed)}.")
    return Verdict(AT_RISK, f"{rose}; at that pace the remaining "
                            f"{amount(metric, gap, definition)} to {bar} would take about "
                            f"{_checkins(needed)}.")


def _in_production(target: TargetFacts, live: Live) -> Verdict:
    """Rule 2: the deployed model's live results against the target."""
    metric, definition = target.metric, target.definition
    kind = _FROM_STATUS[live.status]
    now = quantity(metric, live.value, definition)
    bar = f"the agreed {target.bar} of {bare(metric, target.threshold, definition)}"
    model = f"In production, the model's {target.label} is"
    checked = f"on the latest {live.labelled:,} checked {live.cases}"
    test = ("" if not _usable(live.test_value)
            else f" ({bare(metric, live.test_value, definition)} on the test set)")
    if kind == BELOW_BAR or live.reason == "just under":
        short = f"{gap_words(target, abs(target.threshold - live.value))} {bar}"
        first = " for the first time" if kind == SLIPPING else ""
        return Verdict(kind, f"{model} {short}{first}: {now} {checked}{test}.")
    where = "at or above" if target.direction == "maximize" else "within"
    if kind == HOLDING:
        return Verdict(kind, f"{model} {now} {checked}, {where} {bar}{test}.")
    if live.reason == "below test":
        worse = amount(metric, live.test_value - live.value, definition)
        return Verdict(kind, f"{model} {now} {checked}: still {where} {bar}, but {worse} "
                             f"worse than its {bare(metric, live.test_value, definition)} on "
                             "the test set.")
    fell = amount(metric, live.earlier - live.value, definition)
    return Verdict(kind, f"{model} {now} {checked}: still {where} {bar}, but {fell} worse "
                         f"than {production_rules.RECENT_WINDOWS - 1} results earlier "
                         f"({bare(metric, live.earlier, definition)}).")


def _no_winner(target: TargetFacts, reason: str) -> str:
    if reason == "no_finished_runs":
        return ("No model has finished training yet, so there is nothing to measure against "
                "the target.")
    if reason == "no_selection_metric":
        return (f"No trained model has reported its {metric_label(target.metric)} on "
                f"{split_phrase(target.selected_on)} yet, so there is nothing to measure "
                "against the target.")
    if reason == "all_fail_guardrails":
        return ("Every model trained so far breaks at least one of the agreed limits (such "
                "as answering fast enough), so there is none we could put forward yet.")
    raise ValueError(f"unknown reason {reason!r}")
