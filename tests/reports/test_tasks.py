"""The tasks: each step queues the next once its transaction commits, by task, never by name."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from reports import tasks
from reports.alerts import check_alerts
from reports.checkins import schedule_checkin_now
from reports.models import Alert, AlertKind, Report, ReportKind
from reports.workflow import send_now
from tracker.selectors.winner import standing

pytestmark = pytest.mark.django_db


def test_the_dispatcher_queues_new_reports_and_stalled_work(
        checkin, rendered_report, queued, django_capture_on_commit_callbacks):
    waiting = send_now(project=checkin.project)  # its task was lost
    delivering = rendered_report()  # its worker died after rendering
    [met, _] = check_alerts(project_id=checkin.project.pk,
                            run_id=str(standing(project=checkin.project).winner.pk))
    schedule_checkin_now(checkin=checkin)
    queued.clear()
    with (time_machine.travel(timezone.now() + timedelta(minutes=6), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        tasks.dispatch_checkins()
    scheduled = Report.objects.get(kind=ReportKind.SCHEDULED)
    assert sorted(q[:2] for q in queued) == sorted([
        ("render_report_task", (scheduled.pk,)), ("render_report_task", (waiting.pk,)),
        ("deliver_report_task", (delivering.pk,)), ("deliver_alert_task", (met.pk,))])


def test_a_rendered_report_queues_its_emails(checkin, no_charts, queued,
                                            django_capture_on_commit_callbacks):
    report = send_now(project=checkin.project)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.render_report_task(report.pk)
    assert [q[:2] for q in queued] == [("deliver_report_task", (report.pk,))]


def test_an_alert_check_queues_one_email_for_the_events_it_tells(
        checkin, queued, django_capture_on_commit_callbacks):
    svm = standing(project=checkin.project).winner
    with django_capture_on_commit_callbacks(execute=True):
        tasks.check_alerts_task(checkin.project.pk, str(svm.pk))
    met = Alert.objects.get(kind=AlertKind.TARGET_MET)
    assert Alert.objects.get(kind=AlertKind.WINNER_CHANGED).sent_with == met  # in its email
    assert [q[:2] for q in queued] == [("deliver_alert_task", (met.pk,))]


def test_a_broker_that_cannot_be_reached_is_logged_not_raised(
        monkeypatch, caplog, django_capture_on_commit_callbacks):
    def unreachable(*args, **kwargs):
        raise ConnectionError("the broker is down")
    monkeypatch.setattr(tasks.render_report_task, "apply_async", unreachable)
    with (caplog.at_level(logging.ERROR, logger="reports.tasks"),
          django_capture_on_commit_callbacks(execute=True)):
        tasks.enqueue_task(tasks.render_report_task, 7)
    assert caplog.messages == ["could not queue reports.tasks.render_report_task(7,); the "
                               "dispatcher will pick it up again"]
