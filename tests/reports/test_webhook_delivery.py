"""Posting notifications to a real HTTP receiver on loopback: signed, retried with backoff,
every attempt logged, and the address checked again at each delivery."""

import socket
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from reports import webhooks
from reports.models import Webhook, WebhookAttempt, WebhookDelivery
from reports.webhook_sending import send_webhook

pytestmark = pytest.mark.django_db

URL = "/api/v1/projects/news-topics/webhooks/"


@pytest.fixture
def loopback(settings):
    """Webhooks may point at the test's receiver on 127.0.0.1."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_RETRY_DELAY = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.PUBLIC_BASE_URL = "https://targetline.example.com"
    return settings


def add(api, url, kind="generic") -> dict:
    answer = api.post(URL, {"url": url, "kind": kind, "events": ["report"]}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def told(report) -> dict[int, WebhookDelivery]:
    """The report told to every listening webhook: its notification by webhook id."""
    webhooks.notify_report(report_id=report.pk)
    return {d.webhook_id: d for d in WebhookDelivery.objects.filter(key=f"report:{report.pk}")}


def log(delivery) -> list[tuple]:
    return [(a.number, a.outcome, a.status_code, a.error) for a in
            WebhookAttempt.objects.filter(delivery=delivery).order_by("number")]


def test_a_generic_notification_arrives_signed_with_the_secret_shown_once(
        rendered_report, api, receiver, loopback):
    created = add(api, receiver.answer("/generic", 200))
    report = rendered_report()
    delivery = told(report)[created["id"]]
    assert send_webhook(delivery_id=delivery.pk).state == "delivered"
    [post] = receiver.at("/generic")
    assert post.signature_verifies(created["secret"])
    assert not post.signature_verifies("another secret")
    assert (post.headers["X-Targetline-Event"], post.headers["X-Targetline-Delivery"]) == (
        "report", str(delivery.pk))
    assert post.headers["Content-Type"] == "application/json; charset=utf-8"
    body = post.json()
    assert (body["event"], body["verdict"]["code"], body["sentence"]) == (
        "report", "met", report.verdict_sentence)
    assert body["links"]["pdf"].startswith("https://targetline.example.com/api/v1/")
    assert log(delivery) == [(1, "delivered", 200, "")]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert send_webhook(delivery_id=delivery.pk).state == "done"  # never posted twice
    assert len(receiver.at("/generic")) == 1


def test_a_receiver_in_trouble_is_retried_with_backoff_then_delivered(
        rendered_report, api, receiver, loopback):
    created = add(api, receiver.answer("/flaky", 500, 200))
    delivery = told(rendered_report())[created["id"]]
    before = timezone.now()
    first = send_webhook(delivery_id=delivery.pk)
    assert first.state == "retrying"
    assert timedelta(seconds=29) < first.retry_at - before < timedelta(seconds=32)
    assert send_webhook(delivery_id=delivery.pk).state == "retrying"  # not due yet: no post
    assert len(receiver.at("/flaky")) == 1
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert send_webhook(delivery_id=delivery.pk).state == "delivered"
    first_post, second_post = receiver.at("/flaky")
    assert first_post.raw == second_post.raw  # the same notification
    assert log(delivery) == [
        (1, "retrying", 500, "the receiver answered 500 Internal Server Error: receiver trouble"),
        (2, "delivered", 200, "")]
    answer = api.get(f"{URL}{created['id']}/deliveries/").json()
    [entry] = answer["results"]
    assert (entry["event"], entry["event_id"], entry["status"]) == (
        "report", delivery.key, "delivered")
    assert [(a["number"], a["outcome"], a["status_code"]) for a in entry["attempts"]] == [
        (1, "retrying", 500), (2, "delivered", 200)]
    assert all(a["duration_ms"] >= 0 for a in entry["attempts"])


def test_the_second_backoff_is_twice_the_first_and_attempts_are_bounded(
        rendered_report, api, receiver, loopback):
    created = add(api, receiver.answer("/down", 503))
    delivery = told(rendered_report())[created["id"]]
    waits = []
    for _ in range(3):
        started = timezone.now()
        outcome = send_webhook(delivery_id=delivery.pk)
        if outcome.retry_at:
            waits.append(round((outcome.retry_at - started).total_seconds()))
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert outcome.state == "failed"
    assert waits == [30, 60]
    assert [entry[1] for entry in log(delivery)] == ["retrying", "retrying", "failed"]
    assert len(receiver.at("/down")) == 3


def test_a_refusal_that_retrying_cannot_mend_fails_at_once(rendered_report, api, receiver,
                                                          loopback):
    created = add(api, receiver.answer("/gone", 404))
    delivery = told(rendered_report())[created["id"]]
    assert send_webhook(delivery_id=delivery.pk).state == "failed"
    assert log(delivery) == [(1, "failed", 404,
                              "the receiver answered 404 Not Found: receiver trouble")]


def test_a_receiver_that_is_not_listening_is_retried(rendered_report, api, loopback):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    created = add(api, f"http://127.0.0.1:{port}/in")
    delivery = told(rendered_report())[created["id"]]
    assert send_webhook(delivery_id=delivery.pk).state == "retrying"
    [(_, outcome, status_code, error)] = log(delivery)
    assert (outcome, status_code) == ("retrying", None)
    assert error.startswith("cannot connect to 127.0.0.1:")


def test_the_address_is_checked_again_at_delivery(rendered_report, api, receiver, loopback):
    created = add(api, receiver.answer("/inside", 200))  # allowed when it was added
    delivery = told(rendered_report())[created["id"]]
    loopback.WEBHOOK_ALLOW_PRIVATE = False  # the operator no longer allows it
    assert send_webhook(delivery_id=delivery.pk).state == "failed"
    [(_, outcome, status_code, error)] = log(delivery)
    assert (outcome, status_code) == ("failed", None)
    assert error.startswith("address refused: the host '127.0.0.1' is a loopback address")
    assert receiver.at("/inside") == []


def test_slack_and_teams_receive_their_own_formats(rendered_report, api, receiver, loopback):
    slack = add(api, receiver.answer("/slack", 200), kind="slack")
    teams = add(api, receiver.answer("/teams", 200), kind="teams")
    report = rendered_report()
    deliveries = told(report)
    for created in (slack, teams):
        assert send_webhook(delivery_id=deliveries[created["id"]].pk).state == "delivered"
    [slack_post] = receiver.at("/slack")
    body = slack_post.json()
    assert set(body) == {"text", "blocks"}
    assert [b["type"] for b in body["blocks"]] == ["header", "section", "context"]
    assert body["blocks"][1]["text"]["text"].startswith("*Target met.* The best model's F1")
    assert f"/reports/{report.pk}/pdf/|Read the PDF report>" in (
        body["blocks"][2]["elements"][0]["text"])
    [teams_post] = receiver.at("/teams")
    body = teams_post.json()
    assert body["type"] == "message"
    card = body["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert [a["title"] for a in card["actions"]] == ["Open the dashboard",
                                                     "Read the PDF report"]


def test_a_host_that_stops_resolving_is_tried_again(rendered_report, api, receiver, loopback):
    created = add(api, receiver.answer("/named", 200))
    delivery = told(rendered_report())[created["id"]]
    Webhook.objects.filter(pk=created["id"]).update(url="http://no-such-host.invalid/named")
    assert send_webhook(delivery_id=delivery.pk).state == "retrying"
    [(_, outcome, status_code, error)] = log(delivery)
    assert (outcome, status_code) == ("retrying", None)
    assert error.startswith("the host 'no-such-host.invalid' cannot be resolved")


def test_a_notification_whose_worker_died_is_found_and_posted_again(
        rendered_report, api, receiver, loopback):
    created = add(api, receiver.answer("/again", 200))
    delivery = told(rendered_report())[created["id"]]
    assert webhooks.stalled_deliveries() == []  # just made: its task is on its way
    long_ago = timezone.now() - timedelta(seconds=loopback.REPORT_LEASE_SECONDS + 1)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(created_at=long_ago)
    assert webhooks.stalled_deliveries() == [delivery.pk]  # its task was lost
    # A worker claimed it, then died mid-post: not taken while its lease runs...
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status="sending", attempts=1, claimed_at=timezone.now())
    assert send_webhook(delivery_id=delivery.pk).state == "busy"
    assert webhooks.stalled_deliveries() == []
    # ...and posted again once it has run out.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_at=long_ago)
    assert webhooks.stalled_deliveries() == [delivery.pk]
    assert send_webhook(delivery_id=delivery.pk).state == "delivered"
    [post] = receiver.at("/again")
    assert post.headers["X-Targetline-Delivery"] == str(delivery.pk)
    assert [entry[:2] for entry in log(delivery)] == [(2, "delivered")]
    assert webhooks.stalled_deliveries() == []


def test_metrics_count_the_notifications_by_event_and_outcome(rendered_report, api, receiver,
                                                              loopback):
    def counted() -> dict[tuple[str, str], float]:
        text = Client().get("/metrics").content.decode()
        [family] = [f for f in text_string_to_metric_families(text)
                    if f.name == "targetline_webhook_deliveries"]
        return {(s.labels["event"], s.labels["outcome"]): s.value for s in family.samples}

    assert counted()[("report", "pending")] == 0
    fine, broken = add(api, receiver.answer("/fine", 200)), add(api, receiver.answer("/no", 404))
    deliveries = told(rendered_report())
    assert counted()[("report", "pending")] == 2
    for delivery in deliveries.values():
        send_webhook(delivery_id=delivery.pk)
    now = counted()
    assert (now[("report", "delivered")], now[("report", "failed")],
            now[("report", "pending")], now[("target_met", "delivered")]) == (1, 1, 0, 0)
    assert {fine["id"], broken["id"]} == set(deliveries)
