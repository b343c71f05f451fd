"""Production alerts: the live model below the bar, an input drifted significantly; each
told once per episode, by email to the alert recipients and to the listening webhooks."""

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection, transaction

from reports import tasks
from reports.delivery import deliver_alert
from reports.models import Alert, AlertKind, Delivery, WebhookDelivery
from reports.production_alerts import check_production_alerts
from reports.webhooks import create_webhook, notify_alerts
from tests.factories import make_run
from tracker.models import Deployment
from tracker.selectors.winner import standing
from tracker.services import deployments as deployment_services
from tracker.services import production as production_services

pytestmark = pytest.mark.django_db

NOV_3 = datetime(2025, 11, 3, tzinfo=UTC)
WEEK = timedelta(days=7)
TODAY = date(2026, 12, 8)
REFERENCE = {"count": 1000, "features": {
    "ticket_length": {"kind": "numeric", "edges": [0, 10, 20, 40, 80],
                      "counts": [250, 250, 250, 250]},
    "channel": {"kind": "categorical", "counts": {"email": 600, "chat": 400}}}}
SHIFTED = {"count": 1000, "features": {
    "ticket_length": {"kind": "numeric", "edges": [0, 10, 20, 40, 80],
                      "counts": [100, 100, 300, 500]},
    "channel": {"kind": "categorical", "counts": {"email": 590, "chat": 410}}}}
SIGNATURE = "-- \nTargetline (an alert is sent once per episode)"
RECIPIENTS = ["cfo@example.com", "dana@example.com", "olivia@example.com"]


@pytest.fixture
def deployed(checkin, owner):
    """The best model (svm, 86 on test against a bar of 85) live in production since
    3 November 2025, for a project that counts tickets and emails its alerts."""
    project = checkin.project
    project.case_noun = "tickets"
    project.save(update_fields=["case_noun"])
    return deployment_services.start_deployment(
        project=project, user=owner, environment="production",
        run_id=str(standing(project=project).winner.pk), started_at=NOV_3)


def week(deployment, n, f1):
    start = NOV_3 + n * WEEK
    deployment_services.record_live_result(
        deployment=deployment, window_start=start, window_end=start + WEEK,
        metrics={"f1": f1}, count=1240, labelled=310)


def check(project) -> list[Alert]:
    return check_production_alerts(project_id=project.pk, today=TODAY)


def emails() -> list[tuple[str, str]]:
    return sorted((m.to[0], m.subject) for m in mail.outbox)


BELOW_BAR_BODY = """\
The model live in production has fallen below the agreed bar.

Live since 3 November 2025: on 310 checked tickets from 10 to 16 November 2025 the model \
scored 80 out of 100 on F1, a balance of finding the cases that matter and being right when \
it flags one, below the agreed 85 (it scored 86 on the test set). Retraining is \
recommended.

- Live F1 score, from 10 to 16 November 2025: 80 out of 100, on 310 checked tickets (of 1,240)
- The agreed bar: at least 85 out of 100
- On the test set: 86 out of 100

The Production page: http://testserver.example/p/news-topics/production/

You will hear of it again only if the live results recover and then fall short once more.

""" + SIGNATURE


def test_falling_below_the_bar_is_told_once_per_episode(deployed, settings):
    settings.PUBLIC_BASE_URL = "http://testserver.example"
    project = deployed.project
    week(deployed, 0, 0.88)
    assert check(project) == []
    week(deployed, 1, 0.80)
    [alert] = check(project)
    assert (alert.kind, alert.deployment, alert.run_id, alert.sent_with) == (
        AlertKind.BELOW_BAR, deployed, deployed.run_id, None)
    deliver_alert(alert_id=alert.pk)
    assert emails() == [(to, "News topics: the live model fell below the agreed bar")
                        for to in RECIPIENTS]
    assert mail.outbox[0].body == BELOW_BAR_BODY
    week(deployed, 2, 0.79)  # another week below: the same episode
    assert check(project) == []
    week(deployed, 3, 0.90)  # recovered
    assert check(project) == []
    week(deployed, 4, 0.80)  # and below again: a new episode
    [again] = check(project)
    assert again.kind == AlertKind.BELOW_BAR and again.key != alert.key
    assert Delivery.objects.filter(alert=again).count() == 3


