"""GET /metrics reads the report emails' states from the database at each scrape, so every
web process tells the same numbers (reports/telemetry.py)."""

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from reports.delivery import deliver_report


def deliveries() -> dict[tuple[str, str], float]:
    text = Client().get("/metrics").content.decode()
    [family] = [f for f in text_string_to_metric_families(text)
                if f.name == "targetline_report_deliveries"]
    return {(s.labels["kind"], s.labels["outcome"]): s.value for s in family.samples}


@pytest.mark.django_db
def test_report_emails_are_counted_by_outcome(rendered_report, mailoutbox):
    assert deliveries()[("report", "pending")] == 0

    report = rendered_report()
    assert deliveries()[("report", "pending")] == 2

    deliver_report(report_id=report.pk)
    counted = deliveries()
    assert counted[("report", "sent")] == 2
    assert counted[("report", "pending")] == 0
    assert counted[("alert", "sent")] == 0
    assert len(mailoutbox) == 2
