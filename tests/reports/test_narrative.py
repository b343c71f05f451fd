"""Every sentence a report, an alert or their emails show, pinned literally."""

from datetime import date

import pytest

from reports import emails, reading_guide, slice_words
from reports import narrative as n

F1 = n.TargetFacts(metric="f1", direction="maximize", threshold=0.85,
                   agreed_by="Dana Reyes (Head of Support)", agreed_on=date(2026, 11, 2))
LAST = "at the last check-in"
SINCE = "since the last check-in"


# --- the target ------------------------------------------------------------------------------

@pytest.mark.parametrize(("agreed_by", "agreed_on", "ending"), [
    ("Dana Reyes (Head of Support)", date(2026, 11, 2),
     ", agreed by Dana Reyes (Head of Support) on 2 November 2026."),
    ("Dana", None, ", agreed by Dana."),
    ("", date(2026, 11, 2), ", agreed on 2 November 2026."),
    ("", None, ". Who agreed to it and when was not recorded."),
])
def test_the_target_as_a_sentence(agreed_by, agreed_on, ending):
    target = n.TargetFacts(metric="f1", direction="maximize", threshold=0.85,
                           agreed_by=agreed_by, agreed_on=agreed_on)
    assert n.target_sentence(target) == (
        "Target: F1 score of at least 85 out of 100 on the test set" + ending)


def test_a_limit_to_stay_under():
    latency = n.TargetFacts(metric="latency_ms", direction="minimize", threshold=50,
                            judged_on="test/mobile")
    assert n.target_sentence(latency) == (
        "Target: latency of at most 50 ms on the mobile slice of the test set. Who agreed to "
        "it and when was not recorded.")


@pytest.mark.parametrize(("target", "headline"), [
    (F1, "At least 85 out of 100 on F1, judged on the test set"),
    (n.TargetFacts(metric="latency_ms", direction="minimize", threshold=50,
                   judged_on="test/mobile"),
     "At most 50 ms on latency, judged on the mobile slice of the test set"),
    (n.TargetFacts(metric="accuracy", direction="maximize", threshold=0.976),
     "At least 97.6 out of 100 on accuracy, judged on the test set"),
])
def test_the_target_as_a_headline_reads_as_a_bar_in_the_sentences_scale(target, headline):
    assert n.target_headline(target) == headline


def test_why_two_splits():
    assert reading_guide.selection_gloss(F1) == (
        "The best model is picked on the validation set (cases used to compare models) and "
        "judged on the test set (cases kept aside, never used to pick or tune it), so the "
        "figure quoted is an honest estimate of how it will do.")


def test_jargon_gets_a_gloss():
    assert reading_guide.metric_gloss("f1") == (
        "F1 score: one number that balances finding the cases that matter and being right when "
        "flagging one (100 is perfect).")
    assert reading_guide.metric_gloss("acc") == "Accuracy: how often the model is right."
    churn = "{percent} of every 100 churners are caught"
    assert reading_guide.metric_gloss("churn_caught", churn) is None
    assert reading_guide.glossary(F1) == [
        "F1 score: one number that balances finding the cases that matter and being right when "
        "flagging one (100 is perfect).",
        "Validation set: data used to compare models and pick the best one.",
        "Test set: data kept aside to judge the chosen model fairly; it is never used to "
        "choose.",
        "Baseline: the status quo to beat, such as the current system or a simple rule.",
        "Guardrail: a condition any model must also meet, such as answering fast enough.",
        "Run: one attempt at training a model. Experiment: a line of work with its own idea "
        "(hypothesis), made of runs.",
        "Slice: a part of the test set with one kind of case, such as long texts.",
    ]


# --- the best model and what changed -----------------------------------------------------------

def test_the_baseline_and_why_it_matters():
    assert n.baseline_sentence(target=F1, name=None, judged=None) == (
        "Without a baseline, a good-looking number may be no better than what is done today: "
        "log the current system or a simple rule as a baseline run, so the next report can "
        "show how much better the model does.")
    assert n.baseline_sentence(target=F1, name="keyword rules", judged=float("nan")) == (
        'The baseline ("keyword rules") has not been evaluated on the test set, so we cannot '
        "say how much better the model does.")
    assert n.baseline_sentence(target=F1, name="keyword rules", judged=0.69) == (
        'The baseline, the status quo to beat, is "keyword rules": 69 out of 100 on the test '
        "set.")


