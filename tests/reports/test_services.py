"""Check-ins, reports and alerts through the services: each email once, whatever happens."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from reports import selectors, services
from reports.models import (
    Alert,
    AlertKind,
    CheckIn,
    Delivery,
    DeliveryStatus,
    ImmutableReport,
    Report,
    ReportKind,
    ReportStatus,
)
from tests.factories import make_run
from tracker.errors import InvalidInput
from tracker.selectors.winner import standing
from tracker.services import metrics as metric_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services
from tracker.services import targets as target_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_trouble(monkeypatch):
    """Exceptions the (in-memory) SMTP server raises, one per message, before it recovers."""
    trouble: list[Exception] = []
    send = EmailBackend.send_messages

    def flaky(self, messages):
        if trouble:
            raise trouble.pop(0)
        return send(self, messages)
    monkeypatch.setattr(EmailBackend, "send_messages", flaky)
    return trouble


def rendered_report(checkin, **kwargs) -> Report:
    report = services.send_now(project=checkin.project, **kwargs)
    assert services.render_report(report_id=report.pk).state == "rendered"
    report.refresh_from_db()
    return report


# --- schedules -------------------------------------------------------------------------------

def test_recipients_are_addresses_or_members_with_an_address(with_runs, make_user):
    get_user_model().objects.filter(pk=make_user("nomail").pk).update(email="")
    project_services.set_member(project=with_runs, username="nomail", role="viewer")
    make_user("stranger")
    cases = {
        "nomail": "recipients[0]: nomail has no email address; add one to their account or "
                  "list the address itself",
        "stranger": "recipients[0]: 'stranger' is neither an email address nor a member of "
                    "this project",
        "dana@": "recipients[0]: 'dana@' is not a valid email address",
    }
    for entry, message in cases.items():
        with pytest.raises(InvalidInput) as error:
            services.save_checkin(project=with_runs, data={
                "weekday": 0, "recipients": [entry]})
        assert (error.value.message, error.value.field) == (message, "recipients[0]")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"weekday": 0, "time_zone": "Paris"}, "time_zone",
     "unknown time zone 'Paris'; use an IANA name such as Europe/Paris or UTC"),
    ({"cadence": "weekly"}, "weekday",
     "a weekly check-in needs a weekday (0 = Monday … 6 = Sunday)"),
    ({"weekday": "someday"}, "weekday",
     "weekday must be a day name (monday … sunday) or 0-6, not 'someday'"),
    ({"weekday": 0, "local_time": "9 am"}, "local_time",
     "local_time must be HH:MM (24-hour clock), not '9 am'"),
    ({"cadence": "monthly", "day_of_month": 0}, "day_of_month",
     "a monthly check-in needs day_of_month from 1 to 31 (29-31 mean the last day in shorter "
     "months)"),
    ({"weekday": 0, "colour": "blue"}, "colour", "unknown fields: colour"),
])
def test_a_bad_schedule_says_what_to_fix(project, data, field, message):
    with pytest.raises(InvalidInput) as error:
        services.save_checkin(project=project, data=data)
    assert (error.value.field, error.value.message) == (field, message)


def test_every_n_days_counts_from_today_unless_told(project):
    with time_machine.travel("2026-05-04 10:00Z", tick=False):
        checkin = services.save_checkin(project=project, data={
            "cadence": "every_n_days", "every_n_days": 3, "local_time": "08:00"})
    assert checkin.starts_on.isoformat() == "2026-05-04"
    assert checkin.next_due_at.isoformat() == "2026-05-07T08:00:00+00:00"


def test_recipients_are_read_when_sending(checkin):
    get_user_model().objects.filter(username="dana").update(email="dana.reyes@example.com")
    emails, problems = selectors.resolve_recipients(checkin=checkin)
    assert emails == ["dana.reyes@example.com", "cfo@example.com"]
    project_services.remove_member(project=checkin.project, username="dana")
    emails, problems = selectors.resolve_recipients(checkin=checkin)
    assert (emails, problems) == (["cfo@example.com"],
                                  ["dana is no longer a member of the project"])


# --- send now and the chain of check-ins --------------------------------------------------------

def test_send_now_needs_recipients(project):
    with pytest.raises(InvalidInput) as error:
        services.send_now(project=project)
    assert error.value.message == ("this project's check-in has no recipients: add some, or "
                                   "name the addresses to send to")


def test_send_now_to_the_recipients_is_a_check_in_and_a_preview_is_not(checkin):
    first = services.send_now(project=checkin.project)
    preview = services.send_now(project=checkin.project, to=["me@example.com"])
    second = services.send_now(project=checkin.project)
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
        report = services.send_now(project=checkin.project)
    assert queued == [("render_report_task", (report.pk,), {"queue": "reports-here"})]


# --- rendering -------------------------------------------------------------------------------

def test_a_report_is_rendered_once(checkin, no_charts):
    report = rendered_report(checkin)
    assert report.status == ReportStatus.RENDERED
    assert (report.verdict, report.get_verdict_display()) == ("met", "Target met")
    assert report.verdict_sentence == ("The best model's F1 score on the test set is 86 out of "
                                       "100, at or above the agreed bar of 85.")
    assert report.pdf.read(5) == b"%PDF-"
    assert report.snapshot["target"]["sentence"] == (
        "Target: F1 score of at least 85 out of 100 on the test set, agreed by Dana (Head of "
        "Support) on 2 November 2026.")
    assert set(report.figures) == {"progress", "runs", "slices", "experiments"}
    rendered_at = report.rendered_at
    assert services.render_report(report_id=report.pk).state == "already"
    report.refresh_from_db()
    assert (report.rendered_at, report.render_attempts) == (rendered_at, 1)


def test_two_workers_do_not_render_the_same_report_at_once(checkin, no_charts):
    report = services.send_now(project=checkin.project)
    Report.objects.filter(pk=report.pk).update(
        lease_until=timezone.now() + timedelta(seconds=100))
    busy = services.render_report(report_id=report.pk)
    assert busy.state == "busy"
    assert 99 < busy.retry_in <= 101


def test_a_sent_report_never_changes(checkin, no_charts):
    report = rendered_report(checkin)
    services.deliver_report(report_id=report.pk)
    report.refresh_from_db()
    report.html = "<p>better news</p>"
    with pytest.raises(ImmutableReport, match="has been sent; its html cannot change"):
        report.save()


def test_the_report_reads_the_project_in_plain_words(checkin, no_charts):
    snapshot = rendered_report(checkin).snapshot
    assert snapshot["standing_sentence"] == (
        'Best model so far (run "svm"): scores 86 out of 100 on F1, a balance of finding the '
        "cases that matter and being right when it flags one, on the test set; the agreed bar "
        "is 85. It meets the target. It does 17 points better than the baseline.")
    assert snapshot["baseline"]["sentence"] == (
        'The baseline, the status quo to beat, is run "rules": 69 out of 100 on the test set.')
    assert snapshot["guardrails"]["items"] == [{
        "sentence": "Answers in 9 ms on the test set; the limit is 50 ms (passes).",
        "passed": True}]
    assert [s["sentence"] for s in snapshot["slices"]["items"]] == [
        "The long texts slice of the test set: 71 out of 100, against 86 overall (15 points "
        "worse)."]
    assert snapshot["runs_sentence"].startswith("3 runs finished since ")
    assert snapshot["test_looks"]["sentence"].startswith("Nobody looked at test results")


def test_a_project_without_a_target_says_so(make_user, no_charts):
    owner = make_user("owen")
    project = project_services.create_project(user=owner, slug="no-target")
    assembled = services.assemble(project=project, period_start=timezone.now() - timedelta(7),
                                  period_end=timezone.now())
    assert assembled.snapshot["verdict"] == {
        "kind": "no_progress", "label": "No progress",
        "sentence": "No target has been agreed yet, so there is nothing to measure progress "
                    "against."}
    assert assembled.snapshot["standing_sentence"].startswith("No target has been agreed yet")
    assert assembled.figures == {}


def test_the_replayed_history_ends_with_todays_winner(with_runs):
    current = standing(project=with_runs)
    history = selectors.progress_history(project=with_runs, target=current.target,
                                         until=timezone.now())
    assert [p.run_name for p in history] == ["rules", "lr", "svm"]
    assert history[-1].run_id == str(current.winner.pk)
    assert [round(p.judged_value, 2) for p in history] == [0.69, 0.79, 0.86]


def test_giving_up_after_too_many_failed_renders(checkin, monkeypatch, settings):
    settings.REPORT_MAX_RENDER_ATTEMPTS = 2
    report = services.send_now(project=checkin.project)

    def broken(**kwargs):
        raise RuntimeError("the template is broken")
    monkeypatch.setattr(services, "assemble", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            services.render_report(report_id=report.pk)
        Report.objects.filter(pk=report.pk).update(lease_until=None)
    assert services.render_report(report_id=report.pk).state == "failed"
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE
    assert set(report.deliveries.values_list("status", "last_error")) == {(
        "failed", "the report could not be rendered after 2 attempts: RuntimeError: the "
                  "template is broken")}


# --- delivery --------------------------------------------------------------------------------

def test_each_recipient_gets_the_report_once(checkin, no_charts):
    report = rendered_report(checkin)
    outcome = services.deliver_report(report_id=report.pk)
    assert (outcome.state, outcome.sent) == ("done", 2)
    assert services.deliver_report(report_id=report.pk).sent == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["cfo@example.com", "dana@example.com"]
    message = mail.outbox[0]
    assert message.subject == "News topics check-in: Target met"
    assert message.body.startswith(
        "Target met. The best model's F1 score on the test set is 86 out of 100, at or above "
        "the agreed bar of 85.\n\nTarget: F1 score of at least 85 out of 100 on the test set")
    [(filename, content, mimetype)] = message.attachments
    assert filename.startswith("news-topics-check-in-") and filename.endswith(".pdf")
    assert (content[:5], mimetype) == (b"%PDF-", "application/pdf")
    report.refresh_from_db()
    assert report.status == ReportStatus.DONE and report.sent_at is not None


def test_smtp_down_is_retried_with_backoff_without_rendering_again(checkin, no_charts,
                                                                  smtp_trouble):
    report = rendered_report(checkin)
    smtp_trouble += [ConnectionRefusedError(111, "Connection refused")] * 2
    outcome = services.deliver_report(report_id=report.pk)
    assert outcome.state == "waiting"
    assert [(d.status, d.attempts, d.last_error) for d in report.deliveries.all()] == [
        ("retry", 1, "ConnectionRefusedError: [Errno 111] Connection refused")] * 2
    assert timezone.now() + timedelta(seconds=59) < outcome.retry_at
    assert services.deliver_report(report_id=report.pk).sent == 0  # not due yet
    with time_machine.travel(outcome.retry_at + timedelta(seconds=1)):
        outcome = services.deliver_report(report_id=report.pk)
    assert (outcome.state, outcome.sent) == ("done", 2)
    assert len(mail.outbox) == 2
    report.refresh_from_db()
    assert report.render_attempts == 1
    assert [d.attempts for d in report.deliveries.all()] == [2, 2]


def test_backoff_doubles():
    assert [services._backoff(n).total_seconds() for n in (1, 2, 3, 4, 10)] == [
        60, 120, 240, 480, 1800]


def test_a_refused_address_fails_at_once_and_the_others_still_get_it(checkin, no_charts,
                                                                    smtp_trouble):
    report = rendered_report(checkin)
    smtp_trouble.append(smtplib.SMTPRecipientsRefused(
        {"dana@example.com": (550, b"no such mailbox")}))
    assert services.deliver_report(report_id=report.pk).state == "done"
    assert [(d.email, d.status) for d in report.deliveries.all()] == [
        ("dana@example.com", "failed"), ("cfo@example.com", "sent")]


def test_after_the_last_attempt_an_email_fails(checkin, no_charts, smtp_trouble, settings):
    settings.REPORT_SMTP_MAX_ATTEMPTS = 1
    report = rendered_report(checkin, to=["me@example.com"])
    smtp_trouble.append(smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))
    assert services.deliver_report(report_id=report.pk).state == "done"
    delivery = report.deliveries.get()
    assert (delivery.status, delivery.last_error) == (
        "failed", "SMTPServerDisconnected: Connection unexpectedly closed")


def test_an_email_cut_off_mid_send_is_never_sent_again(checkin, no_charts):
    report = rendered_report(checkin)
    dana = report.deliveries.get(email="dana@example.com")
    # A worker claimed it, began talking to SMTP and was killed before recording the outcome.
    Delivery.objects.filter(pk=dana.pk).update(
        status=DeliveryStatus.SENDING, attempts=1,
        claimed_at=timezone.now() - timedelta(minutes=10))
    services.recover_stalled_work()
    services.deliver_report(report_id=report.pk)
    dana.refresh_from_db()
    assert dana.status == DeliveryStatus.UNKNOWN
    assert dana.get_status_display() == (
        "unknown: the worker stopped while sending; not sent again")
    assert [m.to for m in mail.outbox] == [["cfo@example.com"]]


def test_stalled_work_is_handed_to_another_worker(checkin, no_charts, queued,
                                                 django_capture_on_commit_callbacks):
    waiting = services.send_now(project=checkin.project)
    delivering = rendered_report(checkin)
    fresh = services.send_now(project=checkin.project)
    queued.clear()
    later = timezone.now() + timedelta(minutes=6)
    Report.objects.filter(pk=fresh.pk).update(lease_until=later + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.recover_stalled_work(now=later)
    assert (outcome["render"], outcome["deliver"]) == (1, 1)
    assert sorted(q[:2] for q in queued) == [("deliver_report_task", (delivering.pk,)),
                                             ("render_report_task", (waiting.pk,))]
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.recover_stalled_work(now=later + timedelta(minutes=1))
    assert queued == []  # queued again at most once a lease


# --- alerts ----------------------------------------------------------------------------------

def alerts_sent() -> list[tuple[str, str]]:
    return sorted((m.to[0], m.subject) for m in mail.outbox)


def test_meeting_the_target_for_the_first_time_is_told_once(checkin):
    svm = standing(project=checkin.project).winner
    [met, changed] = services.check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk))
    assert (met.kind, changed.kind, changed.sent_with) == (
        AlertKind.TARGET_MET, AlertKind.WINNER_CHANGED, met)
    assert met.body.splitlines()[:2] == [
        "News topics has met its target for the first time.",
        'Run "svm" (experiment "svm") is now the best model, replacing run "lr".']
    services.deliver_alert(alert_id=met.pk)
    assert alerts_sent() == [("cfo@example.com", "News topics: target met"),
                             ("dana@example.com", "News topics: target met"),
                             ("olivia@example.com", "News topics: target met")]
    assert services.check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk)) == []
    assert services.deliver_alert(alert_id=met.pk).sent == 0


def test_a_new_best_model_is_told_once(checkin, owner):
    svm = standing(project=checkin.project).winner
    services.check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk))
    better = make_run(checkin.project, owner, name="bert", experiment="bert",
                      series={"validation.f1": 0.9, "test.f1": 0.88, "test.latency_ms": 30})
    [alert] = services.check_alerts(project_id=checkin.project.pk, run_id=str(better.pk))
    assert (alert.kind, alert.subject, alert.previous_run_id) == (
        AlertKind.WINNER_CHANGED, "News topics: new best model", str(svm.pk))
    assert alert.body.splitlines()[0] == (
        'Run "bert" (experiment "bert") is now the best model, replacing run "svm".')
    assert services.check_alerts(project_id=checkin.project.pk, run_id=str(better.pk)) == []
    assert Alert.objects.filter(kind=AlertKind.TARGET_MET).count() == 1  # met before


def test_a_run_that_changes_nothing_alerts_nobody(checkin, owner):
    svm = standing(project=checkin.project).winner
    services.check_alerts(project_id=checkin.project.pk, run_id=str(svm.pk))
    slower = make_run(checkin.project, owner, name="tiny", experiment="tiny",
                      series={"validation.f1": 0.5, "test.f1": 0.5, "test.latency_ms": 1})
    assert services.check_alerts(project_id=checkin.project.pk, run_id=str(slower.pk)) == []


def test_an_old_change_is_not_news(checkin, owner):
    # Alerts switched on for a project whose best model changed long ago: a run that changes
    # nothing finishes; nobody is told about the old change.
    slower = make_run(checkin.project, owner, name="tiny", experiment="tiny",
                      series={"validation.f1": 0.5, "test.f1": 0.5, "test.latency_ms": 1})
    alerts = services.check_alerts(project_id=checkin.project.pk, run_id=str(slower.pk))
    assert [a.kind for a in alerts] == [AlertKind.TARGET_MET]  # but it has never been told


def test_finishing_a_run_checks_the_alerts_after_commit(project, owner, queued,
                                                        django_capture_on_commit_callbacks):
    run, _ = run_services.create_run(project=project, user=owner, experiment="e")
    other, _ = run_services.create_run(project=project, user=owner, experiment="e")
    with django_capture_on_commit_callbacks(execute=True):
        run_services.finish_run(run=other)
    assert queued == []  # no check-in: nobody asked for email
    services.save_checkin(project=project, data={"weekday": 0,
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
    assert services.check_alerts(project_id=project.pk) == []  # svm's 0.86 is short of 0.9
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        target_services.set_target(project=project, user=owner, target={**bar, "threshold": 0.9})
    assert queued == []  # the same target again: nothing changed
    with django_capture_on_commit_callbacks(execute=True):
        target_services.set_guardrails(project=project, user=owner, guardrails=[
            {"metric": "latency_ms", "split": "test", "op": "<=", "value": 20}])
    assert [q[:2] for q in queued] == [("check_alerts_task", (project.pk,))]
    target_services.set_target(project=project, user=owner, target={**bar, "threshold": 0.8})
    [met] = services.check_alerts(project_id=project.pk)
    assert (met.kind, met.subject) == (AlertKind.TARGET_MET, "News topics: target met")
    assert met.body.splitlines()[0] == "News topics has met its target for the first time."
    assert services.check_alerts(project_id=project.pk) == []
    # Without a run, a best model that was never told of is not told now: the rules changed.
    assert not Alert.objects.filter(kind=AlertKind.WINNER_CHANGED).exists()


def test_a_target_edit_without_check_ins_queues_nothing(project, owner, queued,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        target_services.set_target(project=project, user=owner, target={
            "metric": "f1", "direction": "maximize", "threshold": 0.5})
    assert queued == []


def test_a_first_period_measures_its_pace_from_its_first_result(project, owner, no_charts):
    # Nothing had finished when the period began; two candidates finished during it.
    make_run(project, owner, name="first", experiment="e",
             series={"validation.f1": 0.70, "test.f1": 0.78, "test.latency_ms": 5})
    make_run(project, owner, name="second", experiment="e",
             series={"validation.f1": 0.80, "test.f1": 0.82, "test.latency_ms": 5})
    snapshot = services.assemble(project=project, period_start=timezone.now() - timedelta(7),
                                 period_end=timezone.now() + timedelta(seconds=1),
                                 time_zone="UTC").snapshot
    day = timezone.now().date()
    assert snapshot["verdict"]["kind"] == "on_track"
    assert snapshot["verdict"]["sentence"] == (
        "The best model's F1 score on the test set improved from 78 to 82 out of 100 since the "
        f"first test result on {day.day} {day:%B %Y}; at that pace it reaches the agreed bar of "
        "85 within 1 more check-in.")
    assert snapshot["since_heading"] == "In this period"


def _report_verdict(project, now):
    """The verdict a whole report assembled now would state."""
    checkin = CheckIn.objects.filter(project=project).first()
    start = services._period_start(project=project, checkin=checkin, end=now)
    snapshot = services.assemble(project=project, period_start=start, period_end=now,
                                 time_zone=services._report_zone(checkin)).snapshot
    return snapshot["verdict"]["kind"], snapshot["verdict"]["sentence"]


def test_the_verdict_now_is_the_one_a_report_would_give(project, owner, no_charts,
                                                         django_assert_max_num_queries):
    def same():
        now = timezone.now() + timedelta(seconds=1)
        verdict = services.current_verdict(project=project, now=now)
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
    assert same().kind == "on_track"
    services.send_now(project=project, to=["a@example.com"])  # a preview: not a check-in
    assert same().kind == "on_track"
    make_run(project, owner, name="third", experiment="e",
             series={"validation.f1": 0.85, "test.f1": 0.86, "test.latency_ms": 5})
    assert same().kind == "met"
    with django_assert_max_num_queries(30):  # what the rules read, not a whole report
        assert services.current_verdict(project=project).label == "Target met"
    no_target = project_services.create_project(user=owner, slug="no-target")
    now = timezone.now()
    verdict = services.current_verdict(project=no_target, now=now)
    assert (verdict.kind, verdict.sentence) == _report_verdict(no_target, now)
    assert verdict.kind == "no_progress"
