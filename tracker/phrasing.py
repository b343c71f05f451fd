"""Plain-language sentences about metrics, targets and winners.

Managers read these in check-in reports and in the web UI. They do not know what
F1 is, so every number they see comes with a sentence: "Right 87 times out of 100
on the test set; the agreed bar is 85." Pure (stdlib only) so the API, the UI and
the report narrative speak with one voice.

Adding a metric is one entry in `METRIC_PHRASINGS`.
"""

import math
import string
from collections.abc import Callable
from dataclasses import dataclass

from tracker.numbers import format_number, format_percent

MAXIMIZE = "maximize"
MINIMIZE = "minimize"

# A metric's kind. A measure of cost (latency, throughput, size, memory) is a property of the
# model, not a score to optimise: it is the only kind a guardrail may check on the judged split.
QUALITY = "quality"
COST = "cost"

# The range of a fraction (accuracy, F1, ...) and of a quantity that is never negative.
FRACTION = (0.0, 1.0)
NON_NEGATIVE = (0.0, math.inf)

# The placeholders a project's own definition of a custom metric may use.
DEFINITION_PLACEHOLDERS = ("value", "percent", "threshold", "threshold_percent", "split", "metric")

# Filled in for {threshold} / {threshold_percent} while no threshold is agreed.
NOT_AGREED = "not agreed yet"


