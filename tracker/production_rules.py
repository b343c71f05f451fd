"""Production status, pure: is the deployed model still above the agreed bar, and when to alert.

The rules, in the order they are tried (docs/production.md says the same in prose):

1. Only live windows with at least MIN_LABELLED labelled (checked) cases and a usable value
   count: a figure measured on a handful of cases is noise. No such window → **no results**.
2. The latest counting window is quoted. It misses the bar (the threshold, inclusive as for
   the target) by a clear margin — at least CLEAR_MISS: one point for a metric read out of
   100, one hundredth of the threshold otherwise — or misses it for the second counting
   window in a row → **below the bar**.
3. It misses the bar by less than the clear margin, for the first time → **slipping**.
4. It meets the bar but lies at least SLIP_FROM_TEST (three points, or three hundredths of
   the threshold) below the test figure, or fell by at least SLIP_OVER_WINDOWS (two points,
   two hundredths) from the first to the last of the RECENT_WINDOWS latest counting windows
   → **slipping**.
5. Otherwise → **holding**.

Retraining is recommended below the bar, and when slipping while an input has drifted
significantly (tracker.drift's bands).

Alerts go out once per episode (`alerts_due`): when the status falls to below the bar, not
again until it has recovered (holding or slipping, i.e. back at or within the clear margin
of the bar) and fallen again; and for each feature when its drift becomes significant, not
again until it is back to stable (a PSI wavering around 0.25 alerts once). "No results" and a
feature missing from a window's drift change nothing.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from tracker.days import as_day, day_words, window_words
from tracker.drift import MODERATE, SIGNIFICANT, STABLE, FeatureDrift
from tracker.numbers import format_percent
from tracker.phrasing import MAXIMIZE, MINIMIZE, MetricPhrasing, phrasing_for, split_phrase

HOLDING = "holding"
SLIPPING = "slipping"
BELOW_THE_BAR = "below the bar"
NO_RESULTS = "no results"
STATUSES = (HOLDING, SLIPPING, BELOW_THE_BAR, NO_RESULTS)

# A window with fewer labelled cases than this is ignored: on 30 checked cases an accuracy of
# 83 out of 100 could as well be 70 or 95.
MIN_LABELLED = 100
# The trend is read over this many latest counting windows (first to last).
RECENT_WINDOWS = 3
# The margins, in points (hundredths) for a metric read out of 100; for any other metric as a
# share of the threshold (0.01 of an MAE bar of 4.0 is 0.04).
CLEAR_MISS = 0.01
SLIP_FROM_TEST = 0.03
SLIP_OVER_WINDOWS = 0.02

RETRAIN = "Retraining is recommended."
WATCH = "Watch the next results: retraining may soon be needed."
STILL_HOLDS = "The results still hold; watch the next ones."
CHECK_CASES = ("Label some recent cases to check it: its inputs no longer look like the "
               "training data.")

_NUMBER_WORDS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")

# How a built-in metric's sentence starts, said in the past about "the model"
# ("Right 83 times out of 100" -> "the model was right 83 times out of 100").
_PAST = {"Right": "was right", "Wrong": "was wrong", "Off": "was off", "Scores": "scored",
         "Finds": "found", "Ranks": "ranked", "Answers": "answered", "Handles": "handled"}


@dataclass(frozen=True)
class LiveWindow:
    """A deployment's live result over one window: the target metric's value on the
    `labelled` cases checked in it (None when not measured). A datetime end is exclusive."""

    start: date | datetime
    end: date | datetime
    value: float | None
    labelled: int


@dataclass(frozen=True)
class Production:
    """The answer: one of STATUSES, the window quoted, the sentence, whether to retrain."""

    status: str
    window: LiveWindow | None  # the latest counting window, the one quoted
    sentence: str
    retrain: bool
    reason: str = ""  # why slipping: "just under", "below test", "falling"


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def counting(windows: list[LiveWindow]) -> list[LiveWindow]:
    """The windows that count (rule 1), oldest first by their end."""
    kept = [w for w in windows if w.labelled >= MIN_LABELLED and _usable(w.value)]
    return sorted(kept, key=lambda w: (_moment(w.end), _moment(w.start)))


def _moment(moment: date | datetime) -> datetime:
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=None)
    return datetime(moment.year, moment.month, moment.day)


def _margin(share: float, phrasing: MetricPhrasing, threshold: float) -> float:
    return share if phrasing.percent else share * abs(threshold)


def _better_by(a: float, b: float, direction: str) -> float:
    """How much better a is than b (negative when worse); rounded so 0.85 - 0.84 is 0.01."""
    return round(a - b if direction == MAXIMIZE else b - a, 9)


def status_of(*, windows: list[LiveWindow], test_value: float | None, threshold: float,
              direction: str, phrasing: MetricPhrasing) -> tuple[str, str]:
    """The status (rules 1 to 5) and, when slipping, why ("just under", "below test",
    "falling")."""
    kept = counting(windows)
    if not kept:
        return NO_RESULTS, ""
    latest = kept[-1].value
    shortfall = _better_by(threshold, latest, direction)
    if shortfall > 0:
        previous_missed = len(kept) > 1 and _better_by(threshold, kept[-2].value, direction) > 0
        if shortfall >= _margin(CLEAR_MISS, phrasing, threshold) or previous_missed:
            return BELOW_THE_BAR, ""
        return SLIPPING, "just under"
    if _usable(test_value) and _better_by(test_value, latest, direction) >= _margin(
            SLIP_FROM_TEST, phrasing, threshold):
        return SLIPPING, "below test"
    recent = kept[-RECENT_WINDOWS:]
    if len(recent) == RECENT_WINDOWS and _better_by(recent[0].value, latest, direction) >= (
            _margin(SLIP_OVER_WINDOWS, phrasing, threshold)):
        return SLIPPING, "falling"
    return HOLDING, ""


# --- words -----------------------------------------------------------------------------------


def _points(phrasing: MetricPhrasing, difference: float) -> str:
    if phrasing.percent:
        shown = format_percent(abs(difference))
        return "1 point" if shown == "1" else f"{shown} points"
    return phrasing.show(abs(difference))


def _result(phrasing: MetricPhrasing, value: float) -> str:
    """"the model was right 83 times out of 100", "the model's precision was 83 out of 100"."""
    template = phrasing.template(value) if phrasing.builtin else ""
    first, _, rest = template.partition(" ")
    if first in _PAST and "{split}" not in rest:
        text = rest.format(value=phrasing.show(value), percent=format_percent(value))
        return f"the model {_PAST[first]} {text}".rstrip(",")
    shown = f"{format_percent(value)} out of 100" if phrasing.percent else phrasing.show(value)
    return f"the model's {phrasing.label} was {shown}"


def _against_bar(phrasing: MetricPhrasing, value: float, threshold: float,
                 direction: str) -> str:
    bar = phrasing.show(threshold)
    if direction == MINIMIZE:
        return f"{'within' if value <= threshold else 'over'} the agreed limit of {bar}"
    if phrasing.show(value) == bar:
        return f"at the agreed {bar}"
    return f"{'below' if value < threshold else 'above'} the agreed {bar}"


def feature_words(name: str) -> str:
    """A feature as a reader says it: "ticket_length" -> "ticket length"."""
    return " ".join(name.replace("_", " ").replace("-", " ").split())


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _number(n: int) -> str:
    return _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)


def _count_words(n: int, noun: str) -> str:
    return f"{_number(n)} {noun}" if n == 1 else f"{_number(n)} {noun}s"


def _band_of(item: FeatureDrift | dict) -> tuple[str, str]:
    if isinstance(item, FeatureDrift):
        return item.feature, item.band
    return item["feature"], item["band"]


def drift_sentences(drift: list[FeatureDrift | dict]) -> list[str]:
    """"Two inputs have shifted markedly since training: ticket length and channel." and the
    same for moderate drift ("One more has shifted somewhat: region." after it), each list in
    the order given (most drifted first)."""
    bands = list(map(_band_of, drift))
    marked = [feature_words(f) for f, b in bands if b == SIGNIFICANT]
    somewhat = [feature_words(f) for f, b in bands if b == MODERATE]
    sentences = []
    if marked:
        verb = "has" if len(marked) == 1 else "have"
        sentences.append(f"{_count_words(len(marked), 'input')} {verb} shifted markedly since "
                         f"training: {_listed(marked)}.")
    if somewhat:
        verb = "has" if len(somewhat) == 1 else "have"
        what = (f"{_number(len(somewhat))} more" if marked
                else _count_words(len(somewhat), "input"))
        since = "" if marked else " since training"
        sentences.append(f"{what} {verb} shifted somewhat{since}: {_listed(somewhat)}.")
    return sentences


def _slipping_words(reason: str, phrasing: MetricPhrasing, kept: list[LiveWindow],
                    test_value: float | None, direction: str) -> str:
    latest = kept[-1].value
    if reason == "just under":
        where = "under the bar" if direction == MAXIMIZE else "over the limit"
        return f"It is slipping: its first result just {where}."
    if reason == "below test":
        gap = _points(phrasing, _better_by(test_value, latest, direction))
        return f"It is slipping: {gap} worse than its test figure."
    first = kept[-RECENT_WINDOWS].value
    return (f"It is slipping: {_points(phrasing, _better_by(first, latest, direction))} worse "
            f"over the last {RECENT_WINDOWS} results.")


def production(*, metric: str, direction: str, threshold: float, test_value: float | None,
               windows: list[LiveWindow], drift: list[FeatureDrift | dict],
               live_since: date | datetime, today: date, judged_on: str = "test",
               cases: str = "cases", definition: str | None = None) -> Production:
    """The production status and the sentence a manager reads first.

    "Live since 3 November: on 310 checked tickets last week the model was right 83 times
    out of 100, below the agreed 85 (it scored 87 on the test set). Two inputs have shifted
    markedly since training: ticket length and channel. Retraining is recommended."

    `windows` are the deployment's live results of the target metric; `drift` the latest
    drift per feature (tracker.drift), most drifted first; `cases` the plural noun for what is
    checked ("tickets").
    """
    if direction not in (MAXIMIZE, MINIMIZE):
        raise ValueError(f"direction must be {MAXIMIZE!r} or {MINIMIZE!r}, not {direction!r}")
    phrasing = phrasing_for(metric, definition)
    status, reason = status_of(windows=windows, test_value=test_value, threshold=threshold,
                               direction=direction, phrasing=phrasing)
    since = f"Live since {day_words(as_day(live_since), today=today)}"
    drifted = drift_sentences(drift)
    significant = any(band == SIGNIFICANT for _, band in map(_band_of, drift))
    if status == NO_RESULTS:
        small = [w for w in windows if _usable(w.value)]
        if small:
            latest = max(small, key=lambda w: _moment(w.end))
            missing = (f"no result yet on at least {MIN_LABELLED} checked {cases} (the latest "
                       f"had {latest.labelled:,})")
        elif windows:
            missing = f"no live {phrasing.label} has been reported yet"
        else:
            missing = f"no checked {cases} yet"
        head = f"{since}: {missing}, so we cannot say how the model does."
        tail = [CHECK_CASES] if significant else []
        return Production(status, None, " ".join([head, *drifted, *tail]), False)
    kept = counting(windows)
    window = kept[-1]
    when = window_words(window.start, window.end, today=today)
    head = (f"{since}: on {window.labelled:,} checked {cases} {when} "
            f"{_result(phrasing, window.value)}, "
            f"{_against_bar(phrasing, window.value, threshold, direction)}")
    if _usable(test_value):
        head += f" (it scored {phrasing.show(test_value)} on {split_phrase(judged_on)})"
    sentences = [head + "."]
    if status == SLIPPING:
        sentences.append(_slipping_words(reason, phrasing, kept, test_value, direction))
    sentences.extend(drifted)
    retrain = status == BELOW_THE_BAR or (status == SLIPPING and significant)
    if retrain:
        sentences.append(RETRAIN)
    elif status == SLIPPING:
        sentences.append(WATCH)
    elif significant:
        sentences.append(STILL_HOLDS)
    return Production(status, window, " ".join(sentences), retrain, reason)


# --- alerts, once per episode ----------------------------------------------------------------


@dataclass(frozen=True)
class Episodes:
    """What has been alerted and not yet recovered: stored between evaluations."""

    below_bar: bool = False
    drifting: frozenset[str] = field(default_factory=frozenset)

    def as_dict(self) -> dict:
        return {"below_bar": self.below_bar, "drifting": sorted(self.drifting)}

    @classmethod
    def from_dict(cls, data: dict | None) -> "Episodes":
        data = data or {}
        return cls(bool(data.get("below_bar")), frozenset(data.get("drifting") or ()))


@dataclass(frozen=True)
class Alerts:
    below_bar: bool  # alert now: the live metric fell below the bar
    drifted: tuple[str, ...]  # alert now: these features' drift became significant
    episodes: Episodes  # to store for the next evaluation


def alerts_due(previous: Episodes, *, status: str, drift: list[FeatureDrift | dict]) -> Alerts:
    """Which alerts to send now, once per episode (see the module docstring)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    below = previous.below_bar
    alert_below = status == BELOW_THE_BAR and not below
    if status == BELOW_THE_BAR:
        below = True
    elif status in (HOLDING, SLIPPING):
        below = False
    drifting = set(previous.drifting)
    new = []
    for feature, band in map(_band_of, drift):
        if band == SIGNIFICANT and feature not in drifting:
            new.append(feature)
            drifting.add(feature)
        elif band == STABLE:
            drifting.discard(feature)
    return Alerts(alert_below, tuple(new), Episodes(below, frozenset(drifting)))
