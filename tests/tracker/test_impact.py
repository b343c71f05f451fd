"""Business impact: the intervals against scipy on fixed inputs, every sentence pinned."""

import math
from datetime import UTC, date, datetime

import numpy as np
import pytest
from scipy import stats

from tracker.errors import InvalidInput
from tracker.impact import (
    DECLINE,
    IMPROVEMENT,
    NO_DIFFERENCE,
    Mean,
    Rate,
    Z,
    difference,
    group_from,
    impact_sentence,
    mean_difference,
    rate_difference,
    wilson,
)

TODAY = date(2026, 12, 7)
# 71.0 % of 5,000 and 76.0 % of 7,400 tickets: the issue's example, 12,400 tickets.
CONTROL, TREATMENT = Rate(3550, 5000), Rate(5624, 7400)


def test_z_is_the_normal_quantile():
    assert round(Z, 6) == 1.959964


@pytest.mark.parametrize(("successes", "n"), [(3550, 5000), (0, 20), (20, 20), (3, 17)])
def test_wilson_matches_scipy(successes, n):
    expected = stats.binomtest(successes, n).proportion_ci(0.95, method="wilson")
    low, high = wilson(successes, n)
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


@pytest.mark.parametrize(("control", "treatment"), [
    (CONTROL, TREATMENT), (Rate(3, 17), Rate(9, 21)), (Rate(0, 30), Rate(4, 30)),
])
def test_newcombe_interval_from_scipys_wilson_intervals(control, treatment):
    # Newcombe (1998), method 10: d -/+ sqrt of the squared distances to the Wilson bounds.
    ci1 = stats.binomtest(control.successes, control.n).proportion_ci(0.95, method="wilson")
    ci2 = stats.binomtest(treatment.successes, treatment.n).proportion_ci(0.95, method="wilson")
    p1, p2 = control.value, treatment.value
    d = p2 - p1
    found = rate_difference(control, treatment)
    assert found.method == "newcombe"
    assert found.estimate == pytest.approx(d)
    assert found.low == pytest.approx(d - math.sqrt((p2 - ci2.low) ** 2 + (ci1.high - p1) ** 2))
    assert found.high == pytest.approx(d + math.sqrt((ci2.high - p2) ** 2 + (p1 - ci1.low) ** 2))


def test_on_a_large_test_newcombe_and_wald_agree_to_the_first_decimal():
    p1, p2 = CONTROL.value, TREATMENT.value
    se = math.sqrt(p1 * (1 - p1) / CONTROL.n + p2 * (1 - p2) / TREATMENT.n)
    z = stats.norm.ppf(0.975)
    found = rate_difference(CONTROL, TREATMENT)
    assert round(found.low * 100, 1) == round((p2 - p1 - z * se) * 100, 1) == 3.4
    assert round(found.high * 100, 1) == round((p2 - p1 + z * se) * 100, 1) == 6.6


def test_newcombe_stays_within_the_possible_range_where_wald_does_not():
    # 0 of 30 against 1 of 30: Wald's interval treats the control's 0 % as certain (zero
    # variance) and comes out too narrow; Newcombe's is wider and stays within [-1, 1].
    found = rate_difference(Rate(0, 30), Rate(1, 30))
    assert -1 <= found.low < 0 < found.high <= 1
    wald_half = stats.norm.ppf(0.975) * math.sqrt((1 / 30) * (29 / 30) / 30)
    assert found.high - found.low > 2 * wald_half


def test_welch_interval_matches_scipy_ttest_ind():
    rng = np.random.default_rng(23)
    control_sample = rng.normal(12.4, 3.1, 40)
    treatment_sample = rng.normal(11.0, 1.2, 25)
    expected = stats.ttest_ind(treatment_sample, control_sample,
                               equal_var=False).confidence_interval(0.95)
    found = mean_difference(
        Mean(control_sample.mean(), control_sample.std(ddof=1), len(control_sample)),
        Mean(treatment_sample.mean(), treatment_sample.std(ddof=1), len(treatment_sample)))
    assert found.method == "welch"
    assert found.estimate == pytest.approx(treatment_sample.mean() - control_sample.mean())
    assert found.low == pytest.approx(expected.low, rel=1e-9)
    assert found.high == pytest.approx(expected.high, rel=1e-9)


def test_two_groups_without_spread_have_a_zero_width_interval():
    found = mean_difference(Mean(10, 0, 5), Mean(12, 0, 5))
    assert (found.estimate, found.low, found.high) == (2, 2, 2)


@pytest.mark.parametrize(("direction", "control", "treatment", "expected"), [
    ("maximize", CONTROL, TREATMENT, IMPROVEMENT),
    ("minimize", CONTROL, TREATMENT, DECLINE),
    ("maximize", TREATMENT, CONTROL, DECLINE),
    ("minimize", TREATMENT, CONTROL, IMPROVEMENT),
    ("maximize", Rate(710, 1000), Rate(715, 1000), NO_DIFFERENCE),
])
def test_the_verdict_follows_the_direction(direction, control, treatment, expected):
    assert difference(control, treatment).verdict(direction) == expected