@pytest.mark.parametrize(("then", "now", "at_then", "sentence"), [
    (0.78, 0.82, LAST, "The best model's F1 score on the test set went from 78 at the last "
                       "check-in to 82 out of 100 now (4 points better)."),
    (0.82, 0.80, LAST, "The best model's F1 score on the test set went from 82 at the last "
                       "check-in to 80 out of 100 now (2 points worse)."),
    (0.82, 0.82, LAST, "The best model's F1 score on the test set is 82 out of 100, the same "
                       "as at the last check-in."),
    (None, 0.82, "on 3 November 2026", "There was no best model with a test result on "
                                       "3 November 2026; now its F1 score on the test set is "
                                       "82 out of 100."),
    (None, None, LAST, "The best model has no F1 score on the test set yet."),
])
def test_what_changed_since_the_last_check_in(then, now, at_then, sentence):
    assert n.change_sentence(target=F1, then=then, now=now, at_then=at_then) == sentence


def test_the_baseline_is_never_an_earlier_state_of_the_model():
    assert n.change_sentence(target=F1, then=None, now=0.84, at_then="on 30 November 2026",
                             then_baseline=True) == (
        "On 30 November 2026, no model had beaten the baseline yet; now the best model's F1 "
        "score on the test set is 84 out of 100.")


@pytest.mark.parametrize(("then", "now", "ending"), [
    (0.80, 0.823, "against 80 for the one at the last check-in (2.3 points better)."),
    (0.91, 0.905, "against 91 for the one at the last check-in (0.5 points worse: it was "
                  "picked because it does better on the validation set)."),
    (0.90, 0.90, "against 90 for the one at the last check-in."),
])
def test_a_new_best_model_is_compared_with_the_one_it_replaced(then, now, ending):
    sentence = n.change_sentence(target=F1, then=then, now=now, at_then=LAST, replaced=True)
    assert sentence.startswith("A new best model took over: its F1 score on the test set is ")
    assert sentence.endswith(ending)


@pytest.mark.parametrize(("finished", "failed", "killed", "since", "sentence"), [
    (12, 2, 1, SINCE,
     "12 models finished training since the last check-in; 2 attempts failed and 1 was "
     "stopped before the end."),
    (1, 0, 0, SINCE, "1 model finished training since the last check-in."),
    (0, 1, 2, "since 3 November 2026",
     "No model finished training since 3 November 2026; 1 attempt failed and 2 were stopped "
     "before the end."),
    (3, 0, 1, SINCE,
     "3 models finished training since the last check-in; 1 attempt was stopped before the "
     "end."),
])
def test_how_the_runs_went(finished, failed, killed, since, sentence):
    assert n.runs_sentence(finished=finished, failed=failed, killed=killed,
                           since=since) == sentence


def test_experiments_worked_on():
    assert n.experiments_sentence(0) == "No experiment was worked on."
    assert n.experiments_sentence(1) == (
        "The team tried 1 idea (an experiment), listed further on with what each tests and its "
        "result.")
    assert n.experiments_sentence(3) == (
        "The team tried 3 ideas (experiments), listed further on with what each tests and its "
        "result.")


def test_an_experiments_best_result_is_quoted_on_validation():
    assert n.experiment_result_sentence(target=F1, best_value=0.834, best_run="chunked",
                                        finished=2, failed=1) == (
        'Best result: 83.4 out of 100 on the validation set (run "chunked"); 2 runs finished, '
        "1 failed or stopped.")
    assert n.experiment_result_sentence(
        target=F1, best_value=0.845, best_run="big", finished=1, failed=0,
        fails=["Answers in 118 ms on the test set; the limit is 50 ms (fails)."]) == (
        'Best result: 84.5 out of 100 on the validation set (run "big"); 1 run finished. That '
        "run cannot be picked: answers in 118 ms on the test set; the limit is 50 ms (fails).")
    assert n.experiment_result_sentence(target=F1, best_value=None, best_run=None, finished=0,
                                        failed=2) == (
        "No finished run reported its F1 score on the validation set; 0 runs finished, 2 "
        "failed or stopped.")


