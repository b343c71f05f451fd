"""The sentences of check-in reports, alerts and their emails (pure: no ORM, no Django).

Sentences about one metric value (the winner, a guardrail) come from tracker.phrasing, so
the API, the web UI and the reports speak with one voice; this module adds what only a
report says: the target as a sentence, what changed since the last check-in, the runs and
experiments of the period. Slices live in reports/slice_words.py, the glossary and chart
captions in reports/reading_guide.py, what only page 1 says (who recorded a change of the
target, the limits in one line, the next step) in reports/page_one.py, email texts in
reports/emails.py. Numbers are shown the way tracker.phrasing shows them (F1 0.87 is "87 out
of 100"; latency 38 is "38 ms").
"""

import math
from dataclasses import dataclass
from datetime import date

from tracker import phrasing
from tracker.numbers import format_percent
from tracker.phrasing import metric_label, split_phrase

MAXIMIZE = phrasing.MAXIMIZE


@dataclass(frozen=True)
class TargetFacts:
    """The target as plain values."""

    metric: str
    direction: str
    threshold: float
    judged_on: str = "test"
    selected_on: str = "validation"
    agreed_by: str = ""
    agreed_on: date | None = None
    definition: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> "TargetFacts":
        agreed_on = data.get("agreed_on")
        if isinstance(agreed_on, str):
            agreed_on = date.fromisoformat(agreed_on)
        return cls(metric=data["metric"], direction=data["direction"],
                   threshold=data["threshold"], judged_on=data.get("judged_on") or "test",
                   selected_on=data.get("selected_on") or "validation",
                   agreed_by=data.get("agreed_by") or "", agreed_on=agreed_on,
                   definition=data.get("definition") or None)

    @classmethod
    def from_target(cls, target) -> "TargetFacts":
        """From a stored target (any object with the target's fields, such as the model)."""
        return cls(metric=target.metric, direction=target.direction,
                   threshold=target.threshold, judged_on=target.judged_on,
                   selected_on=target.selected_on, agreed_by=target.agreed_by or "",
                   agreed_on=target.agreed_on, definition=target.definition or None)

    @property
    def label(self) -> str:
        return metric_label(self.metric)

    @property
    def bar(self) -> str:
        """What the threshold is called: a bar to clear, or a limit to stay under."""
        return "bar" if self.direction == MAXIMIZE else "limit"


# --- numbers ---------------------------------------------------------------------------------

def _how(metric: str, definition: str | None = None) -> "phrasing.MetricPhrasing":
    # tracker.phrasing keeps how each metric is shown (scale, unit, "out of 100"); reusing
    # its table keeps a report's numbers identical to the API's and the UI's.
    return phrasing.phrasing_for(metric, definition)


def bare(metric: str, value: float, definition: str | None = None) -> str:
    """A value in the metric's units, without "out of 100": "85", "50 ms", "0.3"."""
    return _how(metric, definition).show(value)


def quantity(metric: str, value: float, definition: str | None = None) -> str:
    """A value as a reader sees it: "87 out of 100", "38 ms", "0.42"."""
    how = _how(metric, definition)
    if how.percent:
        return f"{format_percent(value)} out of 100"
    return how.show(value)


def amount(metric: str, difference: float, definition: str | None = None) -> str:
    """The size of a difference: "4 points", "1 point", "12 ms", "0.05"."""
    how = _how(metric, definition)
    if how.percent:
        shown = format_percent(abs(difference))
        return "1 point" if shown == "1" else f"{shown} points"
    return how.show(abs(difference))


def same_shown(metric: str, a: float, b: float, definition: str | None = None) -> bool:
    """Whether two values read the same to a person (then they did not change)."""
    return bare(metric, a, definition) == bare(metric, b, definition)


def gap_words(target: TargetFacts, gap: float) -> str:
    """How far from the threshold: "3 points short of", "12 ms over"."""
    how = _how(target.metric, target.definition)
    if target.direction != MAXIMIZE and not how.percent:
        return f"{amount(target.metric, gap, target.definition)} over"
    return f"{amount(target.metric, gap, target.definition)} short of"


# --- dates -----------------------------------------------------------------------------------

def day_text(day: date) -> str:
    """A day as people write it: "2 November 2026"."""
    return f"{day.day} {day:%B %Y}"


def period_text(start: date, end: date) -> str:
    """A period: "3 – 10 November 2026", "28 October – 3 November 2026"."""
    if start == end:
        return day_text(start)
    if start.year != end.year:
        return f"{day_text(start)} – {day_text(end)}"
    if start.month != end.month:
        return f"{start.day} {start:%B} – {day_text(end)}"
    return f"{start.day} – {day_text(end)}"


