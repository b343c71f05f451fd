"""The settings page's webhooks: an owner adds one through the form and sees its secret
once, a private address is refused under its field, and the delivery log shows each
notification's outcome (in a real browser)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reports import webhooks
from reports.models import Report, ReportKind, ReportStatus, Webhook, WebhookDelivery
from reports.webhook_sending import send_webhook
from tests.reports.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


def told(project) -> list[int]:
    """A check-in report of the project, rendered, told to its webhooks."""
    now = timezone.now()
    report = Report.objects.create(project=project, kind=ReportKind.MANUAL,
                                   status=ReportStatus.RENDERED, verdict="on_track",
                                   verdict_sentence="The best model is on track.",
                                   period_start=now, period_end=now, rendered_at=now)
    return webhooks.notify_report(report_id=report.pk)


def test_an_owner_adds_a_webhook_and_reads_its_delivery_log(page, live_server, demo, login,
                                                            receiver, settings, shoot):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    login("olivia")
    page.goto(f"{live_server.url}/p/{demo.slug}/settings/")
    form = page.locator("#webhook-form")
    form.locator("#id_url").fill(receiver.answer("/flaky", 500, 200))
    form.locator("button[type=submit]").click()
    expect(form).to_contain_text("'127.0.0.1' is a loopback address: webhooks go to public "
                                 "addresses only")
    assert not Webhook.objects.exists()

    settings.WEBHOOK_ALLOW_PRIVATE = True
    form = page.locator("#webhook-form")
    form.locator("#id_kind").select_option("generic")
    form.locator("button[type=submit]").click()
    secret_box = page.locator("#new-webhook-secret")
    expect(secret_box).to_contain_text("Its signing secret, shown this once")
    webhook = Webhook.objects.get()
    expect(secret_box.locator("code.secret")).to_have_text(webhook.secret)
    assert (webhook.kind, webhook.events) == ("generic", ["report", "target_met"])
    failing, _ = webhooks.create_webhook(project=demo.project,
                                         url=receiver.answer("/gone", 404), kind="slack",
                                         events=["report"])

    deliveries = told(demo.project)
    for delivery_id in deliveries:
        send_webhook(delivery_id=delivery_id)
    WebhookDelivery.objects.filter(webhook=webhook).update(next_attempt_at=timezone.now())
    send_webhook(delivery_id=WebhookDelivery.objects.get(webhook=webhook).pk)
    told(demo.project)  # a second report: its notifications not sent yet

    page.goto(f"{live_server.url}/p/{demo.slug}/settings/")
    expect(page.locator("#webhooks")).not_to_contain_text(webhook.secret)  # never again
    table = page.locator(".webhooks-table tbody tr")
    expect(table).to_have_count(2)
    expect(table.first).to_contain_text("http://127.0.0.1:")
    expect(table.first).not_to_contain_text("/flaky")  # the path of an address is hidden
    log = page.locator(".deliveries-table tbody tr")
    expect(log).to_have_count(4)
    texts = [log.nth(i).inner_text() for i in range(4)]
    assert ["pending" in t for t in texts] == [True, True, False, False]
    assert "failed" in texts[2] and "404" in texts[2]
    assert "delivered" in texts[3] and "200" in texts[3]
    shoot(page, "settings-webhooks")

    page.locator(".webhooks-table tbody tr").nth(1).get_by_role("button", name="Remove").click()
    expect(page.locator(".messages")).to_contain_text("removed.")
    assert list(Webhook.objects.values_list("pk", flat=True)) == [webhook.pk]
    assert not Webhook.objects.filter(pk=failing.pk).exists()
