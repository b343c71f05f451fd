"""The dispatcher and "send now": reports created once, in a chain of check-ins."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from reports import tasks
from reports.alerts import check_alerts
from reports.checkins import save_checkin
from reports.dispatch import dispatch_due_checkins, recover_stalled_work
from reports.models import CheckIn, Report, ReportKind
from reports.workflow import send_now
from tracker.errors import InvalidInput
from tracker.selectors.winner import standing

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_send_now_needs_recipients(project):
    with pytest.raises(InvalidInput) as error:
        send_now(project=project)
    assert error.value.message == ("this project's check-in has no recipients: add some, or "
                                   "name the addresses to send to")


def test_send_now_to_the_recipients_is_a_check_in_and_a_preview_is_not(checkin):
    first = send_now(project=checkin.project)
    preview = send_now(project=checkin.project, to=["me@example.com"])
    second = send_now(project=checkin.project)
    assert (first.kind, preview.kind, second.kind) == (
        ReportKind.MANUAL, ReportKind.PREVIEW, ReportKind.MANUAL)
    assert preview.period_start == first.period_end
    assert second.period_start == first.period_end  # the preview is not in the chain
    assert list(first.deliveries.values_list("email", flat=True)) == [
        "dana@example.com", "cfo@example.com"]
    assert list(preview.deliveries.values_list("email", flat=True)) == ["me@example.com"]


def test_send_now_queues_the_render_after_commit(checkin, queued,
                                                 django_capture_on_commit_callbacks, settings):
    settings.REPORT_QUEUE = "reports-here"
    with django_capture_on_commit_callbacks(execute=True):
        report = send_now(project=checkin.project)
    assert queued == [("render_report_task", (report.pk,), {"queue": "reports-here"})]


def test_stalled_work_is_found_again_once_a_lease(checkin, rendered_report):
    waiting = send_now(project=checkin.project)
    delivering = rendered_report()
    fresh = send_now(project=checkin.project)
    [met, _] = check_alerts(project_id=checkin.project.pk,
                            run_id=str(standing(project=checkin.project).winner.pk))
    later = timezone.now() + timedelta(minutes=6)
    Report.objects.filter(pk=fresh.pk).update(lease_until=later + timedelta(minutes=1))
    found = recover_stalled_work(now=later)
    assert (found.render, found.deliver, found.unknown) == ([waiting.pk], [delivering.pk], 0)
    assert found.alerts == [met.pk]  # once, not once per email waiting
    again = recover_stalled_work(now=later + timedelta(minutes=1))
    assert (again.render, again.deliver) == ([], [])  # a report at most once a lease


# --- the dispatcher with frozen time -----------------------------------------------------------

@pytest.fixture
def paris_weekly(project):
    with time_machine.travel(utc(2026, 3, 20, 12), tick=False):
        return save_checkin(project=project, data={
            "cadence": "weekly", "weekday": "monday", "local_time": "09:00",
            "time_zone": "Europe/Paris", "recipients": ["dana@example.com"]})


def test_the_dispatcher_sends_at_the_local_time_across_dst(
        paris_weekly, queued, django_capture_on_commit_callbacks):
    assert paris_weekly.next_due_at == utc(2026, 3, 23, 8)  # 09:00 CET
    with time_machine.travel(utc(2026, 3, 23, 7, 59), tick=False):
        assert dispatch_due_checkins() == []
    with (time_machine.travel(utc(2026, 3, 23, 8, 0, 30), tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        tasks.dispatch_checkins()  # what beat runs: the report, and its render queued
        assert dispatch_due_checkins() == []  # the next minute's dispatcher finds nothing
    [report] = Report.objects.all()
    paris_weekly.refresh_from_db()
    assert paris_weekly.next_due_at == utc(2026, 3, 30, 7)  # 09:00 CEST, after the change
    assert report.period_end == utc(2026, 3, 23, 8, 0, 30)
    assert report.period_start == utc(2026, 3, 16, 8)  # the first period: one slot back
    assert [q[:2] for q in queued] == [("render_report_task", (report.pk,))]
    with time_machine.travel(utc(2026, 3, 30, 7, 0, 10), tick=False):
        [second] = dispatch_due_checkins()
    assert second.period_start == report.period_end  # each period starts where the last ended


def test_a_scheduler_down_for_weeks_sends_one_report_when_it_comes_back(paris_weekly):
    with time_machine.travel(utc(2026, 4, 15, 10), tick=False):
        reports = dispatch_due_checkins()
        assert dispatch_due_checkins() == []
    assert len(reports) == 1
    assert Report.objects.count() == 1
    paris_weekly.refresh_from_db()
    assert paris_weekly.next_due_at == utc(2026, 4, 20, 7)


def test_a_disabled_check_in_is_not_sent(paris_weekly):
    CheckIn.objects.filter(pk=paris_weekly.pk).update(enabled=False)
    with time_machine.travel(utc(2026, 3, 23, 9), tick=False):
        assert dispatch_due_checkins() == []


def test_switching_a_check_in_back_on_does_not_send_the_missed_ones(paris_weekly):
    with time_machine.travel(utc(2026, 3, 22), tick=False):
        save_checkin(project=paris_weekly.project, data={"enabled": False})
    with time_machine.travel(utc(2026, 4, 8, 12), tick=False):
        checkin = save_checkin(project=paris_weekly.project, data={"enabled": True})
        assert dispatch_due_checkins() == []
    assert checkin.next_due_at == utc(2026, 4, 13, 7)


def test_changing_the_schedule_moves_the_next_check_in(paris_weekly):
    with time_machine.travel(utc(2026, 3, 20, 12), tick=False):
        checkin = save_checkin(project=paris_weekly.project, data={
            "cadence": "monthly", "day_of_month": 31, "local_time": "18:00",
            "time_zone": "America/Los_Angeles"})
    assert checkin.next_due_at == utc(2026, 4, 1, 1)  # 31 March 18:00 PDT