DRIFT_BODY = """\
The inputs the live model sees no longer look like its training data.

Live since 3 November 2025: on 310 checked tickets from 3 to 9 November 2025 the model \
scored 88 out of 100 on F1, a balance of finding the cases that matter and being right when \
it flags one, above the agreed 85 (it scored 86 on the test set). One input has \
shifted markedly since training: ticket length. The results still hold; watch the next ones.

- Live F1 score, from 3 to 9 November 2025: 88 out of 100, on 310 checked tickets (of 1,240)
- The agreed bar: at least 85 out of 100
- On the test set: 86 out of 100

Drift of the live inputs from 3 to 9 November 2025 against the training data (population \
stability index: below 0.1 stable, 0.1 to 0.25 moderate, above 0.25 significant):
- ticket length: 0.4573, significant (new)
- channel: 0.0004, stable

The Production page: http://testserver.example/p/news-topics/production/

You will hear of an input again only once it has been back to stable and then shifts \
markedly once more.

""" + SIGNATURE


def test_an_input_that_drifts_significantly_is_told_once(deployed, settings):
    settings.PUBLIC_BASE_URL = "http://testserver.example"
    project = deployed.project
    production_services.record_run_profile(run=deployed.run, profile=REFERENCE)
    week(deployed, 0, 0.88)
    live = {"deployment": deployed, "window_start": NOV_3, "window_end": NOV_3 + WEEK}
    production_services.record_live_profile(**live, profile=SHIFTED)
    [alert] = check(project)
    assert (alert.kind, alert.snapshot["drifted"]) == (AlertKind.DRIFT, ["ticket_length"])
    deliver_alert(alert_id=alert.pk)
    assert emails() == [(to, "News topics: ticket length has shifted markedly since training")
                        for to in RECIPIENTS]
    assert mail.outbox[0].body == DRIFT_BODY
    assert check(project) == []
    production_services.record_live_profile(**live, profile=REFERENCE)  # back to stable
    assert check(project) == []
    production_services.record_live_profile(**live, profile=SHIFTED)
    # The same window drifting again is the same news: its key keeps it told once.
    assert check(project) == []
    production_services.record_live_profile(
        deployment=deployed, window_start=NOV_3 + WEEK, window_end=NOV_3 + 2 * WEEK,
        profile=REFERENCE)
    assert check(project) == []  # back to stable in a later window: the episode ends
    production_services.record_live_profile(
        deployment=deployed, window_start=NOV_3 + 2 * WEEK, window_end=NOV_3 + 3 * WEEK,
        profile=SHIFTED)
    [again] = check(project)
    assert again.kind == AlertKind.DRIFT and again.key != alert.key


def test_below_the_bar_and_drift_at_once_go_out_in_one_email(deployed):
    production_services.record_run_profile(run=deployed.run, profile=REFERENCE)
    week(deployed, 0, 0.80)
    production_services.record_live_profile(deployment=deployed, window_start=NOV_3,
                                            window_end=NOV_3 + WEEK, profile=SHIFTED)
    below, drift = check(deployed.project)
    assert (below.kind, drift.kind, drift.sent_with) == (
        AlertKind.BELOW_BAR, AlertKind.DRIFT, below)
    assert not Delivery.objects.filter(alert=drift).exists()  # told in the first one's email
    assert below.body.splitlines()[:2] == [
        "The model live in production has fallen below the agreed bar.",
        "The inputs the live model sees no longer look like its training data."]
    assert below.body.splitlines()[-5:-3] == [
        "You will hear of it again only if the live results recover and then fall short once "
        "more.",
        "You will hear of an input again only once it has been back to stable and then shifts "
        "markedly once more."]


def test_nothing_deployed_or_no_results_alerts_nobody(checkin, deployed):
    assert check(checkin.project) == []  # deployed, but no live result yet
    week(deployed, 0, 0.80)
    deployment_services.end_deployment(deployment=deployed, user=None)
    assert check(checkin.project) == []


def test_a_webhook_hears_each_production_alert_once(deployed, settings):
    settings.PUBLIC_BASE_URL = "https://tl.example.com"
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook, _ = create_webhook(project=deployed.project, url="http://127.0.0.1:9/in",
                             kind="generic", events=["production.below_bar"])
    week(deployed, 0, 0.80)
    [alert] = check(deployed.project)
    [delivery_id] = notify_alerts(alerts=[alert])
    assert notify_alerts(alerts=[alert]) == []  # told once
    body = WebhookDelivery.objects.get(pk=delivery_id).body
    assert (body["event"], body["event_id"], body["title"]) == (
        "production.below_bar", f"alert:{alert.pk}",
        "News topics: the live model fell below the agreed bar")
    assert body["sentence"].startswith(
        "The model live in production has fallen below the agreed bar. Live since 3 November "
        "2025: on 310 checked tickets from 3 to 9 November 2025 the model scored 80 out of 100")
    assert body["links"] == {"dashboard": "https://tl.example.com/p/news-topics/",
                             "pdf": None,
                             "production": "https://tl.example.com/p/news-topics/production/"}
    assert body["deployment"]["id"] == deployed.pk
    assert body["live"] == {"value": 0.8, "window_start": "2025-11-03T00:00:00+00:00",
                            "window_end": "2025-11-10T00:00:00+00:00", "labelled": 310,
                            "count": 1240}
    assert (body["status"], body["target"], body["test"]) == (
        "below the bar", {"metric": "f1", "direction": "maximize", "threshold": 0.85},
        {"value": 0.86})
    assert hook.deliveries.count() == 1