def since_words(previous_checkin: date | None, period_start: date) -> str:
    """"since the last check-in" when there was one, else "since 3 November 2026"."""
    if previous_checkin is not None:
        return "since the last check-in"
    return f"since {day_text(period_start)}"


def since_heading(had_checkin: bool) -> str:
    """The heading of "what changed": since the last check-in, or in this (first) period."""
    return "Since the last check-in" if had_checkin else "In this period"


def at_then_words(had_checkin: bool, period_start: date) -> str:
    """When "then" was: "at the last check-in" or "on 3 November 2026"."""
    return "at the last check-in" if had_checkin else f"on {day_text(period_start)}"


def counted(n: int, one: str, many: str) -> str:
    """"1 run", "3 runs"."""
    return f"1 {one}" if n == 1 else f"{n} {many}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- the target ------------------------------------------------------------------------------

def target_phrase(target: TargetFacts) -> str:
    """The target in words, the one phrasing the API and reports show: "F1 score of at
    least 85 out of 100 on the test set", "latency of at most 50 ms on the test set"."""
    bound = "at least" if target.direction == MAXIMIZE else "at most"
    return (f"{target.label} of {bound} "
            f"{quantity(target.metric, target.threshold, target.definition)} on "
            f"{split_phrase(target.judged_on)}")


def target_headline(target: TargetFacts) -> str:
    """The target on a line of its own, as the web UI heads its target cards: "At least 85
    out of 100 on F1, judged on the test set", "At most 50 ms on latency, judged on the test
    set". target_phrase's figures in target_phrase's scale, put so that the bar comes first
    and it cannot be read as a result."""
    bound = "At least" if target.direction == MAXIMIZE else "At most"
    return (f"{bound} {quantity(target.metric, target.threshold, target.definition)} on "
            f"{target.label.removesuffix(' score')}, judged on {split_phrase(target.judged_on)}")


def target_sentence(target: TargetFacts) -> str:
    """The target as a sentence, with who agreed to it and when.

    "Target: F1 score of at least 85 out of 100 on the test set, agreed by Dana on
    2 November 2026."
    """
    text = f"Target: {target_phrase(target)}"
    if target.agreed_by and target.agreed_on:
        return f"{text}, agreed by {target.agreed_by} on {day_text(target.agreed_on)}."
    if target.agreed_by:
        return f"{text}, agreed by {target.agreed_by}."
    if target.agreed_on:
        return f"{text}, agreed on {day_text(target.agreed_on)}."
    return f"{text}. Who agreed to it and when was not recorded."


_OP_WORDS = {"<=": "at most", "<": "below", ">=": "at least", ">": "above"}


def guardrail_phrase(rule: dict) -> str:
    """A guardrail in words, in its metric's scale: "latency at most 50 ms on the test set",
    "recall at least 90 out of 100 on the validation set"."""
    how = _how(rule["metric"])
    out_of = " out of 100" if how.percent else ""
    return (f"{how.label} {_OP_WORDS.get(rule['op'], rule['op'])} {how.show(rule['value'])}"
            f"{out_of} on {split_phrase(rule['split'])}")


# --- the best model and what changed -----------------------------------------------------------

def baseline_sentence(*, target: TargetFacts, name: str | None, judged: float | None) -> str:
    """The baseline as a sentence, by its experiment's name, or why its absence matters."""
    if name is None:
        # The best-model sentence already says there is none (tracker.phrasing.NO_BASELINE).
        return ("Without a baseline, a good-looking number may be no better than what is done "
                "today: log the current system or a simple rule as a baseline run, so the next "
                "report can show how much better the model does.")
    if judged is None or not math.isfinite(judged):
        return (f'The baseline ("{name}") has not been evaluated on '
                f"{split_phrase(target.judged_on)}, so we cannot say how much better the "
                "model does.")
    return (f'The baseline, the status quo to beat, is "{name}": '
            f"{quantity(target.metric, judged, target.definition)} on "
            f"{split_phrase(target.judged_on)}.")


