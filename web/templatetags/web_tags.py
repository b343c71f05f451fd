"""Template filters of the web UI."""

from django import template

from tracker import numbers, phrasing
from web import presenters

register = template.Library()


@register.filter
def num(value) -> str:
    """A value as a table shows it: four significant digits, NaN and ±inf named."""
    return presenters.number(value)


@register.filter
def plain(value) -> str:
    """A number as a sentence writes it: "0.85", "1,234"."""
    if value is None:
        return "—"
    return numbers.format_number(float(value))


@register.filter
def in_scale(value, target) -> str:
    """A value of the target's metric in its sentences' scale: "97.6 out of 100", "38 ms"."""
    return presenters.in_scale(target, value)


@register.filter
def split_words(split: str) -> str:
    """"test/long_texts" -> "the long texts slice of the test set"."""
    return phrasing.split_phrase(split)


@register.filter
def metric_label(metric: str) -> str:
    return phrasing.metric_label(metric)


@register.inclusion_tag("web/_status.html")
def run_status(run):
    """A run's status badge ("silent" for a running run that went quiet)."""
    return {"status": presenters.run_status(run)}
