"""A report's contents: the project read in plain words, and the verdict it leads to."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reports import selectors
from reports.assembly import assemble, current_verdict
from reports.models import CheckIn
from reports.periods import report_zone, start_of_period
from reports.workflow import send_now
from tests.factories import make_run
from tracker.models import Run
from tracker.selectors.winner import standing
from tracker.services import projects as project_services

pytestmark = pytest.mark.django_db


def test_the_report_reads_the_project_in_plain_words(rendered_report):
    snapshot = rendered_report().snapshot
    assert snapshot["standing_sentence"] == (
        'Best model so far (run "svm"): scores 86 out of 100 on F1, a balance of finding the '
        "cases that matter and being right when it flags one, on the test set; the agreed bar "
        "is 85. It meets the target. It does 17 points better than the baseline.")
    assert snapshot["best_model"] == {
        "sentence": "Best model so far: scores 86 out of 100 on F1, a balance of finding the "
                    "cases that matter and being right when it flags one, on the test set; the "
                    "agreed bar is 85. It meets the target. It does 17 points better than the "
                    "baseline.",
        "origin": 'It comes from the experiment "svm".',
        "limits": "It also answers fast enough: 9 ms, the limit is 50 ms."}
    assert snapshot["baseline"]["sentence"] == (
        'The baseline, the status quo to beat, is "rules": 69 out of 100 on the test set.')
    assert snapshot["guardrails"]["items"] == [{
        "sentence": "Answers in 9 ms on the test set; the limit is 50 ms (passes).",
        "passed": True}]
    assert [s["sentence"] for s in snapshot["slices"]["items"]] == [
        "The long texts slice of the test set: 71 out of 100, against 86 overall (15 points "
        "worse)."]
    assert snapshot["runs_sentence"].startswith("3 models finished training since ")
    assert snapshot["test_looks"]["sentence"].startswith("Nobody looked at test results")


def test_a_project_without_a_target_says_so(make_user, no_charts):
    owner = make_user("owen")
    project = project_services.create_project(user=owner, slug="no-target")
    assembled = assemble(project=project, period_start=timezone.now() - timedelta(7),
                                  period_end=timezone.now())
    verdict = assembled.snapshot["verdict"]
    assert (verdict["kind"], verdict["label"], verdict["sentence"]) == (
        "no_progress", "No progress",
        "No target has been agreed yet, so there is nothing to measure progress against.")
    assert [m["label"] for m in verdict["meanings"] if m["current"]] == ["No progress"]
    assert assembled.snapshot["next_step"] == (
        "What would settle it: agreeing a target (a measure, a direction and a bar), so the "
        "next check-in can say how far the project is.")
    assert assembled.snapshot["standing_sentence"].startswith("No target has been agreed yet")
    assert assembled.figures == {}


def test_the_replayed_history_ends_with_todays_winner(with_runs):
    current = standing(project=with_runs)
    history = selectors.progress_history(project=with_runs, target=current.target,
                                         until=timezone.now())
    assert [p.run_name for p in history] == ["rules", "lr", "svm"]
    assert history[-1].run_id == str(current.winner.pk)
    assert [round(p.judged_value, 2) for p in history] == [0.69, 0.79, 0.86]


def test_one_day_of_runs_is_no_pace(project, owner, no_charts):
    # Nothing had finished when the period began; a baseline and two models finished during it.
    make_run(project, owner, name="rules", experiment="rules", baseline=True,
             series={"validation.f1": 0.60, "test.f1": 0.60, "test.latency_ms": 1})
    make_run(project, owner, name="first", experiment="e",
             series={"validation.f1": 0.70, "test.f1": 0.78, "test.latency_ms": 5})
    make_run(project, owner, name="second", experiment="e",
             series={"validation.f1": 0.80, "test.f1": 0.84, "test.latency_ms": 5})
    snapshot = assemble(project=project, period_start=timezone.now() - timedelta(7),
                        period_end=timezone.now() + timedelta(seconds=1),
                        time_zone="UTC").snapshot
    assert snapshot["verdict"]["kind"] == "at_risk"
    assert snapshot["verdict"]["sentence"] == (
        "1 point short of the agreed bar of 85 on the first check-in: the best model's F1 score "
        "on the test set is 84 out of 100. It is too early to tell the pace: that takes the "
        "best model's results at 2 earlier check-ins, over at least 2 weeks.")
    assert snapshot["since_heading"] == "In this period"


def test_a_baseline_is_named_as_the_baseline_not_as_the_model_then(project, owner, no_charts):
    baseline = make_run(project, owner, name="rules", experiment="keyword rules",
                        baseline=True, series={"validation.f1": 0.6, "test.f1": 0.6,
                                               "test.latency_ms": 1})
    Run.objects.filter(pk=baseline.pk).update(ended_at=timezone.now() - timedelta(days=3))
    make_run(project, owner, name="bert", experiment="bert",
             series={"validation.f1": 0.8, "test.f1": 0.84, "test.latency_ms": 30})
    start = timezone.now() - timedelta(days=2)
    snapshot = assemble(project=project, period_start=start,
                        period_end=timezone.now() + timedelta(seconds=1),
                        time_zone="UTC").snapshot
    assert snapshot["change"]["sentence"] == (
        f"On {start.day} {start:%B %Y}, no model had beaten the baseline yet; now the best "
        "model's F1 score on the test set is 84 out of 100.")
    assert snapshot["verdict"]["sentence"].startswith(
        "1 point short of the agreed bar of 85 on the first check-in:")


def _report_verdict(project, now):
    """The verdict a whole report assembled now would state."""
    checkin = CheckIn.objects.filter(project=project).first()
    start = start_of_period(project=project, checkin=checkin, end=now)
    snapshot = assemble(project=project, period_start=start, period_end=now,
                                 time_zone=report_zone(checkin)).snapshot
    return snapshot["verdict"]["kind"], snapshot["verdict"]["sentence"]


def test_the_verdict_now_is_the_one_a_report_would_give(project, owner, no_charts,
                                                         django_assert_max_num_queries):
    def same():
        now = timezone.now() + timedelta(seconds=1)
        verdict = current_verdict(project=project, now=now)
        assert (verdict.kind, verdict.sentence) == _report_verdict(project, now)
        return verdict

    assert same().kind == "no_progress"  # no run finished
    make_run(project, owner, name="slow", experiment="e",
             series={"validation.f1": 0.9, "test.f1": 0.9, "test.latency_ms": 500})
    assert same().kind == "no_progress"  # the only run fails a guardrail
    make_run(project, owner, name="first", experiment="e",
             series={"validation.f1": 0.70, "test.f1": 0.78, "test.latency_ms": 5})
    assert same().kind == "at_risk"  # a first result, no trend yet
    make_run(project, owner, name="second", experiment="e",
             series={"validation.f1": 0.80, "test.f1": 0.82, "test.latency_ms": 5})
    assert same().too_early  # better, but one day of results is no pace
    send_now(project=project, to=["a@example.com"])  # a preview: not a check-in
    assert same().too_early
    make_run(project, owner, name="third", experiment="e",
             series={"validation.f1": 0.85, "test.f1": 0.86, "test.latency_ms": 5})
    assert same().kind == "met"
    with django_assert_max_num_queries(30):  # what the rules read, not a whole report
        assert current_verdict(project=project).label == "Target met"
    no_target = project_services.create_project(user=owner, slug="no-target")
    now = timezone.now()
    verdict = current_verdict(project=no_target, now=now)
    assert (verdict.kind, verdict.sentence) == _report_verdict(no_target, now)
    assert verdict.kind == "no_progress"