def test_a_live_result_queues_the_check_after_commit(deployed, api, queued,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"/api/v1/deployments/{deployed.pk}/results", {
            "window_start": "2025-11-03T00:00:00Z", "window_end": "2025-11-10T00:00:00Z",
            "metrics": {"f1": 0.8}, "count": 1240, "labelled": 310}, format="json")
    assert answer.status_code == 201, answer.json()
    assert [q[:2] for q in queued] == [("check_production_alerts_task", (deployed.project.pk,))]
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.check_production_alerts_task(deployed.project.pk)
    alert = Alert.objects.get(kind=AlertKind.BELOW_BAR)
    assert [q[:2] for q in queued] == [("deliver_alert_task", (alert.pk,))]


def test_nobody_listening_queues_nothing(project, owner, queued,
                                         django_capture_on_commit_callbacks):
    run = make_run(project, owner, name="svm", series={"validation.f1": 0.9, "test.f1": 0.86})
    deployment = deployment_services.start_deployment(
        project=project, user=owner, environment="production", run_id=str(run.pk),
        started_at=NOV_3)
    with django_capture_on_commit_callbacks(execute=True):
        week(deployment, 0, 0.80)
    assert queued == []  # no check-in, no webhook listening
    create_webhook(project=project, url="https://93.184.215.14/in", kind="generic",
                   events=["production.drift"])
    with django_capture_on_commit_callbacks(execute=True):
        week(deployment, 1, 0.80)
    assert [q[:2] for q in queued] == [("check_production_alerts_task", (project.pk,))]


def sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT count(*) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_workers_checking_at_once_email_each_recipient_once(deployed):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks")
    week(deployed, 0, 0.80)
    found: list[list[Alert]] = []

    def worker() -> None:
        try:
            found.append(check(deployed.project))
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    # Both evaluate at the same moment: while the test holds the deployment's row, both
    # wait for it; once both wait, both go on.
    with transaction.atomic():
        Deployment.objects.select_for_update().get(pk=deployed.pk)
        for thread in workers:
            thread.start()
        deadline = time.monotonic() + 30
        while sessions_waiting_on_a_lock() < 2:
            assert time.monotonic() < deadline, "both workers should wait on the row"
            time.sleep(0.05)
    for thread in workers:
        thread.join(30)
    assert sorted(len(alerts) for alerts in found) == [0, 1]
    [alert] = Alert.objects.all()
    for _ in range(2):
        deliver_alert(alert_id=alert.pk)
    assert emails() == [(to, "News topics: the live model fell below the agreed bar")
                        for to in RECIPIENTS]


def test_slack_and_teams_lead_with_the_production_page(deployed, settings):
    settings.PUBLIC_BASE_URL = "https://tl.example.com"
    for kind in ("slack", "teams"):
        create_webhook(project=deployed.project, url=f"https://93.184.215.14/{kind}",
                       kind=kind, events=["production.below_bar"])
    week(deployed, 0, 0.80)
    notify_alerts(alerts=check(deployed.project))
    slack, teams = (WebhookDelivery.objects.get(webhook__kind=kind).body
                    for kind in ("slack", "teams"))
    assert slack["blocks"][0]["text"]["text"] == (
        "News topics: the live model fell below the agreed bar")
    assert slack["blocks"][2]["elements"][0]["text"] == (
        "<https://tl.example.com/p/news-topics/production/|Open the Production page> · "
        "<https://tl.example.com/p/news-topics/|Open the dashboard>")
    card = teams["attachments"][0]["content"]
    assert [a["title"] for a in card["actions"]] == ["Open the Production page",
                                                     "Open the dashboard"]
    assert card["body"][1]["text"].startswith(
        "The model live in production has fallen below the agreed bar. Live since")
