"""Drift: the profile shape, the PSI worked by hand, the bands and their boundaries."""

import math

import pytest

from tracker.drift import (
    EPSILON,
    MODERATE,
    SIGNIFICANT,
    STABLE,
    FeatureDrift,
    band,
    class_shares,
    drift,
    predictions,
    profile_errors,
    psi,
)


def numeric(counts, edges=None):
    return {"kind": "numeric", "edges": edges or [0, 10, 20, 40, 80], "counts": counts}


def categorical(counts):
    return {"kind": "categorical", "counts": counts}


def profile(**features):
    return {"count": 1000, "features": features}


REFERENCE = profile(length=numeric([250, 250, 250, 250]),
                    channel=categorical({"email": 600, "chat": 300, "other": 100}))


def test_the_issue_profile_is_valid():
    assert profile_errors(REFERENCE) == []
    assert profile_errors(REFERENCE, reference=REFERENCE) == []


def test_psi_of_a_numeric_feature_worked_by_hand():
    # Reference shares 0.25 each; live shares 0.1, 0.2, 0.3, 0.4. PSI = sum (a - e) ln(a / e):
    #   (0.1 - 0.25) ln(0.1 / 0.25) = -0.15 * -0.916291 = 0.137444
    #   (0.2 - 0.25) ln(0.2 / 0.25) = -0.05 * -0.223144 = 0.011157
    #   (0.3 - 0.25) ln(0.3 / 0.25) =  0.05 *  0.182322 = 0.009116
    #   (0.4 - 0.25) ln(0.4 / 0.25) =  0.15 *  0.470004 = 0.070501
    #   sum = 0.228217, rounded to 4 decimals 0.2282: moderate.
    assert psi(numeric([250, 250, 250, 250]), numeric([100, 200, 300, 400])) == 0.2282
    assert band(0.2282) == MODERATE


def test_identical_shares_do_not_drift_whatever_the_counts():
    assert psi(numeric([250, 250, 250, 250]), numeric([25, 25, 25, 25])) == 0.0


def test_an_empty_bin_is_floored_at_epsilon_instead_of_infinite():
    # Third bin empty in the reference: its share becomes EPSILON = 0.0001.
    #   (0.5 - 0.5) ln 1 = 0;  (0.4 - 0.5) ln(0.4 / 0.5) = 0.022314
    #   (0.1 - 0.0001) ln(0.1 / 0.0001) = 0.0999 * 6.907755 = 0.690085;  sum 0.712400
    assert EPSILON == 1e-4
    value = psi(numeric([500, 500, 0], [0, 1, 2, 3]), numeric([500, 400, 100], [0, 1, 2, 3]))
    assert value == 0.7124
    assert band(value) == SIGNIFICANT
    # empty on both sides adds nothing
    assert psi(numeric([5, 5, 0], [0, 1, 2, 3]), numeric([5, 5, 0], [0, 1, 2, 3])) == 0.0


def test_a_new_category_falls_under_the_references_other():
    # Reference email 0.6, chat 0.3, other 0.1. Live "whatsapp" was never a top category in
    # training, so it counts as "other": live email 0.5, chat 0.3, other 0.2.
    #   (0.5 - 0.6) ln(0.5 / 0.6) = 0.018232; chat 0; (0.2 - 0.1) ln 2 = 0.069315; sum 0.087547
    live = categorical({"email": 500, "chat": 300, "whatsapp": 200})
    assert psi(REFERENCE["features"]["channel"], live) == 0.0875


def test_a_new_category_without_other_in_the_reference_is_a_bin_of_its_own():
    # Reference chat 0.4, email 0.6, whatsapp 0 (floored at 0.0001); live 0.3, 0.5, 0.2:
    #   (0.3 - 0.4) ln(0.3 / 0.4) = 0.028768; (0.5 - 0.6) ln(0.5 / 0.6) = 0.018232
    #   (0.2 - 0.0001) ln(0.2 / 0.0001) = 0.1999 * 7.600902 = 1.519420; sum 1.566421
    reference = categorical({"email": 600, "chat": 400})
    live = categorical({"email": 500, "chat": 300, "whatsapp": 200})
    assert psi(reference, live) == 1.5664


def test_a_category_missing_from_live_counts_as_empty():
    # Live has no chat at all: chat share 0.0001 live against 0.4;
    #   (0.0001 - 0.4) ln(0.0001 / 0.4) = -0.3999 * -8.294050 = 3.316791
    #   email (1 - 0.6) ln(1 / 0.6) = 0.4 * 0.510826 = 0.204330; sum 3.521121
    assert psi(categorical({"email": 600, "chat": 400}), categorical({"email": 90})) == 3.5211


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, STABLE), (0.0999, STABLE), (0.1, MODERATE), (0.25, MODERATE),
    (0.2501, SIGNIFICANT), (3.0, SIGNIFICANT),
])
def test_band_boundaries(value, expected):
    assert band(value) == expected


