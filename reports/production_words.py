"""What a check-in report says about the model in production (pure).

The production status and its sentence are tracker.production_rules', the drift per feature
tracker.drift's and each business result's sentence tracker.impact's; this module adds what
only the report says around them: the status as a heading, the drift table's rows, which
inputs moved during the period, how the model's answers are spread over its classes, and
the sentences that introduce each part when there is nothing to show.
"""

from tracker.drift import (
    BANDS,
    MODERATE,
    MODERATE_FROM,
    SIGNIFICANT,
    SIGNIFICANT_ABOVE,
    STABLE,
    FeatureDrift,
    Predictions,
)
from tracker.numbers import format_fixed
from tracker.production_rules import BELOW_THE_BAR, HOLDING, NO_RESULTS, SLIPPING, feature_words

STATUS_LABELS = {HOLDING: "Holding", SLIPPING: "Slipping", BELOW_THE_BAR: "Below the bar",
                 NO_RESULTS: "No live results yet"}
# A band as the report's words say it (tracker.production_rules.drift_sentences).
BAND_WORDS = {STABLE: "stable", MODERATE: "shifted somewhat", SIGNIFICANT: "shifted markedly"}

NO_REFERENCE = ("The deployed model's training data has no profile of its inputs, so whether "
                "they shifted cannot be measured: log one with the run (run.log_profile).")
NO_LIVE_PROFILE = ("No live profile of the inputs has been recorded yet, so whether they "
                   "shifted since training cannot be measured.")
NO_PROFILE_IN_PERIOD = "No live profile of the inputs was recorded in this period."
STEADY = "No input has shifted since training."
NONE_MOVED = "No input changed band during this period."
NO_IMPACT = "No A/B test or backtest ended in this period."


def psi_text(value: float) -> str:
    """A PSI as the table shows it: "0.41", "0.04"."""
    return format_fixed(value, 2)


def drift_intro(*, window: str) -> str:
    """What the drift table shows: the latest live window (`window`, "from 22 to 28
    December") against the training data, and how to read the PSI."""
    return (f"How far each input of the latest live profile ({window}) has moved from the "
            "training data, by its population stability index (PSI): below "
            f"{psi_text(MODERATE_FROM)} stable, {psi_text(MODERATE_FROM)} to "
            f"{psi_text(SIGNIFICANT_ABOVE)} shifted somewhat, above "
            f"{psi_text(SIGNIFICANT_ABOVE)} shifted markedly.")


def drift_rows(features: list[FeatureDrift]) -> list[dict]:
    """The drift table: each input in words, its PSI and its band, most drifted first."""
    return [{"feature": feature_words(d.feature), "psi": psi_text(d.psi), "band": d.band,
             "words": BAND_WORDS[d.band]} for d in features]


def _moved(feature: str, before: FeatureDrift | None, after: FeatureDrift) -> str:
    name = feature_words(feature)
    was = before.band if before else STABLE
    psi = (f"PSI {psi_text(before.psi)} to {psi_text(after.psi)}" if before
           else f"PSI {psi_text(after.psi)}")
    verb = "went" if BANDS.index(after.band) > BANDS.index(was) else "came back"
    return f"{name} {verb} from {BAND_WORDS[was]} to {BAND_WORDS[after.band]} ({psi})"


def moved_sentence(*, before: list[FeatureDrift] | None,
                   after: list[FeatureDrift] | None) -> str:
    """Which inputs changed band during the period: from the last live window before it
    (`before`; None when there was none, so they start from the training data, stable) to
    the latest window in it (`after`; None when no live profile was recorded in it)."""
    if after is None:
        return NO_PROFILE_IN_PERIOD
    earlier = {d.feature: d for d in before or []}
    moved = [_moved(d.feature, earlier.get(d.feature), d) for d in after
             if d.band != (earlier[d.feature].band if d.feature in earlier else STABLE)]
    if not moved:
        return NONE_MOVED
    listed = moved[0] if len(moved) == 1 else f"{'; '.join(moved[:-1])}; and {moved[-1]}"
    return f"During this period, {listed}."


def _share(value: float) -> str:
    return f"{format_fixed(value * 100, 0)}\u00a0%"  # a no-break space: "42 %" stays whole


def predictions_sentence(predictions: Predictions | None) -> str:
    """How the model's answers are spread over its classes in the latest live window,
    against the training data; "" when the profiles do not include the prediction."""
    if predictions is None:
        return ""
    shares = [f"{_text(name)} {_share(share)} ({_share(predictions.reference.get(name, 0.0))} "
              "in training)" for name, share in predictions.live.items()]
    head = f"The model's answers in the latest live profile: {', '.join(shares)}."
    if predictions.band is None:
        return head
    how = ("is still close to training" if predictions.band == STABLE
           else f"has {BAND_WORDS[predictions.band]}")
    return f"{head} Their mix {how} (PSI {psi_text(predictions.psi)})."


def _text(name: str) -> str:
    return f'"{name}"'


def impact_intro(count: int) -> str:
    """The business results' heading sentence."""
    if count == 0:
        return NO_IMPACT
    if count == 1:
        return "One A/B test or backtest ended in this period:"
    return f"{count} A/B tests or backtests ended in this period:"
