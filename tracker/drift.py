"""Drift, pure: how far a live profile of the inputs has moved from the deployed run's reference.

A profile is the distribution of a run's (or a live window's) input features, one JSON shape
for both (docs/production.md):

    {"count": 1000,
     "features": {"length": {"kind": "numeric", "edges": [0, 10, 20, 40, 80],
                             "counts": [250, 250, 250, 250]},
                  "channel": {"kind": "categorical", "counts": {"email": 600, "chat": 400}}}}

A numeric feature has n + 1 finite, strictly increasing edges and n counts (values outside
the edges are counted in the first or last bin); a categorical feature counts each category,
the rare ones gathered under "other". Either may say how many cases lacked a value
("missing", left out of the counts and of the PSI). A live profile is binned with the
reference's edges.

Drift per feature is the population stability index (PSI) of the live shares against the
reference shares, read in bands: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25
significant. A feature named "prediction" is the model's output: it is left out of the input
drift and reported as the share of predictions per class (`predictions`).
"""

import math
from dataclasses import dataclass

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)

# The category a profile gathers its rare categories under (the SDK keeps the top ones).
OTHER = "other"
# The feature that holds the model's predictions rather than an input.
PREDICTION = "prediction"

# An empty bin would make the PSI infinite (ln 0): every share is floored at EPSILON (one in
# ten thousand) before the sum, the usual practice. A bin empty on both sides adds nothing.
EPSILON = 1e-4
# PSI is rounded to this many decimals before it is banded, so the band always agrees with the
# figure a reader sees (0.1 exactly is moderate, however the floats came out).
PSI_DECIMALS = 4

STABLE = "stable"
MODERATE = "moderate"
SIGNIFICANT = "significant"
BANDS = (STABLE, MODERATE, SIGNIFICANT)
# Band boundaries: PSI < 0.1 stable; 0.1 <= PSI <= 0.25 moderate; PSI > 0.25 significant.
MODERATE_FROM = 0.1
SIGNIFICANT_ABOVE = 0.25