def change_sentence(*, target: TargetFacts, then: float | None, now: float | None,
                    at_then: str, then_baseline: bool = False, replaced: bool = False) -> str:
    """The best model's judged value then → now, like with like.

    `at_then` says when "then" was: "at the last check-in" or "on 3 November 2026";
    `then_baseline` when the best run then was the baseline (named as the baseline, never as
    an earlier state of the model); `replaced` when another run is the best model now.
    """
    what = f"{target.label} on {split_phrase(target.judged_on)}"
    if now is None:
        return f"The best model has no {what} yet."
    shown = quantity(target.metric, now, target.definition)
    if then_baseline:
        return (f"{at_then[0].upper()}{at_then[1:]}, no model had beaten the baseline yet; now "
                f"the best model's {what} is {shown}.")
    if then is None:
        return f"There was no best model with a test result {at_then}; now its {what} is {shown}."
    same = same_shown(target.metric, then, now, target.definition)
    gain = now - then if target.direction == MAXIMIZE else then - now
    better = "better" if gain > 0 else "worse"
    difference = f"{amount(target.metric, gain, target.definition)} {better}"
    if replaced:
        head = (f"A new best model took over: its {what} is {shown}, against "
                f"{bare(target.metric, then, target.definition)} for the one {at_then}")
        if same:
            return f"{head}."
        if gain < 0:
            return (f"{head} ({difference}: it was picked because it does better on "
                    f"{split_phrase(target.selected_on)}).")
        return f"{head} ({difference})."
    if same:
        return f"The best model's {what} is {shown}, the same as {at_then}."
    return (f"The best model's {what} went from {bare(target.metric, then, target.definition)} "
            f"{at_then} to {shown} now ({difference}).")


def runs_sentence(*, finished: int, failed: int, killed: int, since: str) -> str:
    """How the period's runs ended, in plain words: "3 models finished training since …;
    1 attempt failed"."""
    head = (f"No model finished training {since}" if finished == 0
            else f"{counted(finished, 'model', 'models')} finished training {since}")
    troubles = []
    if failed:
        troubles.append(f"{counted(failed, 'attempt', 'attempts')} failed")
    if killed:
        stopped = "was stopped" if killed == 1 else "were stopped"
        troubles.append(f"{killed if failed else counted(killed, 'attempt', 'attempts')} "
                        f"{stopped} before the end")
    return f"{head}; {_join(troubles)}." if troubles else f"{head}."


def experiments_sentence(count: int) -> str:
    """How many experiments were worked on; page 1 leaves their names to the list further on."""
    if count == 0:
        return "No experiment was worked on."
    ideas = "1 idea (an experiment)" if count == 1 else f"{count} ideas (experiments)"
    return f"The team tried {ideas}, listed further on with what each tests and its result."


def experiment_runs_sentence(*, finished: int, failed: int) -> str:
    """How an experiment's runs ended: "2 runs finished, 1 failed or stopped."."""
    counts = f"{counted(finished, 'run', 'runs')} finished"
    if failed:
        counts += f", {failed} failed or stopped"
    return counts + "."


def experiment_result_sentence(*, target: TargetFacts, best_value: float | None,
                               best_run: str | None, finished: int, failed: int,
                               fails: list[str] = ()) -> str:
    """An experiment's best result on the selection split and how its runs went.

    `fails` are guardrail sentences (tracker.phrasing.guardrail_sentence) of the guardrails
    its best run fails: such a run can never be the best model, and the reader must know.
    """
    counts = experiment_runs_sentence(finished=finished, failed=failed).removesuffix(".")
    where = split_phrase(target.selected_on)
    if best_value is None:
        return f"No finished run reported its {target.label} on {where}; {counts}."
    result = (f"Best result: {quantity(target.metric, best_value, target.definition)} on "
              f'{where} (run "{best_run}"); {counts}.')
    if fails:
        result += " That run cannot be picked: " + " ".join(
            f[0].lower() + f[1:] if f[:2].istitle() else f for f in fails)
    return result


def guardrails_intro(*, count: int, has_winner: bool) -> str:
    if count == 0:
        return ("No guardrails are set: no other condition, such as speed or size, is "
                "required of a model.")
    if not has_winner:
        return "There is no best model yet, so no guardrail has been checked."
    if count == 1:
        return "The best model must also meet 1 guardrail:"
    return f"The best model must also meet {count} guardrails:"


# --- test-set discipline ---------------------------------------------------------------------

def test_looks_sentence(*, looks: int, runs: int) -> str:
    """How often test results of runs other than the best model and the baseline were shown."""
    if looks == 0:
        return ("Nobody looked at test results of runs other than the best model and the "
                "baseline in this period, so the test figure is still an honest check.")
    times = "once" if looks == 1 else f"{looks} times"
    return (f"Test results of runs other than the best model and the baseline were looked at "
            f"{times} in this period ({counted(runs, 'run', 'runs')}). Each look makes the test "
            "figure a little less trustworthy, because choices start to depend on it.")


# --- charts ----------------------------------------------------------------------------------

def chart_scale(metric: str, definition: str | None = None) -> tuple[float, str]:
    """How charts show a metric: (factor, unit words), so axes read like the sentences."""
    how = _how(metric, definition)
    if how.percent:
        return 100.0, "out of 100"
    return how.scale, how.unit.strip()
