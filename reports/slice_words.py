"""Slices of the judged split that lag the overall figure, in a report's words (pure)."""

import math

from reports.narrative import MAXIMIZE, TargetFacts, amount, bare, quantity
from tracker.phrasing import split_phrase

# A slice lags when it is worse than the overall figure by more than this share of the
# threshold (1 point when the bar is 100 out of 100): smaller gaps are noise.
SLICE_LAG_SHARE = 0.01


def slice_lags(*, value: float, overall: float, threshold: float, direction: str) -> bool:
    """Whether a slice does noticeably worse than the overall figure."""
    if not (math.isfinite(value) and math.isfinite(overall)):
        return False
    worse_by = overall - value if direction == MAXIMIZE else value - overall
    return worse_by > SLICE_LAG_SHARE * max(abs(threshold), 1e-12)


def slice_name(split: str) -> str:
    """A slice's own name: "test/long_texts" -> "long texts"."""
    return " / ".join(" ".join(p.replace("_", " ").replace("-", " ").split())
                      for p in split.split("/")[1:]) or split


def slice_sentence(*, target: TargetFacts, split: str, value: float, overall: float) -> str:
    """A lagging slice against the overall figure.

    "The long texts slice of the test set: 71 out of 100, against 83 overall (12 points
    worse)."
    """
    gap = overall - value if target.direction == MAXIMIZE else value - overall
    place = split_phrase(split)
    return (f"{place[0].upper()}{place[1:]}: "
            f"{quantity(target.metric, value, target.definition)}, against "
            f"{bare(target.metric, overall, target.definition)} overall "
            f"({amount(target.metric, gap, target.definition)} worse).")


def slices_intro(*, lagging: int, total: int, judged_on: str) -> str:
    where = split_phrase(judged_on)
    if total == 0:
        return (f"No slices of {where} were logged for the best model, so we cannot say "
                "whether some kinds of cases do worse than others.")
    if lagging == 0:
        return (f"On every slice of {where} the best model does about as well as overall, "
                "or better.")
    if lagging == 1:
        return f"1 slice of {where} lags the overall figure:"
    return f"{lagging} slices of {where} lag the overall figure:"