@dataclass(frozen=True)
class ProfileError:
    """What is wrong with a profile, and where: `path` such as "features.length.counts"."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    band: str

    def as_dict(self) -> dict:
        return {"feature": self.feature, "psi": self.psi, "band": self.band}


# --- validation ------------------------------------------------------------------------------


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float: no usable edge
        return False


def _missing_errors(path: str, feature: dict) -> list[ProfileError]:
    if "missing" in feature and not _is_count(feature["missing"]):
        return [ProfileError(f"{path}.missing", "must be a non-negative integer")]
    return []


def _numeric_errors(path: str, feature: dict) -> list[ProfileError]:
    edges, counts = feature.get("edges"), feature.get("counts")
    if not isinstance(edges, list) or len(edges) < 2:
        return [ProfileError(f"{path}.edges", "must be a list of at least 2 bin edges")]
    if not all(_is_number(edge) for edge in edges):
        return [ProfileError(f"{path}.edges", "must be finite numbers")]
    if any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        return [ProfileError(f"{path}.edges", "must be strictly increasing")]
    if not isinstance(counts, list) or len(counts) != len(edges) - 1:
        return [ProfileError(f"{path}.counts",
                             f"must be a list of len(edges) - 1 = {len(edges) - 1} counts")]
    if not all(_is_count(count) for count in counts):
        return [ProfileError(f"{path}.counts", "must be non-negative integers")]
    return []


def _categorical_errors(path: str, feature: dict) -> list[ProfileError]:
    counts = feature.get("counts")
    if not isinstance(counts, dict):
        return [ProfileError(f"{path}.counts", "must be an object of category: count")]
    for category, count in counts.items():
        if not isinstance(category, str) or not category:
            return [ProfileError(f"{path}.counts", "categories must be non-empty strings")]
        if not _is_count(count):
            return [ProfileError(f"{path}.counts.{category}", "must be a non-negative integer")]
    return []


def profile_errors(profile, *, reference: dict | None = None) -> list[ProfileError]:
    """Everything wrong with a profile, each naming its path; an empty list when it is valid.

    With `reference` (a valid profile), a live profile must also agree with it: a feature
    both have is of the same kind, and a numeric one uses the reference's edges.
    """
    if not isinstance(profile, dict):
        return [ProfileError("profile", "must be an object with count and features")]
    errors = []
    if not _is_count(profile.get("count")):
        errors.append(ProfileError("count", "must be a non-negative integer"))
    features = profile.get("features")
    if not isinstance(features, dict):
        return [*errors, ProfileError("features", "must be an object of feature: histogram")]
    for name, feature in features.items():
        path = f"features.{name}"
        if not isinstance(name, str) or not name:
            errors.append(ProfileError("features", "feature names must be non-empty strings"))
            continue
        if not isinstance(feature, dict) or feature.get("kind") not in KINDS:
            errors.append(ProfileError(f"{path}.kind", "must be 'numeric' or 'categorical'"))
            continue
        checked = (_numeric_errors(path, feature) if feature["kind"] == NUMERIC
                   else _categorical_errors(path, feature)) + _missing_errors(path, feature)
        errors.extend(checked)
        if checked or reference is None:
            continue
        theirs = reference.get("features", {}).get(name)
        if theirs is None:
            continue
        if theirs["kind"] != feature["kind"]:
            errors.append(ProfileError(f"{path}.kind",
                                       f"is {theirs['kind']} in the reference profile"))
        elif not comparable(theirs, feature):
            errors.append(ProfileError(f"{path}.edges", "must be the reference profile's "
                                       "edges (bin live values with them)"))
    return errors


# --- the population stability index ----------------------------------------------------------


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [count / total for count in counts]


def _psi(reference_counts: list[int], live_counts: list[int]) -> float:
    """sum over bins of (live - reference) * ln(live / reference), shares floored at EPSILON."""
    total = 0.0
    for expected, actual in zip(_shares(reference_counts), _shares(live_counts), strict=True):
        expected, actual = max(expected, EPSILON), max(actual, EPSILON)
        total += (actual - expected) * math.log(actual / expected)
    return total


def bins(reference: dict, live: dict) -> tuple[list, list[int], list[int]]:
    """The bins two histograms of a feature are compared over, and each side's counts in them:
    (low, high) edge pairs for a numeric feature, category names for a categorical one.

    Numeric: the bins are the reference's (a live profile uses its edges). Categorical: a live
    category the reference lists keeps its bin; one it does not is counted under the
    reference's "other" when the reference has one (the reference would have put it there),
    and as a new bin otherwise (its reference share is then EPSILON: a big contribution).
    """
    if reference["kind"] == NUMERIC:
        edges = reference["edges"]
        return (list(zip(edges, edges[1:], strict=False)), list(reference["counts"]),
                list(live["counts"]))
    expected = dict(reference["counts"])
    actual: dict[str, int] = dict.fromkeys(expected, 0)
    for category, count in live["counts"].items():
        key = category if category in expected or OTHER not in expected else OTHER
        actual[key] = actual.get(key, 0) + count
    categories = sorted(actual)
    return (categories, [expected.get(c, 0) for c in categories],
            [actual[c] for c in categories])


def comparable(reference: dict, live: dict) -> bool:
    """Whether two histograms of a feature can be compared: the same kind and, for a numeric
    feature, the same edges."""
    if reference["kind"] != live["kind"]:
        return False
    return reference["kind"] != NUMERIC or (
        [float(e) for e in reference["edges"]] == [float(e) for e in live["edges"]])


def psi(reference: dict, live: dict) -> float | None:
    """The PSI of one feature's live histogram against its reference, rounded to PSI_DECIMALS.

    None when either side counted nothing (no shares to compare).
    """
    _, expected, actual = bins(reference, live)
    if sum(expected) == 0 or sum(actual) == 0:
        return None
    return round(_psi(expected, actual), PSI_DECIMALS)


def band(value: float) -> str:
    """"stable" below 0.1, "moderate" from 0.1 to 0.25 inclusive, "significant" above 0.25."""
    if value < MODERATE_FROM:
        return STABLE
    return MODERATE if value <= SIGNIFICANT_ABOVE else SIGNIFICANT


def drift(reference_profile: dict, live_profile: dict) -> list[FeatureDrift]:
    """The drift of every input feature both profiles have, the most drifted first.

    Both profiles must be valid (`profile_errors`). A feature only one of them has, one with
    no counts on either side, one whose kind or edges differ from the reference's (a live
    profile stored against an earlier reference), and the prediction are left out. Ties in PSI
    are listed by feature name.
    """
    reference = reference_profile["features"]
    live = live_profile["features"]
    found = []
    for name in sorted(set(reference) & set(live) - {PREDICTION}):
        if not comparable(reference[name], live[name]):
            continue
        value = psi(reference[name], live[name])
        if value is not None:
            found.append(FeatureDrift(name, value, band(value)))
    return sorted(found, key=lambda d: -d.psi)


# --- predictions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    """The share of predictions per class in the reference and live profiles, and their PSI."""

    reference: dict[str, float]
    live: dict[str, float]
    psi: float | None
    band: str | None


def class_shares(profile: dict) -> dict[str, float] | None:
    """The share of predictions per class, largest first, when the profile has a categorical
    "prediction" feature with counts; None otherwise."""
    feature = profile.get("features", {}).get(PREDICTION)
    if feature is None or feature["kind"] != CATEGORICAL:
        return None
    total = sum(feature["counts"].values())
    if total == 0:
        return None
    ordered = sorted(feature["counts"].items(), key=lambda item: (-item[1], item[0]))
    return {category: count / total for category, count in ordered}


def predictions(reference_profile: dict, live_profile: dict) -> Predictions | None:
    """How the model's predictions moved, when both profiles include a categorical prediction."""
    reference, live = class_shares(reference_profile), class_shares(live_profile)
    if reference is None or live is None:
        return None
    value = psi(reference_profile["features"][PREDICTION], live_profile["features"][PREDICTION])
    return Predictions(reference, live, value, None if value is None else band(value))
