"""Business impact, pure: an A/B test's or a backtest's difference with its 95 % interval, said
plainly (docs/production.md).

A rate (successes out of n: first-contact resolution, churn) is compared with Newcombe's
hybrid score interval for a difference of two proportions (Newcombe 1998, method 10), built
from each group's Wilson interval. It keeps its promised 95 % coverage with small groups and
rates near 0 or 100 %, where the textbook Wald interval is too narrow (and can run past
0–100 %); on large tests the two agree to the first decimal. A mean (handling time, basket
size) is compared with Welch's interval, which does not assume both groups vary alike; its
t quantile comes from scipy.stats.

"Better" follows the metric's direction: `maximize` when higher is better, `minimize` when
lower is. The difference is treatment minus control. An interval that lies wholly on the
better side is "a real improvement", wholly on the worse side "a real decline"; one that
contains zero (or touches it) shows no difference.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime

from scipy import stats

from tracker.days import as_day, last_day, span_words
from tracker.errors import InvalidInput
from tracker.numbers import format_fixed, format_number
from tracker.phrasing import MAXIMIZE, MINIMIZE

AB_TEST = "ab_test"
BACKTEST = "backtest"
KINDS = (AB_TEST, BACKTEST)

CONFIDENCE = 0.95
# The normal quantile of a two-sided 95 % interval, 1.959964...
Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))

IMPROVEMENT = "improvement"
DECLINE = "decline"
NO_DIFFERENCE = "no difference"


@dataclass(frozen=True)
class Rate:
    """One group's successes out of n."""

    successes: int
    n: int

    @property
    def value(self) -> float:
        return self.successes / self.n


@dataclass(frozen=True)
class Mean:
    """One group's mean, standard deviation (n - 1 in the denominator) and size."""

    mean: float
    sd: float
    n: int

    @property
    def value(self) -> float:
        return self.mean


@dataclass(frozen=True)
class Difference:
    """Treatment minus control, with its 95 % interval (low <= estimate <= high)."""

    estimate: float
    low: float
    high: float
    method: str  # "newcombe" or "welch"

    def verdict(self, direction: str) -> str:
        """IMPROVEMENT, DECLINE or NO_DIFFERENCE, the metric's direction taken into account."""
        if self.low > 0 or self.high < 0:
            higher = self.low > 0
            return IMPROVEMENT if higher == (direction == MAXIMIZE) else DECLINE
        return NO_DIFFERENCE


# --- input -----------------------------------------------------------------------------------


