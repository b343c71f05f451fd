"""A business result's interval bar on the Production tab: better to the right of zero
whatever the metric's direction, figures signed in the reader's terms (pure)."""

from datetime import UTC, date, datetime
from types import SimpleNamespace

from tracker import impact as impact_rules
from web import presenters

TODAY = date(2026, 12, 8)


def _reading(*, direction, control, treatment, unit=""):
    control = impact_rules.group_from(control, field="control")
    treatment = impact_rules.group_from(treatment, field="treatment")
    found = impact_rules.difference(control, treatment)
    result = SimpleNamespace(direction=direction, unit=unit,
                             started_at=datetime(2026, 11, 2, tzinfo=UTC))
    return SimpleNamespace(result=result, control=control, treatment=treatment,
                           difference=found, verdict=found.verdict(direction),
                           is_rate=isinstance(control, impact_rules.Rate))


def test_a_rise_in_a_rate_to_maximize_is_drawn_right_of_zero_in_points():
    bar = presenters.impact_bar(_reading(direction="maximize",
                                         control={"successes": 4402, "n": 6200},
                                         treatment={"successes": 4712, "n": 6200}))
    assert (bar["estimate_text"], bar["low_text"], bar["high_text"]) == (
        "+5.0 points", "+3.4", "+6.5 points")
    assert 50 < bar["low"] < bar["estimate"] < bar["low"] + bar["width"] <= 100


def test_a_fall_in_handling_time_is_better_and_drawn_right_of_zero():
    bar = presenters.impact_bar(_reading(direction="minimize", unit="minutes",
                                         control={"mean": 12.4, "sd": 3.1, "n": 390},
                                         treatment={"mean": 11.8, "sd": 2.9, "n": 390}))
    assert bar["estimate_text"] == "+0.6 minutes"
    assert bar["estimate"] > 50 and bar["low"] > 50


def test_an_interval_across_zero_straddles_the_middle():
    bar = presenters.impact_bar(_reading(direction="maximize",
                                         control={"successes": 710, "n": 1000},
                                         treatment={"successes": 715, "n": 1000}))
    assert bar["low"] < 50 < bar["low"] + bar["width"]
    assert bar["low_text"].startswith("−") and bar["high_text"].startswith("+")
