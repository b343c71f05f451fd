"""The words only the report says about a model in production, pinned (pure), and its live
chart's edge cases."""

from reports import charts, production_words
from tracker.drift import FeatureDrift, Predictions, band


def drifted(**psi) -> list[FeatureDrift]:
    return [FeatureDrift(name, value, band(value)) for name, value in psi.items()]


def test_which_inputs_changed_band_during_the_period():
    sentence = production_words.moved_sentence(
        before=drifted(length=0.22, channel=0.12, region=0.01),
        after=drifted(length=0.29, channel=0.05, region=0.02))
    assert sentence == ("During this period, length went from shifted somewhat to shifted "
                        "markedly (PSI 0.22 to 0.29); and channel came back from shifted "
                        "somewhat to stable (PSI 0.12 to 0.05).")


def test_the_first_live_profiles_start_from_the_training_data():
    assert production_words.moved_sentence(before=None, after=drifted(length=0.3)) == (
        "During this period, length went from stable to shifted markedly (PSI 0.30).")
    assert production_words.moved_sentence(before=None, after=drifted(length=0.05)) == (
        "No input changed band during this period.")
    assert production_words.moved_sentence(before=drifted(length=0.3), after=None) == (
        "No live profile of the inputs was recorded in this period.")


def test_the_answers_per_class_against_training():
    moved = Predictions(reference={"spam": 0.2, "ham": 0.8}, live={"ham": 0.6, "spam": 0.4},
                        psi=0.19, band="moderate")
    assert production_words.predictions_sentence(moved) == (
        'The model\'s answers in the latest live profile: "ham" 60\u00a0% (80\u00a0% in '
        'training), "spam" 40\u00a0% (20\u00a0% in training). Their mix has shifted somewhat '
        "(PSI 0.19).")
    assert production_words.predictions_sentence(None) == ""


def test_the_business_results_heading():
    assert [production_words.impact_intro(n) for n in (0, 1, 2)] == [
        "No A/B test or backtest ended in this period.",
        "One A/B test or backtest ended in this period:",
        "2 A/B tests or backtests ended in this period:"]


def _live(windows, test_value=0.87):
    return charts.live_figure(windows=windows, threshold=0.85, test_value=test_value,
                              scale=100, label="accuracy", unit="out of 100",
                              judged_split="test", bounds=(0, 100))


def test_one_live_window_is_drawn_in_order_named_by_its_day():
    figure = _live([{"start": "2026-11-30T00:00:00+00:00", "end": "2026-12-07T00:00:00+00:00",
                     "value": 0.86, "labelled": 300, "counts": True}])
    assert figure["layout"]["xaxis"]["ticktext"] == ["7 Dec"]
    assert figure["data"][0]["y"] == [86]


def test_a_test_figure_close_to_the_bar_keeps_both_names_readable():
    figure = _live([{"start": "2026-11-23T00:00:00+00:00", "end": "2026-11-30T00:00:00+00:00",
                     "value": 0.86, "labelled": 300, "counts": True},
                    {"start": "2026-11-30T00:00:00+00:00", "end": "2026-12-07T00:00:00+00:00",
                     "value": 0.861, "labelled": 300, "counts": True}], test_value=0.855)
    notes = figure["layout"]["annotations"]
    assert [(n["text"], n["yshift"]) for n in notes] == [("agreed bar 85", -7),
                                                         ("test set 85.5", 7)]
