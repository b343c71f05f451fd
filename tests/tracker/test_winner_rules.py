"""Winner rules without the database."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from tracker.winner_rules import (
    Candidate,
    GuardrailRule,
    best_index,
    choose,
    failed_guardrails,
    failure_text,
    lift,
    met,
    rank,
    reads_judged_split,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def cand(name, value, *, minutes=0, **guardrails):
    return Candidate(run_id=name, name=name, ended_at=T0 + timedelta(minutes=minutes),
                     selection_value=value,
                     guardrail_values={(k, "test"): v for k, v in guardrails.items()})


def winner(cands, direction="maximize", rules=()):
    chosen = choose(rank(cands, direction=direction, rules=list(rules)))
    return chosen.candidate.name if chosen else None


def test_highest_wins_when_maximising_and_lowest_when_minimising():
    cands = [cand("a", 0.7), cand("b", 0.9), cand("c", 0.8)]
    assert winner(cands) == "b"
    assert winner(cands, "minimize") == "a"


def test_nan_and_missing_never_win():
    assert winner([cand("nan", math.nan), cand("missing", None), cand("ok", 0.1)]) == "ok"
    assert winner([cand("nan", math.nan), cand("missing", None)]) is None


def test_ties_go_to_the_run_that_finished_first():
    assert winner([cand("late", 0.9, minutes=5), cand("early", 0.9, minutes=1)]) == "early"


def test_a_run_failing_a_guardrail_cannot_win_and_the_reason_is_given():
    rule = GuardrailRule("latency_ms", "test", "<=", 50)
    cands = [cand("fast", 0.8, latency_ms=30), cand("slow", 0.9, latency_ms=80)]
    ranked = rank(cands, direction="maximize", rules=[rule])
    assert [r.candidate.name for r in ranked] == ["slow", "fast"]
    assert ranked[0].failures == ("test.latency_ms is 80 (test.latency_ms <= 50)",)
    assert choose(ranked).candidate.name == "fast"


def test_a_run_missing_a_guardrail_metric_does_not_pass():
    rule = GuardrailRule("latency_ms", "test", "<=", 50)
    ranked = rank([cand("unmeasured", 0.9)], direction="maximize", rules=[rule])
    assert ranked[0].failures == ("test.latency_ms was not logged (test.latency_ms <= 50)",)
    assert choose(ranked) is None


def test_guardrail_operators_are_strict_or_inclusive_as_written():
    at_limit = [cand("edge", 0.9, latency_ms=50)]
    assert winner(at_limit, rules=[GuardrailRule("latency_ms", "test", "<=", 50)]) == "edge"
    assert winner(at_limit, rules=[GuardrailRule("latency_ms", "test", "<", 50)]) is None


def test_met_is_inclusive_and_direction_aware():
    assert met(0.85, threshold=0.85, direction="maximize") is True
    assert met(0.849, threshold=0.85, direction="maximize") is False
    assert met(3.0, threshold=3.0, direction="minimize") is True
    assert met(3.1, threshold=3.0, direction="minimize") is False
    assert met(math.nan, threshold=3.0, direction="minimize") is None


def test_lift_is_positive_when_better():
    assert lift(0.9, 0.8, direction="maximize") == 0.9 - 0.8
    assert lift(2.0, 3.0, direction="minimize") == 1.0
    assert lift(0.7, 0.8, direction="maximize") < 0
    assert lift(0.7, None, direction="maximize") is None


def test_best_index_keeps_the_earliest_of_equal_values():
    assert best_index([0.5, 0.9, 0.9, 0.7], direction="maximize") == 1
    assert best_index([math.nan, None], direction="maximize") is None
    assert best_index([3.0, 1.0, math.nan, 2.0], direction="minimize") == 1


def test_a_guardrail_failure_quotes_the_value_readably():
    rule = GuardrailRule("latency_ms", "test", "<=", 10)
    ranked = rank([cand("forest", 0.9, latency_ms=10.088215)], direction="maximize",
                  rules=[rule])
    assert ranked[0].failures == ("test.latency_ms is 10.09 (test.latency_ms <= 10)",)


def test_a_failed_guardrail_is_told_with_its_value_or_without_it():
    latency = GuardrailRule("latency_ms", "test", "<=", 50)
    size = GuardrailRule("size_mb", "test", "<=", 200)
    failed = failed_guardrails(cand("a", 0.9, latency_ms=63.25, size_mb=120), [latency, size])
    assert failed == [(latency, 63.25)]
    assert failure_text(latency, 63.25) == "test.latency_ms is 63.25 (test.latency_ms <= 50)"
    assert failure_text(latency, 63.25, value_shown=False) == (
        "test.latency_ms is hidden (test.latency_ms <= 50)")
    assert failure_text(latency, math.nan, value_shown=False) == (
        "test.latency_ms was not logged (test.latency_ms <= 50)")


@pytest.mark.parametrize(
    ("metric", "split", "reads"),
    [
        ("recall", "test", True),  # a measure of quality on the judged split
        ("recall", "test/long_texts", True),  # a slice of it holds its cases
        ("recall", "validation", False),
        ("latency_ms", "test", False),  # a measure of cost: a property of the model
        ("model_size_mb", "test/long_texts", False),
        ("latency_p95_ms", "test", True),  # unknown until the project lists it
        ("f1", "test", True),
    ],
)
def test_which_guardrails_would_make_selection_read_the_judged_split(metric, split, reads):
    assert reads_judged_split(metric=metric, split=split, judged_on="test") is reads


def test_a_listed_measure_of_cost_may_be_checked_on_the_judged_split_but_not_the_target():
    assert not reads_judged_split(metric="latency_p95_ms", split="test", judged_on="test",
                                  cost_metrics=["latency_p95_ms"])
    # the target metric is never read on the judged split to choose, even a latency
    assert reads_judged_split(metric="latency_ms", split="test", judged_on="test",
                              target_metric="latency_ms")
    # a judged slice shares its cases with the whole split
    assert reads_judged_split(metric="recall", split="test", judged_on="test/clean")
