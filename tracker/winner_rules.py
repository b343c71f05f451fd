"""Winner rules, pure: which run is best, which guardrails it fails, how much it lifts.

The selectors feed these functions values read from the selection split (and
from the splits guardrails name); nothing here can see the judged split's
target metric, which is what keeps the quoted test figure honest.
"""

import math
import operator
from dataclasses import dataclass, field
from datetime import datetime

from tracker import phrasing

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class GuardrailRule:
    metric: str
    split: str
    op: str
    value: float

    def describe(self) -> str:
        return f"{self.split}.{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Candidate:
    run_id: object
    name: str
    ended_at: datetime | None
    selection_value: float | None
    # (metric, split) -> value at the run's best step, None when never logged
    guardrail_values: dict = field(default_factory=dict)
    baseline: bool = False


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    failures: tuple[str, ...]  # one sentence fragment per failed guardrail

    @property
    def passes(self) -> bool:
        return not self.failures


def usable(value: float | None) -> bool:
    """A value that can compete: present and not NaN (±inf is a real, if odd, value)."""
    return value is not None and not math.isnan(value)


def failed_guardrails(candidate: Candidate,
                      rules: list[GuardrailRule]) -> list[tuple[GuardrailRule, float | None]]:
    """The guardrails a candidate fails, each with the candidate's value (None or NaN: not
    logged); a missing or NaN metric fails its guardrail."""
    failed = []
    for rule in rules:
        value = candidate.guardrail_values.get((rule.metric, rule.split))
        if not usable(value) or not OPERATORS[rule.op](value, rule.value):
            failed.append((rule, value))
    return failed


def failure_text(rule: GuardrailRule, value: float | None, *, value_shown: bool = True) -> str:
    """Why a guardrail fails, in a few words: "test.latency_ms is 63.2 (test.latency_ms <=
    50)"; "is hidden" instead of the value where a page may not show it."""
    name = f"{rule.split}.{rule.metric}"
    if not usable(value):
        return f"{name} was not logged ({rule.describe()})"
    return f"{name} is {f'{value:.4g}' if value_shown else 'hidden'} ({rule.describe()})"


def guardrail_failures(candidate: Candidate, rules: list[GuardrailRule]) -> tuple[str, ...]:
    """Why the candidate fails its guardrails, one fragment per failed guardrail."""
    return tuple(failure_text(rule, value) for rule, value in failed_guardrails(candidate, rules))


def rank(candidates: list[Candidate], *, direction: str,
         rules: list[GuardrailRule]) -> list[Ranked]:
    """Candidates with a usable selection value, best first.

    Ties go to the run that finished earlier: it got there first.
    Runs failing a guardrail stay in the ranking (a leaderboard shows why they
    cannot win) but are never chosen by `choose`.
    """
    sign = -1.0 if direction == "maximize" else 1.0
    far_future = datetime.max

    def sort_key(c: Candidate):
        ended = c.ended_at.replace(tzinfo=None) if c.ended_at else far_future
        return (sign * c.selection_value, ended, str(c.run_id))

    competing = sorted((c for c in candidates if usable(c.selection_value)), key=sort_key)
    return [Ranked(c, guardrail_failures(c, rules)) for c in competing]


def choose(ranked: list[Ranked]) -> Ranked | None:
    """The first ranked candidate that passes every guardrail."""
    return next((r for r in ranked if r.passes), None)


def lift(winner_value: float | None, baseline_value: float | None, *,
         direction: str) -> float | None:
    """Winner minus baseline, signed so that positive is better."""
    if not usable(winner_value) or not usable(baseline_value):
        return None
    difference = winner_value - baseline_value
    return difference if direction == "maximize" else -difference


def met(value: float | None, *, threshold: float, direction: str) -> bool | None:
    """Inclusive: >= threshold when maximising, <= when minimising; None when unknown."""
    if not usable(value):
        return None
    return value >= threshold if direction == "maximize" else value <= threshold


def best_index(values: list[float | None], *, direction: str) -> int | None:
    """Index of the best usable value; the earliest wins a tie (early stopping keeps it)."""
    best = None
    for i, v in enumerate(values):
        if not usable(v):
            continue
        if best is None or (v > values[best] if direction == "maximize" else v < values[best]):
            best = i
    return best


def same_data(split: str, other: str) -> bool:
    """Whether two splits share cases: the same split, or one a slice of the other
    (test and test/long_texts)."""
    return split == other or split.startswith(other + "/") or other.startswith(split + "/")


def reads_judged_split(*, metric: str, split: str, judged_on: str,
                       cost_metrics: tuple[str, ...] | list[str] = (),
                       target_metric: str | None = None) -> bool:
    """Whether a guardrail would make winner selection read the judged (test) set: a measure
    of quality, or the target metric itself, checked there. Measures of cost (latency, size,
    ...: `phrasing.is_cost`, or one the project lists) are properties of the model and may be
    checked on any split."""
    if not same_data(split, judged_on):
        return False
    return metric == target_metric or not phrasing.is_cost(metric, cost_metrics)