def test_guardrail_introductions():
    assert n.guardrails_intro(count=0, has_winner=True) == (
        "No guardrails are set: no other condition, such as speed or size, is required of a "
        "model.")
    assert n.guardrails_intro(count=2, has_winner=False) == (
        "There is no best model yet, so no guardrail has been checked.")
    assert n.guardrails_intro(count=1, has_winner=True) == (
        "The best model must also meet 1 guardrail:")
    assert n.guardrails_intro(count=3, has_winner=True) == (
        "The best model must also meet 3 guardrails:")


# --- slices ----------------------------------------------------------------------------------

def test_a_lagging_slice_against_the_overall_figure():
    sentence = slice_words.slice_sentence(target=F1, split="test/long_texts", value=0.71,
                                          overall=0.83)
    assert sentence == (
        "The long texts slice of the test set: 71 out of 100, against 83 overall (12 points "
        "worse).")
    assert slice_words.slice_name("test/long_texts") == "long texts"


@pytest.mark.parametrize(("value", "overall", "direction", "lags"), [
    (0.71, 0.83, "maximize", True),
    (0.825, 0.83, "maximize", False),  # half a point: noise, with a bar of 85
    (0.90, 0.83, "maximize", False),
    (60, 40, "minimize", True),
    (float("nan"), 0.83, "maximize", False),
])
def test_which_slices_lag(value, overall, direction, lags):
    threshold = 0.85 if direction == "maximize" else 50
    assert slice_words.slice_lags(value=value, overall=overall, threshold=threshold,
                        direction=direction) is lags


def test_slice_introductions():
    assert slice_words.slices_intro(lagging=0, total=0, judged_on="test") == (
        "No slices of the test set were logged for the best model, so we cannot say whether "
        "some kinds of cases do worse than others.")
    assert slice_words.slices_intro(lagging=0, total=2, judged_on="test") == (
        "On every slice of the test set the best model does about as well as overall, or "
        "better.")
    assert slice_words.slices_intro(lagging=1, total=2, judged_on="test") == (
        "1 slice of the test set lags the overall figure:")
    assert slice_words.slices_intro(lagging=2, total=3, judged_on="test") == (
        "2 slices of the test set lag the overall figure:")


# --- test-set discipline ---------------------------------------------------------------------

def test_looks_at_test_results():
    assert n.test_looks_sentence(looks=0, runs=0) == (
        "Nobody looked at test results of runs other than the best model and the baseline in "
        "this period, so the test figure is still an honest check.")
    assert n.test_looks_sentence(looks=1, runs=1) == (
        "Test results of runs other than the best model and the baseline were looked at once "
        "in this period (1 run). Each look makes the test figure a little less trustworthy, "
        "because choices start to depend on it.")
    assert n.test_looks_sentence(looks=3, runs=5).startswith(
        "Test results of runs other than the best model and the baseline were looked at 3 "
        "times in this period (5 runs).")


# --- numbers and dates -----------------------------------------------------------------------

def test_numbers_read_like_the_api_says_them():
    assert n.quantity("f1", 0.875) == "87.5 out of 100"
    assert n.quantity("latency_s", 0.038) == "38 ms"
    assert n.quantity("mae", 1234.5) == "1,234.5"
    assert n.amount("f1", -0.01) == "1 point"
    assert n.amount("f1", 0.025) == "2.5 points"
    assert n.chart_scale("f1") == (100.0, "out of 100")
    assert n.chart_scale("latency_s") == (1000.0, "ms")


def test_periods():
    assert n.period_text(date(2026, 11, 3), date(2026, 11, 10)) == "3 – 10 November 2026"
    assert n.period_text(date(2026, 10, 28), date(2026, 11, 3)) == (
        "28 October – 3 November 2026")
    assert n.period_text(date(2026, 12, 28), date(2027, 1, 4)) == (
        "28 December 2026 – 4 January 2027")
    assert n.period_text(date(2026, 1, 4), date(2026, 1, 4)) == "4 January 2026"
    assert n.since_words(date(2026, 11, 3), date(2026, 11, 3)) == "since the last check-in"
    assert n.since_words(None, date(2026, 11, 3)) == "since 3 November 2026"


