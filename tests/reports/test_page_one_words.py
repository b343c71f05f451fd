"""What only page 1 says, pinned literally: who recorded a change, the limits, what next."""

from datetime import date

import pytest

from reports import page_one

TARGET_80 = {"metric": "f1", "direction": "maximize", "threshold": 0.8, "judged_on": "test"}
ON = date(2026, 11, 2)


def test_a_change_names_a_person_by_full_name_and_an_account_as_an_account():
    assert page_one.recorder(full_name="Dana Smith", username="dana") == "Dana Smith"
    assert page_one.recorder(full_name=" ", username="bar-reports") == (
        'the account "bar-reports"')
    assert page_one.recorder(full_name="", username=None) == "an account since deleted"


@pytest.mark.parametrize(("what", "old", "new", "sentence"), [
    ("target", None, TARGET_80,
     "The target was set to F1 score of at least 80 out of 100 on the test set (recorded by "
     "Dana Smith on 2 November 2026)."),
    ("target", TARGET_80, {**TARGET_80, "threshold": 0.85},
     "The bar was raised from 80 to 85 out of 100 (recorded by Dana Smith on 2 November "
     "2026)."),
    ("target", TARGET_80, {**TARGET_80, "threshold": 0.75},
     "The bar was lowered from 80 to 75 out of 100 (recorded by Dana Smith on 2 November "
     "2026)."),
    ("target", {"metric": "latency_ms", "direction": "minimize", "threshold": 80},
     {"metric": "latency_ms", "direction": "minimize", "threshold": 50},
     "The limit was tightened from 80 ms to 50 ms (recorded by Dana Smith on 2 November "
     "2026)."),
    ("target", TARGET_80, {"metric": "accuracy", "direction": "maximize", "threshold": 0.9},
     "The target was changed from F1 score of at least 80 out of 100 on the test set to "
     "accuracy of at least 90 out of 100 on the test set (recorded by Dana Smith on 2 November "
     "2026)."),
    ("target", TARGET_80, None,
     "The target (F1 score of at least 80 out of 100 on the test set) was removed (recorded by "
     "Dana Smith on 2 November 2026)."),
    ("target", TARGET_80, {**TARGET_80, "agreed_by": "Tom Becker", "agreed_on": "2026-11-01"},
     "Who agreed the target was updated: Tom Becker, on 1 November 2026 (recorded by Dana "
     "Smith on 2 November 2026)."),
    ("guardrails", [], [{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50},
                        {"metric": "accuracy", "split": "test", "op": ">=", "value": 0.7}],
     "The limits a model must also meet were set: answering in at most 50 ms and accuracy at "
     "least 70 out of 100 (recorded by Dana Smith on 2 November 2026)."),
    ("guardrails", [{"metric": "model_size_mb", "split": "test", "op": "<", "value": 200}], [],
     "The limits a model must also meet (model size below 200 MB) were removed (recorded by "
     "Dana Smith on 2 November 2026)."),
])
def test_changes_say_who_recorded_them_never_who_agreed(what, old, new, sentence):
    text = page_one.target_change_sentence(what=what, old=old, new=new, who="Dana Smith",
                                           on=ON)
    assert text == sentence
    assert "Dana Smith agreed" not in text


LATENCY = {"metric": "latency_ms", "split": "test", "op": "<=", "value": 50, "actual": 41,
           "passed": True}
ACCURACY_FLOOR = {"metric": "accuracy", "split": "test", "op": ">=", "value": 0.7,
                  "actual": 0.78, "passed": True}


def test_the_limits_in_one_line():
    assert page_one.limits_line(guardrails=[LATENCY], count=1, has_winner=True) == (
        "It also answers fast enough: 41 ms, the limit is 50 ms.")
    assert page_one.limits_line(guardrails=[LATENCY, ACCURACY_FLOOR], count=2,
                                has_winner=True) == (
        "It also meets every other agreed limit: it answers fast enough (41 ms, the limit is "
        "50 ms) and it meets the agreed minimum on accuracy (78 out of 100, the minimum is "
        "70).")
    assert page_one.limits_line(guardrails=[], count=0, has_winner=True) == (
        "No other limit, such as how fast it must answer, was agreed.")
    assert page_one.limits_line(guardrails=[], count=1, has_winner=False) == (
        "There is no best model yet, so the other agreed limits were not checked.")
    too_slow = {**LATENCY, "actual": 61, "passed": False}
    assert page_one.limits_line(guardrails=[too_slow], count=1, has_winner=True) == (
        "It also does not answer fast enough: 61 ms, the limit is 50 ms.")


def test_the_best_model_is_named_by_its_experiment_and_idea():
    assert page_one.origin_sentence(
        experiment="distilled transformer",
        hypothesis="A small pretrained language model understands phrasing that word counts "
                   "miss") == (
        'It comes from the experiment "distilled transformer". The idea behind it: a small '
        "pretrained language model understands phrasing that word counts miss.")
    assert page_one.origin_sentence(experiment="svm", hypothesis="  ") == (
        'It comes from the experiment "svm".')


@pytest.mark.parametrize(("facts", "sentence"), [
    ({"idea": "Training on last quarter's emails closes the last point."},
     "What the team is trying next: training on last quarter's emails closes the last point."),
    ({"idea": "GPU batching halves the answer time"},
     "What the team is trying next: GPU batching halves the answer time."),
    ({"has_target": False},
     "What would settle it: agreeing a target (a measure, a direction and a bar), so the next "
     "check-in can say how far the project is."),
    ({"has_baseline": False},
     "What would settle it: a baseline, the current way of working measured on the same test "
     "set, to show whether the model beats it."),
    ({"met": True},
     "No next idea is written down: the next check-ins show whether the result holds."),
    ({"too_early": True},
     "What would settle it: the next check-ins' results, which show the pace."),
    ({}, "No next idea is written down yet: ask the team what they will try next."),
])
def test_the_next_step_in_one_sentence(facts, sentence):
    given = {"idea": "", "has_target": True, "has_baseline": True, "met": False,
             "too_early": False, **facts}
    assert page_one.next_step_sentence(**given) == sentence