def _words(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").split())


# --- splits ----------------------------------------------------------------------------------

_SPLIT_NAMES = {"train": "training", "val": "validation", "valid": "validation"}


def split_phrase(split: str) -> str:
    """Where a number was measured: "the test set", "the long texts slice of the test set"."""
    base, _, slice_name = split.strip().partition("/")
    base_name = _SPLIT_NAMES.get(base.strip().lower(), _words(base).lower()) or "unnamed"
    phrase = f"the {base_name} set"
    slice_words = " / ".join(_words(part) for part in slice_name.split("/") if _words(part))
    if slice_words:
        return f"the {slice_words} slice of {phrase}"
    return phrase


# --- the metric table ------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricPhrasing:
    """How one metric is said.

    `says` is a str.format template (or a callable that picks one from the value) using
    the same placeholders as a project's own definition: {value}, {percent}, {threshold},
    {threshold_percent}, {split}, {metric}. Without {split}, " on <split>" is appended.
    """

    label: str
    direction: str | None
    says: str | Callable[[float], str]
    percent: bool = False  # numbers read as "N out of 100"; differences as points
    unit: str = ""
    scale: float = 1.0  # latency_s is shown in ms
    limit_words: str | None = None  # overrides "the agreed bar/limit is"
    states_direction: bool = False  # appends "(higher is better)" / "(lower is better)"
    aliases: tuple[str, ...] = ()
    builtin: bool = True
    bounds: tuple[float, float] | None = None  # (low, high) every value lies in, when known
    kind: str = QUALITY  # or COST

    def template(self, value: float) -> str:
        return self.says(value) if callable(self.says) else self.says

    def show(self, number: float) -> str:
        """A value, threshold or difference in this metric's units."""
        if self.percent:
            return format_percent(number)
        return format_number(number * self.scale) + self.unit


_F1_MEANS = "a balance of finding the cases that matter and being right when it flags one"


def _r_squared(value: float) -> str:
    if value < 0:
        return "Does worse than always guessing the average (scores {percent} out of 100)"
    return "Explains {percent} out of 100 parts of the variation in the outcome"


# Measures of cost: guardrails on the judged split may check these (see `is_cost`).
_COST = {"bounds": NON_NEGATIVE, "kind": COST}
_SMALLER = {"direction": MINIMIZE, "limit_words": "the limit is", **_COST}
_LATENCY = {"unit": " ms", **_SMALLER}

METRIC_PHRASINGS: dict[str, MetricPhrasing] = {
    "accuracy": MetricPhrasing(
        "accuracy", MAXIMIZE, "Right {percent} times out of 100", percent=True, aliases=("acc",),
        bounds=FRACTION,
    ),
    "error_rate": MetricPhrasing(
        "error rate", MINIMIZE, "Wrong {percent} times out of 100", percent=True,
        aliases=("error", "err"), bounds=FRACTION,
    ),
    "precision": MetricPhrasing(
        "precision", MAXIMIZE, "When it flags a case, it is right {percent} times out of 100",
        percent=True, bounds=FRACTION,
    ),
    "recall": MetricPhrasing(
        "recall", MAXIMIZE, "Finds {percent} of every 100 cases it should find", percent=True,
        aliases=("sensitivity",), bounds=FRACTION,
    ),
    "f1": MetricPhrasing(
        "F1 score", MAXIMIZE, "Scores {percent} out of 100 on F1, " + _F1_MEANS + ",",
        percent=True, aliases=("f1_score",), bounds=FRACTION,
    ),
    "f1_macro": MetricPhrasing(
        "macro-averaged F1 score", MAXIMIZE,
        "Scores {percent} out of 100 on macro-averaged F1, " + _F1_MEANS
        + ", with every class counting equally,",
        percent=True, aliases=("macro_f1", "f1_score_macro"), bounds=FRACTION,
    ),
    "f1_micro": MetricPhrasing(
        "micro-averaged F1 score", MAXIMIZE,
        "Scores {percent} out of 100 on micro-averaged F1, " + _F1_MEANS
        + ", with every case counting equally,",
        percent=True, aliases=("micro_f1", "f1_score_micro"), bounds=FRACTION,
    ),
    "f1_weighted": MetricPhrasing(
        "weighted F1 score", MAXIMIZE,
        "Scores {percent} out of 100 on weighted F1, " + _F1_MEANS
        + ", with bigger classes counting more,",
        percent=True, aliases=("weighted_f1", "f1_score_weighted"), bounds=FRACTION,
    ),
    "roc_auc": MetricPhrasing(
        "ROC AUC", MAXIMIZE, "Ranks a real case above a non-case {percent} times out of 100",
        percent=True, aliases=("auc", "auroc", "roc_auc_score"), bounds=FRACTION,
    ),
    "mae": MetricPhrasing(
        "mean absolute error", MINIMIZE, "Off by {value} on average",
        aliases=("mean_absolute_error",), bounds=NON_NEGATIVE,
    ),
    "rmse": MetricPhrasing(
        "root mean squared error", MINIMIZE,
        "Off by about {value} in a typical case, counting big misses more,",
        aliases=("root_mean_squared_error",), bounds=NON_NEGATIVE,
    ),
    "mse": MetricPhrasing(
        "mean squared error", MINIMIZE,
        "Squared error is {value} on average, counting big misses much more,",
        aliases=("mean_squared_error",), bounds=NON_NEGATIVE,
    ),
    "latency_ms": MetricPhrasing("latency", says="Answers in {value}", aliases=("latency",),
                                 **_LATENCY),
    "latency_s": MetricPhrasing("latency", says="Answers in {value}", scale=1000.0,
                                aliases=("latency_sec", "latency_seconds"), **_LATENCY),
    "throughput": MetricPhrasing(
        "throughput", MAXIMIZE, "Handles {value} cases a second",
        aliases=("throughput_per_s", "samples_per_second", "requests_per_second", "qps"),
        **_COST),
    "model_size_mb": MetricPhrasing(
        "model size", says="The model takes {value}", unit=" MB",
        aliases=("size_mb", "model_mb"), **_SMALLER),
    "memory_mb": MetricPhrasing(
        "memory use", says="Uses {value} of memory", unit=" MB",
        aliases=("peak_memory_mb", "memory_usage_mb", "ram_mb"), **_SMALLER),
    "loss": MetricPhrasing("training loss", MINIMIZE, "Training loss is {value}",
                           states_direction=True),
    "r2": MetricPhrasing("R²", MAXIMIZE, _r_squared, percent=True,
                         aliases=("r2_score", "r_squared", "rsquared"), bounds=(-math.inf, 1.0)),
}

_LOOKUP: dict[str, MetricPhrasing] = {}
for _key, _entry in METRIC_PHRASINGS.items():
    for _name in (_key, *_entry.aliases):
        _LOOKUP[_name] = _entry


def _known(metric: str) -> MetricPhrasing | None:
    key = "_".join(metric.strip().lower().replace("-", "_").split())
    return _LOOKUP.get(key)


def phrasing_for(metric: str, definition: str | None = None) -> MetricPhrasing:
    """The project's own definition when it is usable, else the table, else a generic one."""
    known = _known(metric)
    direction = known.direction if known else None
    if definition is not None and validate_definition(definition) is None:
        uses_percent = "percent" in _placeholders(definition)
        # A definition that says the number out of 100 declares the metric a fraction.
        bounds = known.bounds if known else (FRACTION if uses_percent else None)
        return MetricPhrasing(metric, direction, definition.strip().rstrip(".").rstrip(),
                              percent=uses_percent, builtin=False, bounds=bounds,
                              kind=known.kind if known else QUALITY)
    if known:
        return known
    return MetricPhrasing(metric, None, "{metric} is {value}", states_direction=True,
                          builtin=False)


def metric_label(metric: str) -> str:
    """The metric's name for a reader: "f1" -> "F1 score"; an unknown key is returned as is."""
    known = _known(metric)
    return known.label if known else metric


def is_cost(metric: str, extra: tuple[str, ...] | list[str] = ()) -> bool:
    """Whether a metric measures cost (latency, throughput, size, memory): the table's kind,
    or one of `extra`, the names a project lists as its own measures of cost."""
    known = _known(metric)
    return (known is not None and known.kind == COST) or metric in extra


def range_words(bounds: tuple[float, float]) -> str:
    """A metric's range in words: "between 0 and 1", "at most 1", "never negative"."""
    low, high = bounds
    if math.isfinite(low) and math.isfinite(high):
        return f"between {format_number(low)} and {format_number(high)}"
    if math.isfinite(high):
        return f"at most {format_number(high)}"
    return "never negative" if low == 0 else f"at least {format_number(low)}"


def outside_words(bounds: tuple[float, float], value: float) -> str:
    """Where a value lies against a range it should be in: "outside 0–1", "below 0"."""
    low, high = bounds
    if math.isfinite(low) and math.isfinite(high):
        return f"outside {format_number(low)}–{format_number(high)}"
    return f"below {format_number(low)}" if value < low else f"above {format_number(high)}"


def default_direction(metric: str) -> str | None:
    """"maximize" or "minimize" for the metrics we know; None when we cannot tell."""
    known = _known(metric)
    return known.direction if known else None


# --- custom definitions ----------------------------------------------------------------------


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def validate_definition(template: str) -> str | None:
    """Why a project's definition of a metric cannot be used, as a sentence; None when fine.

    A definition is a sentence with placeholders, e.g. "{percent} of every 100 churners are
    caught". The API rejects a template with this sentence as the error (400).
    """
    if not isinstance(template, str) or not template.strip():
        return (
            "The definition is empty; write a sentence with {percent} or {value} where the"
            " number goes."
        )
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return (
            "The definition has an unmatched brace; put placeholders in braces, like {percent},"
            " and write {{ or }} for a brace of its own."
        )
    allowed = ", ".join(f"{{{name}}}" for name in DEFINITION_PLACEHOLDERS[:-1])
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in DEFINITION_PLACEHOLDERS:
            return (
                f"The definition uses an unknown placeholder {{{field}}}; "
                f"use {allowed} or {{{DEFINITION_PLACEHOLDERS[-1]}}}."
            )
        if spec or conversion:
            return (
                f"The placeholder {{{field}}} carries a format; leave it out, "
                "numbers are formatted for you."
            )
    used = {field for _, field, _, _ in parsed if field is not None}
    if not used & {"value", "percent"}:
        return "The definition never shows the number; include {value} or {percent}."
    return None


# --- sentences about one number --------------------------------------------------------------


def check_direction(direction: str | None) -> None:
    if direction not in (MAXIMIZE, MINIMIZE, None):
        raise ValueError(f"direction must be {MAXIMIZE!r} or {MINIMIZE!r}, not {direction!r}")


def _bar_words(phrasing: MetricPhrasing, direction: str | None) -> str:
    if phrasing.limit_words:
        return phrasing.limit_words
    if direction == MAXIMIZE:
        return "the agreed bar is"
    if direction == MINIMIZE:
        return "the agreed limit is"
    return "the agreed threshold is"


def _plain(phrasing: MetricPhrasing, number: float) -> str:
    return format_number(number * phrasing.scale) + phrasing.unit


def _logged(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "infinity" if value > 0 else "minus infinity"


def clause(phrasing: MetricPhrasing, metric: str, value: float, *, split: str,
            threshold: float | None, direction: str | None) -> str:
    """The sentence without its full stop, so callers can continue it."""
    where = split_phrase(split)
    if not math.isfinite(value):
        text = f"No usable {phrasing.label} on {where} (the run logged {_logged(value)})"
        used: set[str] = set()
    else:
        template = phrasing.template(value)
        used = _placeholders(template)
        no_threshold = threshold is None
        text = template.format(
            value=_plain(phrasing, value),
            percent=format_percent(value),
            threshold=NOT_AGREED if no_threshold else _plain(phrasing, threshold),
            threshold_percent=NOT_AGREED if no_threshold else format_percent(threshold),
            split=where,
            metric=metric,
        )
        if "split" not in used:
            text += f" on {where}"
        if phrasing.states_direction and direction:
            text += " (higher is better)" if direction == MAXIMIZE else " (lower is better)"
    if threshold is not None and not used & {"threshold", "threshold_percent"}:
        text += f"; {_bar_words(phrasing, direction)} {phrasing.show(threshold)}"
    return text


def metric_sentence(metric: str, value: float, *, split: str, threshold: float | None = None,
                    direction: str | None = None, definition: str | None = None) -> str:
    """One sentence a manager can read about one number.

    "Right 87 times out of 100 on the test set; the agreed bar is 85."

    `definition` is the project's own template for a custom metric (see
    `validate_definition`); " on <split>" and "; the agreed bar is N" are appended unless
    the template places {split} or {threshold}/{threshold_percent} itself. A template that
    does not validate falls back to the built-in phrasing, so a report never crashes on it.
    """
    check_direction(direction)
    phrasing = phrasing_for(metric, definition)
    direction = direction or phrasing.direction
    return clause(phrasing, metric, value, split=split, threshold=threshold,
                   direction=direction) + "."


_GUARDRAIL_OPS = {
    "<=": ("the limit is", "at most"),
    "<": ("it must stay below", "below"),
    ">=": ("the minimum is", "at least"),
    ">": ("it must stay above", "above"),
}


def guardrail_words(op: str) -> tuple[str, str]:
    """How a guardrail's comparison is said: ("the limit is", "at most") for "<=", …"""
    if op not in _GUARDRAIL_OPS:
        raise ValueError(f"op must be one of {', '.join(_GUARDRAIL_OPS)}, not {op!r}")
    return _GUARDRAIL_OPS[op]


def _capitalized_label(phrasing: MetricPhrasing) -> str:
    label = phrasing.label
    return label[0].upper() + label[1:] if phrasing.builtin else label


def guardrail_sentence(metric: str, value: float | None, *, op: str, limit: float, split: str,
                       passed: bool) -> str:
    """A guardrail checked on one run: the value, the limit and whether it passes.

    "Answers in 38 ms on the test set; the limit is 50 ms (passes)."
    A missing or NaN value says so and names the guardrail that fails because of it.
    """
    limit_words, op_words = guardrail_words(op)
    phrasing = phrasing_for(metric)
    where = split_phrase(split)
    out_of = " out of 100" if phrasing.percent else ""
    rule = f'"{phrasing.label} {op_words} {phrasing.show(limit)}{out_of}"'
    outcome = "fails" if not passed else "cannot be checked (counted as passed)"
    if value is None:
        return (
            f"{_capitalized_label(phrasing)} was not measured on {where},"
            f" so the guardrail {rule} {outcome}."
        )
    if not math.isfinite(value):
        return (
            f"No usable {phrasing.label} on {where} (the run logged {_logged(value)}), "
            f"so the guardrail {rule} {outcome}."
        )
    text = clause(phrasing, metric, value, split=split, threshold=None,
                   direction=phrasing.direction)
    return f"{text}; {limit_words} {phrasing.show(limit)} ({'passes' if passed else 'fails'})."
