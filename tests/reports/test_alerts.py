"""Alerts: the target met for the first time, a new best model; each told once."""

import pytest
from django.core import mail

from reports.alerts import check_alerts
from reports.checkins import save_checkin
from reports.delivery import deliver_alert
from reports.models import Alert, AlertKind
from tests.factories import make_run
from tracker.selectors.winner import standing
from tracker.services import metrics as metric_services
from tracker.services import runs as run_services
from tracker.services import targets as target_services

pytestmark = pytest.mark.django_db


def alerts_sent() -> list[tuple[str, str]]:
    return sorted((m.to[0], m.subject) for m in mail.outbox)


def test_meeting_the_target_for_the_first_time_is_told_once(checkin):
    svm = standing(project=checkin.project).winner
    [met, changed] = check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk))
    assert (met.kind, changed.kind, changed.sent_with) == (
        AlertKind.TARGET_MET, AlertKind.WINNER_CHANGED, met)
    assert met.body.splitlines()[:2] == [
        "News topics has met its target for the first time.",
        'Run "svm" (experiment "svm") is now the best model, replacing run "lr".']
    deliver_alert(alert_id=met.pk)
    assert alerts_sent() == [("cfo@example.com", "News topics: target met"),
                             ("dana@example.com", "News topics: target met"),
                             ("olivia@example.com", "News topics: target met")]
    assert check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk)) == []
    assert deliver_alert(alert_id=met.pk).sent == 0


def test_a_new_best_model_is_told_once(checkin, owner):
    svm = standing(project=checkin.project).winner
    check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk))
    better = make_run(checkin.project, owner, name="bert", experiment="bert",
                      series={"validation.f1": 0.9, "test.f1": 0.88, "test.latency_ms": 30})
    [alert] = check_alerts(project_id=checkin.project.pk, run_id=str(better.pk))
    assert (alert.kind, alert.subject, alert.previous_run_id) == (
        AlertKind.WINNER_CHANGED, "News topics: new best model", str(svm.pk))
    assert alert.body.splitlines()[0] == (
        'Run "bert" (experiment "bert") is now the best model, replacing run "svm".')
    assert check_alerts(project_id=checkin.project.pk, run_id=str(better.pk)) == []
    assert Alert.objects.filter(kind=AlertKind.TARGET_MET).count() == 1  # met before


def test_a_run_that_changes_nothing_alerts_nobody(checkin, owner):
    svm = standing(project=checkin.project).winner
    check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk))
    slower = make_run(checkin.project, owner, name="tiny", experiment="tiny",
                      series={"validation.f1": 0.5, "test.f1": 0.5, "test.latency_ms": 1})
    assert check_alerts(project_id=checkin.project.pk, run_id=str(slower.pk)) == []


def test_an_old_change_is_not_news(checkin, owner):
    # Alerts switched on for a project whose best model changed long ago: a run that changes
    # nothing finishes; nobody is told about the old change.
    slower = make_run(checkin.project, owner, name="tiny", experiment="tiny",
                      series={"validation.f1": 0.5, "test.f1": 0.5, "test.latency_ms": 1})
    alerts = check_alerts(project_id=checkin.project.pk, run_id=str(slower.pk))
    assert [a.kind for a in alerts] == [AlertKind.TARGET_MET]  # but it has never been told


def test_finishing_a_run_checks_the_alerts_after_commit(project, owner, queued,
                                                        django_capture_on_commit_callbacks):
    run, _ = run_services.create_run(project=project, user=owner, experiment="e")
    other, _ = run_services.create_run(project=project, user=owner, experiment="e")
    with django_capture_on_commit_callbacks(execute=True):
        run_services.finish_run(run=other)
    assert queued == []  # no check-in: nobody asked for email
    save_checkin(project=project, data={"weekday": 0,
                                                 "recipients": ["cfo@example.com"]})
    with django_capture_on_commit_callbacks(execute=True):
        metric_services.log_batch(run=run, metrics=[
            {"key": "f1", "split": "validation", "value": 0.8, "step": 1, "timestamp": 1}])
    assert queued == []  # a running run cannot change the best model
    with django_capture_on_commit_callbacks(execute=True):
        run_services.finish_run(run=run)
    with django_capture_on_commit_callbacks(execute=True):
        metric_services.log_batch(run=run, metrics=[
            {"key": "f1", "split": "test", "value": 0.8, "step": 1, "timestamp": 2}])
    assert [q[:2] for q in queued] == [("check_alerts_task", (project.pk, str(run.pk)))] * 2


def test_a_target_edit_that_makes_the_target_met_is_told_once(checkin, owner, queued,
                                                             django_capture_on_commit_callbacks):
    project = checkin.project
    bar = {"metric": "f1", "direction": "maximize", "judged_on": "test",
           "selected_on": "validation"}
    with django_capture_on_commit_callbacks(execute=True):
        target_services.set_target(project=project, user=owner, target={**bar, "threshold": 0.9})
    assert [q[:2] for q in queued] == [("check_alerts_task", (project.pk,))]
    assert check_alerts(project_id=project.pk) == []  # svm's 0.86 is short of 0.9
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        target_services.set_target(project=project, user=owner, target={**bar, "threshold": 0.9})
    assert queued == []  # the same target again: nothing changed
    with django_capture_on_commit_callbacks(execute=True):
        target_services.set_guardrails(project=project, user=owner, guardrails=[
            {"metric": "latency_ms", "split": "test", "op": "<=", "value": 20}])
    assert [q[:2] for q in queued] == [("check_alerts_task", (project.pk,))]
    target_services.set_target(project=project, user=owner, target={**bar, "threshold": 0.8})
    [met] = check_alerts(project_id=project.pk)
    assert (met.kind, met.subject) == (AlertKind.TARGET_MET, "News topics: target met")
    assert met.body.splitlines()[0] == "News topics has met its target for the first time."
    assert check_alerts(project_id=project.pk) == []
    # Without a run, a best model that was never told of is not told now: the rules changed.
    assert not Alert.objects.filter(kind=AlertKind.WINNER_CHANGED).exists()


def test_a_target_edit_without_check_ins_queues_nothing(project, owner, queued,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        target_services.set_target(project=project, user=owner, target={
            "metric": "f1", "direction": "maximize", "threshold": 0.5})
    assert queued == []
