"""The production answer from stored rows, the profiles it reads, the alert episodes kept on
the deployment, and business results read back: the services and selectors below the API."""

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.factories import make_run
from tracker.errors import InvalidInput, LimitExceeded
from tracker.models import ImpactResult
from tracker.selectors import impact as impact_selectors
from tracker.selectors import production as production_selectors
from tracker.services import deployments as deployment_services
from tracker.services import impact as impact_services
from tracker.services import production as production_services

NOV_3 = datetime(2026, 11, 3, tzinfo=UTC)
WEEK = timedelta(days=7)
TODAY = date(2026, 12, 8)

REFERENCE = {"count": 1000, "features": {
    "length": {"kind": "numeric", "edges": [0, 10, 20, 40, 80], "counts": [250, 250, 250, 250]},
    "channel": {"kind": "categorical", "counts": {"email": 600, "chat": 400}}}}
SHIFTED = {"count": 1000, "features": {
    "length": {"kind": "numeric", "edges": [0, 10, 20, 40, 80], "counts": [100, 100, 300, 500]},
    "channel": {"kind": "categorical", "counts": {"email": 590, "chat": 410}}}}


@pytest.fixture
def deployed(project, owner):
    project.case_noun = "tickets"
    project.save(update_fields=["case_noun"])
    run = make_run(project, owner, name="lr-c1", series={"validation.f1": 0.88, "test.f1": 0.87})
    deployment = deployment_services.start_deployment(
        project=project, user=owner, environment="production", run_id=str(run.id),
        started_at=NOV_3)
    return run, deployment


def _week(deployment, n, f1, labelled=310):
    start = NOV_3 + n * WEEK
    deployment_services.record_live_result(
        deployment=deployment, window_start=start, window_end=start + WEEK,
        metrics={"f1": f1}, count=1240, labelled=labelled)


def test_nothing_deployed_says_so(project):
    answer = production_selectors.production_answer(project=project, today=TODAY)
    assert (answer.deployment, answer.status) == (None, "no results")
    assert answer.sentence == production_selectors.NOT_DEPLOYED


def test_the_answer_quotes_the_latest_week_against_the_bar_and_the_drift(deployed, project):
    run, deployment = deployed
    production_services.record_run_profile(run=run, profile=REFERENCE)
    _week(deployment, 0, 0.88)
    _week(deployment, 1, 0.83)
    production_services.record_live_profile(deployment=deployment, window_start=NOV_3 + WEEK,
                                            window_end=NOV_3 + 2 * WEEK, profile=SHIFTED)
    answer = production_selectors.production_answer(project=project, today=date(2026, 11, 20))
    assert answer.status == "below the bar" and answer.retrain
    assert answer.test_value == pytest.approx(0.87)
    assert answer.sentence.startswith(
        "Live since 3 November: on 310 checked tickets last week the model scored 83 out of "
        "100 on F1")
    assert answer.sentence.endswith(
        "(it scored 87 on the test set). One input has shifted markedly since training: "
        "length. Retraining is recommended.")
    assert [(d.feature, d.band) for d in answer.drift.features] == [
        ("length", "significant"), ("channel", "stable")]
    assert answer.quoted.labelled == 310


def test_a_live_profile_must_use_the_references_edges(deployed):
    run, deployment = deployed
    production_services.record_run_profile(run=run, profile=REFERENCE)
    other = {"count": 10, "features": {"length": {"kind": "numeric", "edges": [0, 5, 80],
                                                  "counts": [5, 5]}}}
    with pytest.raises(InvalidInput) as refused:
        production_services.record_live_profile(deployment=deployment, window_start=NOV_3,
                                                window_end=NOV_3 + WEEK, profile=other)
    assert refused.value.field == "features.length.edges"
    assert not production_selectors.live_profiles(deployment=deployment).exists()


def test_a_profile_too_wide_is_refused_naming_the_feature(deployed):
    run, _ = deployed
    wide = {"count": 1, "features": {"id": {"kind": "categorical",
                                            "counts": {str(i): 1 for i in range(1001)}}}}
    with pytest.raises(LimitExceeded) as refused:
        production_services.record_run_profile(run=run, profile=wide)
    assert refused.value.field == "features.id"


def test_alerts_go_out_once_per_episode(deployed, project):
    _, deployment = deployed
    _week(deployment, 0, 0.80)
    _, first = production_services.due_alerts(project=project, today=TODAY)
    _, again = production_services.due_alerts(project=project, today=TODAY)
    assert first.below_bar and not again.below_bar
    _week(deployment, 1, 0.90)
    _, recovered = production_services.due_alerts(project=project, today=TODAY)
    assert not recovered.below_bar
    _week(deployment, 2, 0.80)
    _, fell_again = production_services.due_alerts(project=project, today=TODAY)
    assert fell_again.below_bar
    deployment.refresh_from_db()
    assert deployment.alert_episodes == {"below_bar": True, "drifting": []}


def test_a_business_result_reads_back_as_its_sentence(deployed, project, owner):
    _, deployment = deployed
    impact_services.record_impact(
        project=project, user=owner, kind="ab_test", metric="first-contact resolution",
        direction="maximize", control={"successes": 4402, "n": 6200},
        treatment={"successes": 4712, "n": 6200}, deployment_id=deployment.pk,
        started_at=datetime(2026, 11, 2, tzinfo=UTC), ended_at=datetime(2026, 11, 17, tzinfo=UTC))
    [read] = impact_selectors.impact_readings(project=project, today=TODAY)
    assert read.verdict == "improvement" and read.result.run_id == deployment.run_id
    assert read.sentence.startswith(
        "In the A/B test from 2 to 16 November (12,400 tickets), first-contact resolution went "
        "from 71.0 % to 76.0 %: 5.0 points better (95 % interval: ")


def test_a_business_result_of_mixed_groups_is_refused_and_stores_nothing(deployed, project, owner):
    _, deployment = deployed
    with pytest.raises(InvalidInput) as refused:
        impact_services.record_impact(
            project=project, user=owner, kind="backtest", metric="handling time",
            direction="minimize", control={"successes": 1, "n": 2},
            treatment={"mean": 5.0, "sd": 1.0, "n": 20}, deployment_id=deployment.pk,
            started_at=NOV_3, ended_at=NOV_3 + WEEK)
    assert refused.value.field == "treatment"
    assert not ImpactResult.objects.exists()