def test_drift_lists_features_most_drifted_first_without_the_prediction():
    live = profile(length=numeric([100, 200, 300, 400]),
                   channel=categorical({"email": 500, "chat": 300, "whatsapp": 200}),
                   region=categorical({"north": 10}),
                   prediction=categorical({"billing": 10}))
    reference = {**REFERENCE, "features": {**REFERENCE["features"],
                                           "prediction": categorical({"billing": 5,
                                                                      "refund": 5})}}
    assert drift(reference, live) == [FeatureDrift("length", 0.2282, MODERATE),
                                      FeatureDrift("channel", 0.0875, STABLE)]
    assert drift(reference, live)[0].as_dict() == {"feature": "length", "psi": 0.2282,
                                                   "band": MODERATE}


def test_a_feature_with_no_counts_is_left_out():
    live = profile(length=numeric([0, 0, 0, 0]), channel=categorical({"email": 1}))
    assert [d.feature for d in drift(REFERENCE, live)] == ["channel"]


def test_a_feature_binned_otherwise_than_the_reference_is_left_out():
    live = profile(length=numeric([1, 2, 3], [0, 10, 20, 40]), channel=numeric([1, 1, 1, 1]))
    assert drift(REFERENCE, live) == []


def test_share_of_predictions_per_class():
    reference = profile(prediction=categorical({"billing": 500, "refund": 300, "other": 200}))
    live = profile(prediction=categorical({"billing": 300, "refund": 500, "other": 200}))
    assert class_shares(live) == {"refund": 0.5, "billing": 0.3, "other": 0.2}
    found = predictions(reference, live)
    assert found.reference == {"billing": 0.5, "refund": 0.3, "other": 0.2}
    assert found.live == {"refund": 0.5, "billing": 0.3, "other": 0.2}
    # (0.3 - 0.5) ln(0.3 / 0.5) * 2 = 0.2 * 0.510826 * 2 = 0.204330
    assert (found.psi, found.band) == (0.2043, MODERATE)
    assert predictions(REFERENCE, live) is None
    assert class_shares(profile(prediction=numeric([1, 1, 1, 1]))) is None


def errors(data, reference=None):
    return [str(e) for e in profile_errors(data, reference=reference)]


@pytest.mark.parametrize(("data", "expected"), [
    ([], "profile: must be an object with count and features"),
    ({"features": {}}, "count: must be a non-negative integer"),
    ({"count": -1, "features": {}}, "count: must be a non-negative integer"),
    ({"count": 1}, "features: must be an object of feature: histogram"),
    (profile(length={"kind": "ordinal"}),
     "features.length.kind: must be 'numeric' or 'categorical'"),
    (profile(length=numeric([1, 2, 3])),
     "features.length.counts: must be a list of len(edges) - 1 = 4 counts"),
    (profile(length=numeric([1, 2, -3, 4])),
     "features.length.counts: must be non-negative integers"),
    (profile(length=numeric([1, 2, 3.5, 4])),
     "features.length.counts: must be non-negative integers"),
    (profile(length=numeric([1, 2, 3, True])),
     "features.length.counts: must be non-negative integers"),
    (profile(length=numeric([1], [0])),
     "features.length.edges: must be a list of at least 2 bin edges"),
    (profile(length=numeric([1, 1], [0, math.inf, 3])),
     "features.length.edges: must be finite numbers"),
    (profile(length=numeric([1, 1], [0, 2, 2])),
     "features.length.edges: must be strictly increasing"),
    (profile(channel={"kind": "categorical", "counts": [1, 2]}),
     "features.channel.counts: must be an object of category: count"),
    (profile(channel=categorical({"email": -2})),
     "features.channel.counts.email: must be a non-negative integer"),
    (profile(channel=categorical({"": 2})),
     "features.channel.counts: categories must be non-empty strings"),
])
def test_invalid_profiles_name_the_path(data, expected):
    assert errors(data) == [expected]


def test_every_broken_feature_is_reported():
    data = profile(length=numeric([1, 2]), channel=categorical({"email": "many"}))
    assert errors(data) == [
        "features.length.counts: must be a list of len(edges) - 1 = 4 counts",
        "features.channel.counts.email: must be a non-negative integer",
    ]


def test_a_live_profile_must_agree_with_the_reference():
    live = profile(length=numeric([1, 2, 3], [0, 10, 20, 40]),
                   channel=numeric([1, 1, 1, 1]))
    assert errors(live, REFERENCE) == [
        "features.length.edges: must be the reference profile's edges (bin live values with "
        "them)",
        "features.channel.kind: is categorical in the reference profile",
    ]
    # integer and float edges that are equal are the same edges
    same = profile(length=numeric([1, 1, 1, 1], [0.0, 10.0, 20, 40, 80]))
    assert errors(same, REFERENCE) == []