# --- emails ----------------------------------------------------------------------------------

def test_the_report_email_states_the_verdict_in_one_sentence():
    assert emails.report_subject(project="News topics", verdict_label="At risk") == (
        "News topics check-in: At risk")
    assert emails.report_email_body(
        project="News topics", period="3 – 10 November 2026", verdict_label="On track",
        verdict_sentence="The best model improved.",
        target_sentence="Target: F1 score of at least 85 out of 100 on the test set.",
        pages=3) == (
        "On track. The best model improved.\n"
        "\n"
        "Target: F1 score of at least 85 out of 100 on the test set.\n"
        "\n"
        "The full report on News topics for 3 – 10 November 2026 is attached (PDF, 3 pages).\n"
        "\n"
        "-- \n"
        "Targetline")


def test_alert_emails():
    assert emails.alert_subject(project="News topics", target_met=True) == "News topics: target met"
    assert emails.alert_subject(project="News topics", target_met=False) == (
        "News topics: new best model")
    assert emails.new_winner_sentence(run="svm", experiment="svm", previous=None) == (
        'There is a best model for the first time: run "svm" (experiment "svm").')
    replacing = emails.new_winner_sentence(run="svm", experiment="kernels", previous="lr")
    assert replacing == (
        'Run "svm" (experiment "kernels") is now the best model, replacing run "lr".')
    assert emails.alert_body(project="News topics", target_met=True, new_winner=replacing,
                        winner_sentence="Best model so far…", target_sentence="Target: …") == (
        "News topics has met its target for the first time.\n"
        'Run "svm" (experiment "kernels") is now the best model, replacing run "lr".\n'
        "\n"
        "Best model so far…\n"
        "\n"
        "Target: …\n"
        "\n"
        "-- \n"
        "Targetline (an alert is sent once per event)")


# --- small words of the report ----------------------------------------------------------------

def test_headings_and_time_words():
    assert n.since_heading(True) == "Since the last check-in"
    assert n.since_heading(False) == "In this period"
    assert n.at_then_words(True, date(2026, 11, 3)) == "at the last check-in"
    assert n.at_then_words(False, date(2026, 11, 3)) == "on 3 November 2026"


def test_experiment_notes():
    assert reading_guide.experiments_note(F1) == (
        "Experiments are compared on the validation set; only the best model is quoted on the "
        "test set, so that figure stays an honest check.")
    assert n.experiment_runs_sentence(finished=2, failed=1) == (
        "2 runs finished, 1 failed or stopped.")
    assert n.experiment_runs_sentence(finished=1, failed=0) == "1 run finished."


def test_how_to_read_each_chart():
    texts = reading_guide.chart_texts(F1, ["progress", "runs", "slices", "experiments"])
    assert {name: t["title"] for name, t in texts.items()} == {
        "progress": "Progress towards the target", "runs": "This period's runs",
        "slices": "Parts of the test set", "experiments": "Best result of each experiment"}
    assert texts["progress"]["caption"] == (
        "The dark line is the best model's F1 score on the test set, the figure we quote; the "
        "light line is the best result so far on the validation set, where models are "
        "compared. The dashed green line is the agreed bar (a step where it was moved); dotted "
        "lines mark earlier check-ins; this period is shaded.")
    assert texts["runs"]["caption"] == (
        "Every run that finished in this period, on the validation set, one colour per "
        "experiment. The ringed run is the best model; crosses fail a guardrail and cannot be "
        "picked; the dashed line is the baseline.")
    assert texts["slices"]["caption"] == (
        "The best model on each slice against its overall figure; orange slices lag "
        "noticeably.")
    assert texts["experiments"]["caption"] == (
        "Each experiment at its best run on the validation set.")
    assert list(reading_guide.chart_texts(F1, ["runs"])) == ["runs"]
