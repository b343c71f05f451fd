"""The axis rule every chart shares (reports/axes.py): fitted to the data and the bar."""

import pytest

from reports import axes

FRACTION = (0.0, 1.0)


def test_a_value_axis_is_fitted_to_the_runs_and_the_bar():
    axis = axes.value_axis([0.81, 0.8394], bar=0.85, bounds=FRACTION)
    assert 0.75 < axis.low < 0.81 and 0.85 < axis.high < 0.9
    assert axis.off_scale == ()


def test_the_bar_is_always_on_the_axis_even_far_from_the_runs():
    axis = axes.value_axis([0.2, 0.3], bar=0.9, bounds=FRACTION)
    assert axis.low < 0.2 and 0.9 < axis.high <= 1.0


def test_a_baseline_at_zero_does_not_stretch_the_axis_to_zero_it_is_named_below():
    axis = axes.value_axis([0.81, 0.8394], bar=0.85, context={"Baseline": [0.0]},
                           bounds=FRACTION)
    assert axis.low > 0.6  # not 0-1 because a baseline sits at 0
    assert axis.off_scale == (axes.OffScale("Baseline", 0.0, "below"),)


def test_a_baseline_near_the_runs_is_drawn():
    axis = axes.value_axis([0.81, 0.84], bar=0.85, context={"Baseline": [0.72]},
                           bounds=FRACTION)
    assert axis.low < 0.72 and axis.off_scale == ()


def test_a_baseline_above_the_runs_is_named_above():
    axis = axes.value_axis([0.12, 0.2], bar=0.15, context={"majority (baseline)": [2.3]})
    assert axis.high < 2.3
    assert axis.off_scale == (axes.OffScale("majority (baseline)", 2.3, "above"),)


def test_with_nothing_but_a_baseline_the_baseline_is_what_is_drawn():
    axis = axes.value_axis([], context={"Baseline": [0.0, 0.1]}, bounds=FRACTION)
    assert axis.low == 0.0 and axis.high > 0.1 and axis.off_scale == ()


def test_near_one_the_axis_stops_at_one_and_keeps_the_least_span():
    axis = axes.value_axis([0.97, 0.99, 1.0], bar=0.98, bounds=FRACTION)
    assert axis.high == 1.0
    assert axis.high - axis.low >= 0.1 - 1e-9  # 0.97 and 1.0 are not drawn a chart apart


def test_near_zero_the_axis_stops_at_zero():
    axis = axes.value_axis([0.01, 0.04], bar=0.02, bounds=FRACTION)
    assert axis.low == 0.0 and 0.04 < axis.high < 0.2


def test_away_from_its_bounds_an_axis_does_not_start_at_them():
    axis = axes.value_axis([0.5, 0.6], bar=0.55, bounds=FRACTION)
    assert 0.3 < axis.low < 0.5 and 0.6 < axis.high < 0.8


@pytest.mark.parametrize("values", [[-0.3, 0.4], [-0.3, -0.28], [1.02, 1.03]])
def test_a_bound_never_cuts_a_value(values):
    axis = axes.value_axis(values, bounds=FRACTION)  # an R² below zero, a value logged wrong
    assert axis.low < min(values) and axis.high > max(values)


def test_an_axis_without_bounds_pads_by_the_values_size():
    axis = axes.value_axis([120.0, 120.0], bar=None)
    assert axis.low < 120 < axis.high and axis.high - axis.low >= 24


def test_not_a_number_is_left_out_and_nothing_gives_no_axis():
    assert axes.value_axis([float("nan"), None, float("inf")]) is None
    assert axes.value_axis([float("nan"), 0.5], bar=0.6).low < 0.5


def test_bars_start_at_zero():
    axis = axes.value_axis([81.0, 83.9, 0.0], bar=85.0, from_zero=True, bounds=(0.0, 100.0))
    assert axis.low == 0.0 and 85 < axis.high <= 100


def test_known_fraction_metrics_have_bounds():
    assert axes.metric_bounds("f1") == FRACTION
    assert axes.metric_bounds("accuracy") == FRACTION
    assert axes.metric_bounds("loss") is None


# --- time ----------------------------------------------------------------------------------

T0 = 1_796_000_000.0  # epoch seconds
DAY = 86_400.0


def test_runs_that_ended_within_a_minute_are_drawn_in_order():
    moments = [T0, T0 + 3, T0 + 6]
    assert axes.time_axis(moments) is None
    assert axes.order_title("runs in the order they ended", moments) == (
        "runs in the order they ended (all within 6 seconds)")


def test_runs_over_minutes_get_a_time_axis_with_a_margin():
    axis = axes.time_axis([T0, T0 + 600])
    assert axis.low < T0 and axis.high > T0 + 600
    assert axis.tickformat is None  # hours and minutes: the chart library's own ticks


def test_runs_spread_over_a_period_get_the_whole_period():
    window = (T0, T0 + 7 * DAY)
    axis = axes.time_axis([T0 + DAY, T0 + 5 * DAY], window=window)
    assert axis.low <= T0 and axis.high >= T0 + 7 * DAY
    assert axis.tickformat == "%-d %b" and axis.dtick_s == DAY


def test_runs_bunched_at_the_end_of_a_period_get_an_axis_of_their_own():
    window = (T0, T0 + 7 * DAY)
    axis = axes.time_axis([T0 + 7 * DAY - 3600, T0 + 7 * DAY], window=window)
    assert T0 + 6 * DAY < axis.low < T0 + 7 * DAY - 3600


def test_curves_logged_in_one_go_are_drawn_by_step():
    assert axes.curves_time_axis([[T0, T0 + 0.001], [T0 + 6, T0 + 6.002]]) is None
    axis = axes.curves_time_axis([[T0, T0 + 30], [T0 + 6]])
    assert axis.low < T0 and axis.high > T0 + 30


@pytest.mark.parametrize(("seconds", "words"), [
    (0.2, "within a second"), (1, "within 1 second"), (45, "within 45 seconds"),
    (600, "within 10 minutes")])
def test_how_close_together_in_words(seconds, words):
    assert axes.within_words(seconds) == words