def sentence(**overrides):
    arguments = {"kind": "ab_test", "metric": "first-contact resolution",
                 "direction": "maximize", "control": CONTROL, "treatment": TREATMENT,
                 "started_on": date(2026, 11, 2), "ended_on": date(2026, 11, 16),
                 "today": TODAY, "cases": "tickets"}
    return impact_sentence(**{**arguments, **overrides})


def test_the_issues_sentence():
    assert sentence() == (
        "In the A/B test from 2 to 16 November (12,400 tickets), first-contact resolution went "
        "from 71.0 % to 76.0 %: 5.0 points better (95 % interval: 3.4 to 6.6 points), a real "
        "improvement.")


def test_a_backtest_says_what_would_have_happened():
    assert sentence(kind="backtest", started_on=date(2025, 10, 1),
                    ended_on=date(2025, 10, 31)) == (
        "In the backtest on data from 1 to 31 October 2025 (12,400 tickets), first-contact "
        "resolution would have gone from 71.0 % to 76.0 %: 5.0 points better (95 % interval: "
        "3.4 to 6.6 points), a real improvement.")


def test_datetimes_are_said_as_days_the_end_exclusive():
    assert sentence(started_on=datetime(2026, 11, 2, tzinfo=UTC),
                    ended_on=datetime(2026, 11, 17, tzinfo=UTC)) == sentence()


def test_a_significantly_worse_result_says_so():
    assert sentence(metric="churn", direction="minimize", cases="customers") == (
        "In the A/B test from 2 to 16 November (12,400 customers), churn went from 71.0 % to "
        "76.0 %: 5.0 points worse (95 % interval: 3.4 to 6.6 points), a real decline.")


def test_an_interval_spanning_zero_shows_no_difference():
    assert sentence(control=Rate(710, 1000), treatment=Rate(715, 1000)) == (
        "In the A/B test from 2 to 16 November (2,000 tickets), first-contact resolution went "
        "from 71.0 % to 71.5 %: 0.5 points better (95 % interval: 3.5 points worse to 4.5 "
        "points better), but no difference was shown.")
    assert sentence(control=Rate(710, 1000), treatment=Rate(710, 1000)) == (
        "In the A/B test from 2 to 16 November (2,000 tickets), first-contact resolution went "
        "from 71.0 % to 71.0 %: no change (95 % interval: 4.0 points worse to 4.0 points "
        "better), so no difference was shown.")


def test_one_point_is_singular():
    assert "1.0 point better" in sentence(control=Rate(7100, 10000),
                                          treatment=Rate(7200, 10000))


def test_means_are_said_in_their_unit_lower_is_better():
    assert sentence(metric="average handling time", direction="minimize",
                    control=Mean(12.4, 3.1, 400), treatment=Mean(11.8, 2.9, 380),
                    started_on=date(2026, 10, 26), unit=" minutes") == (
        "In the A/B test from 26 October to 16 November (780 tickets), average handling time "
        "went from 12.4 minutes to 11.8 minutes: 0.6 minutes better (95 % interval: 0.178 to "
        "1.022 minutes), a real improvement.")


def test_groups_from_json_name_the_field():
    assert group_from({"successes": 3550, "n": 5000}, field="control") == CONTROL
    assert group_from({"mean": 12.4, "sd": 3.1, "n": 400}, field="control") == Mean(12.4, 3.1,
                                                                                  400)
    cases = [
        ({"successes": 6, "n": 5}, "control.successes cannot exceed control.n (5).",
         "control.successes"),
        ({"successes": 1, "n": 0}, "control.n must be an integer of at least 1.", "control.n"),
        ({"successes": -1, "n": 5}, "control.successes must be an integer of at least 0.",
         "control.successes"),
        ({"mean": 1, "sd": 1, "n": 1}, "control.n must be an integer of at least 2.",
         "control.n"),
        ({"mean": 1, "sd": -1, "n": 4}, "control.sd cannot be negative.", "control.sd"),
        ({"mean": "NaN", "sd": 1, "n": 4}, "control.mean must be a finite number.",
         "control.mean"),
        ({"n": 4}, 'control must be {"successes", "n"} or {"mean", "sd", "n"}.', "control"),
    ]
    for data, message, field in cases:
        with pytest.raises(InvalidInput) as raised:
            group_from(data, field="control")
        assert (raised.value.message, raised.value.field) == (message, field)


def test_a_rate_against_a_mean_is_refused():
    with pytest.raises(InvalidInput) as raised:
        difference(CONTROL, Mean(1, 1, 4))
    assert raised.value.field == "treatment"