def _count(data: dict, key: str, field: str, *, least: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise InvalidInput(f"{field}.{key} must be an integer of at least {least}.",
                           field=f"{field}.{key}")
    return value


def _finite(data: dict, key: str, field: str) -> float:
    value = data.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput(f"{field}.{key} must be a finite number.", field=f"{field}.{key}")
    return float(value)


def group_from(data, *, field: str) -> Rate | Mean:
    """A group from its JSON: {"successes", "n"} for a rate, {"mean", "sd", "n"} for a mean.

    Raises InvalidInput naming the field ("control.n", "treatment.sd") when it cannot be used.
    """
    if not isinstance(data, dict):
        raise InvalidInput(f'{field} must be {{"successes", "n"}} or {{"mean", "sd", "n"}}.',
                           field=field)
    if "successes" in data:
        n = _count(data, "n", field, least=1)
        successes = _count(data, "successes", field, least=0)
        if successes > n:
            raise InvalidInput(f"{field}.successes cannot exceed {field}.n ({n}).",
                               field=f"{field}.successes")
        return Rate(successes, n)
    if "mean" in data:
        n = _count(data, "n", field, least=2)  # a standard deviation needs two cases
        sd = _finite(data, "sd", field)
        if sd < 0:
            raise InvalidInput(f"{field}.sd cannot be negative.", field=f"{field}.sd")
        return Mean(_finite(data, "mean", field), sd, n)
    raise InvalidInput(f'{field} must be {{"successes", "n"}} or {{"mean", "sd", "n"}}.',
                       field=field)


# --- intervals -------------------------------------------------------------------------------


def wilson(successes: int, n: int) -> tuple[float, float]:
    """The Wilson score interval of one proportion (no continuity correction)."""
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def rate_difference(control: Rate, treatment: Rate) -> Difference:
    """Treatment's rate minus control's, with Newcombe's hybrid score 95 % interval."""
    p1, p2 = control.value, treatment.value
    low1, high1 = wilson(control.successes, control.n)
    low2, high2 = wilson(treatment.successes, treatment.n)
    estimate = p2 - p1
    return Difference(estimate,
                      estimate - math.hypot(p2 - low2, high1 - p1),
                      estimate + math.hypot(high2 - p2, p1 - low1),
                      "newcombe")


def mean_difference(control: Mean, treatment: Mean) -> Difference:
    """Treatment's mean minus control's, with Welch's 95 % interval (Welch–Satterthwaite
    degrees of freedom). Two groups without spread give a zero-width interval."""
    v1, v2 = control.sd ** 2 / control.n, treatment.sd ** 2 / treatment.n
    estimate = treatment.mean - control.mean
    if v1 + v2 == 0:
        return Difference(estimate, estimate, estimate, "welch")
    df = (v1 + v2) ** 2 / (v1 ** 2 / (control.n - 1) + v2 ** 2 / (treatment.n - 1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * math.sqrt(v1 + v2)
    return Difference(estimate, estimate - half, estimate + half, "welch")


def difference(control: Rate | Mean, treatment: Rate | Mean) -> Difference:
    """The difference of two groups of the same kind (two rates or two means)."""
    if isinstance(control, Rate) and isinstance(treatment, Rate):
        return rate_difference(control, treatment)
    if isinstance(control, Mean) and isinstance(treatment, Mean):
        return mean_difference(control, treatment)
    raise InvalidInput("control and treatment must both be rates (successes, n) or both be "
                       "means (mean, sd, n).", field="treatment")


# --- the sentence ----------------------------------------------------------------------------


def _value(group: Rate | Mean, unit: str) -> str:
    if isinstance(group, Rate):
        return f"{format_fixed(group.value * 100)} %"
    return format_number(group.mean) + unit


def _size(number: float, *, rate: bool, unit: str) -> str:
    if rate:
        shown = format_fixed(abs(number) * 100)
        return f"{shown} point" if shown == "1.0" else f"{shown} points"
    return format_number(abs(number)) + unit


def _bare(number: float, *, rate: bool) -> str:
    return format_fixed(abs(number) * 100) if rate else format_number(abs(number))


def _interval(found: Difference, sign: int, *, rate: bool, unit: str) -> str:
    # The interval in the reader's terms: how much better (or worse), smaller end first.
    better_low, better_high = sorted((sign * found.low, sign * found.high))
    if better_low > 0 or better_high < 0:
        ends = sorted((abs(better_low), abs(better_high)))
        return f"{_bare(ends[0], rate=rate)} to {_size(ends[1], rate=rate, unit=unit)}"
    return (f"{_size(better_low, rate=rate, unit=unit)} worse to "
            f"{_size(better_high, rate=rate, unit=unit)} better")


def impact_sentence(*, kind: str, metric: str, direction: str, control: Rate | Mean,
                    treatment: Rate | Mean, started_on: date | datetime,
                    ended_on: date | datetime, today: date,
                    cases: str = "cases", unit: str = "") -> str:
    """What an A/B test or a backtest showed, in one sentence.

    "In the A/B test from 2 to 16 November (12,400 tickets), first-contact resolution went
    from 71.0 % to 76.0 %: 5.0 points better (95 % interval: 3.4 to 6.6 points), a real
    improvement."

    `metric` is the business metric as people call it; `cases` the plural noun for what was
    counted ("tickets"); `unit` is appended to means (" minutes"). A backtest says what
    "would have" happened on past data. A datetime end is exclusive, as a live window's.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if direction not in (MAXIMIZE, MINIMIZE):
        raise ValueError(f"direction must be {MAXIMIZE!r} or {MINIMIZE!r}, not {direction!r}")
    found = difference(control, treatment)
    rate = isinstance(control, Rate)
    sign = 1 if direction == MAXIMIZE else -1
    when = span_words(as_day(started_on), last_day(started_on, ended_on), today=today)
    what = "the A/B test" if kind == AB_TEST else "the backtest on data"
    moved = "went" if kind == AB_TEST else "would have gone"
    head = (f"In {what} {when} ({control.n + treatment.n:,} {cases}), {metric} {moved} from "
            f"{_value(control, unit)} to {_value(treatment, unit)}")
    size = _size(found.estimate, rate=rate, unit=unit)
    unchanged = _bare(found.estimate, rate=rate) in ("0", "0.0")
    better = sign * found.estimate > 0
    estimate = "no change" if unchanged else f"{size} {'better' if better else 'worse'}"
    verdict = found.verdict(direction)
    if verdict == IMPROVEMENT:
        tail = ", a real improvement."
    elif verdict == DECLINE:
        tail = ", a real decline."
    else:
        tail = ", so no difference was shown." if unchanged else ", but no difference was shown."
    interval = _interval(found, sign, rate=rate, unit=unit)
    return f"{head}: {estimate} (95 % interval: {interval}){tail}"
