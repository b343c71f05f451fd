"""End to end: a real Celery worker (tests/reports/test_worker.py's) delivers a check-in
report and tells the project's webhooks, a real HTTP receiver on loopback: once each, signed
with the secret shown when the webhook was added, and retried while the receiver fails."""

import time

import pytest

from reports.checkins import schedule_checkin_now
from reports.models import WebhookDelivery
from reports.sample import build_sample_project
from tests.reports import test_worker
from tests.reports.test_worker import RECIPIENTS, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# The worker and SMTP fixtures of the report worker's tests, reused.
smtp = test_worker.smtp
start_worker = test_worker.start_worker
BASE = "https://targetline.example.com"


@pytest.fixture(autouse=True)
def webhook_environment(monkeypatch, settings):
    """The worker (started from this environment) and the test may post to loopback, and
    retry after a second."""
    for name, value in {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_DELAY": "1",
                        "PUBLIC_BASE_URL": BASE}.items():
        monkeypatch.setenv(name, value)
    settings.WEBHOOK_ALLOW_PRIVATE = True


def test_a_delivered_report_is_told_once_signed_and_retried_when_the_receiver_fails(
        start_worker, smtp, receiver, client_for):
    smtp.start()
    project = build_sample_project(slug="hook-tickets", recipients=RECIPIENTS)
    api = client_for(project.memberships.get(role="owner").user)
    url = f"/api/v1/projects/{project.slug}/webhooks/"
    added = {}
    for path, statuses in (("/steady", (200,)), ("/flaky", (500, 200))):
        answer = api.post(url, {"url": receiver.answer(path, *statuses), "kind": "generic",
                                "events": ["report"]}, format="json")
        assert answer.status_code == 201, answer.json()
        added[path] = answer.json()
    worker = start_worker()
    schedule_checkin_now(checkin=project.checkin)
    wait_for(lambda: len(receiver.at("/steady")) == 1 and len(receiver.at("/flaky")) == 2,
             180, "the notifications", worker)
    time.sleep(3)  # three more dispatcher rounds: nothing else may arrive
    [post] = receiver.at("/steady")
    assert post.signature_verifies(added["/steady"]["secret"])
    body = post.json()
    report = project.reports.filter(kind="scheduled").order_by("-id").first()
    assert (body["event"], body["event_id"], body["project"]["slug"]) == (
        "report", f"report:{report.pk}", "hook-tickets")
    assert (body["verdict"], body["sentence"]) == (
        {"code": "on_track", "label": "On track"}, report.verdict_sentence)
    assert body["links"] == {
        "dashboard": f"{BASE}/p/hook-tickets/",
        "pdf": f"{BASE}/api/v1/projects/hook-tickets/reports/{report.pk}/pdf/"}

    failed, retried = receiver.at("/flaky")
    assert failed.raw == retried.raw
    assert retried.signature_verifies(added["/flaky"]["secret"])
    flaky = WebhookDelivery.objects.get(webhook_id=added["/flaky"]["id"])
    wait_for(lambda: WebhookDelivery.objects.get(pk=flaky.pk).status == "delivered", 10,
             "the log", worker)
    log = api.get(f"{url}{added['/flaky']['id']}/deliveries/").json()["results"]
    assert [(entry["event"], entry["status"]) for entry in log] == [("report", "delivered")]
    assert [(a["outcome"], a["status_code"]) for a in log[0]["attempts"]] == [
        ("retrying", 500), ("delivered", 200)]
