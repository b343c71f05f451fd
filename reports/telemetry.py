"""Prometheus figures read at scrape time, so that every web process tells the same numbers
whichever of them answers: the report queue's depth (from the broker), the emails of reports
and alerts and the webhook notifications by state (from the database). GET /metrics adds
these collectors to the counters the processes keep (api/operations.py,
docs/operations.md#metrics).
"""

import logging

import redis
from django.conf import settings
from django.db import DatabaseError
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from reports.models import DeliveryStatus, WebhookEvent, WebhookOutcome
from reports.selectors import delivery_counts, webhook_delivery_counts

logger = logging.getLogger(__name__)

QUEUE_TIMEOUT = 2.0  # seconds for the broker to answer LLEN
# kombu's Redis transport keeps a queue's messages of priority 0 under the queue's name,
# and those of Celery's other priority steps (3, 6, 9) under the name, "\x06\x16" and the step.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (3, 6, 9)


class ReportQueueDepth(Collector):
    """Messages waiting in settings.REPORT_QUEUE, with a Redis broker (LLEN at scrape time).

    Other brokers have no cheap count that means the same thing: the family is then left
    out, as it is while Redis does not answer (GET /readyz says why)."""

    def collect(self):
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://")):
            return
        queue = settings.REPORT_QUEUE
        keys = [queue, *(f"{queue}{_PRIORITY_SEPARATOR}{step}" for step in _PRIORITY_STEPS)]
        client = redis.Redis.from_url(url, socket_connect_timeout=QUEUE_TIMEOUT,
                                      socket_timeout=QUEUE_TIMEOUT)
        try:
            with client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.llen(key)
                depth = sum(pipe.execute())
        except redis.RedisError as exc:
            logger.warning("metrics: the report queue's depth is unknown: %s", exc)
            return
        finally:
            client.close()
        family = GaugeMetricFamily("targetline_report_queue_depth",
                                   "Tasks waiting in the reports queue (Redis broker only).",
                                   labels=["queue"])
        family.add_metric([queue], depth)
        yield family


class CountsByState(Collector):
    """A gauge family of things in the database by a first label and by state, counted at
    each scrape by `count()` ({(first, state): n}); every pair is given, 0 when none."""

    def __init__(self, name: str, documentation: str, first: str, firsts, states, count):
        self.name, self.documentation, self.first = name, documentation, first
        self.firsts, self.states, self.count = firsts, states, count

    def collect(self):
        try:
            counts = self.count()
        except DatabaseError as exc:
            logger.warning("metrics: %s could not be counted: %s", self.name, exc)
            return
        family = GaugeMetricFamily(self.name, self.documentation, labels=[self.first, "outcome"])
        for first in self.firsts:
            for state in self.states:
                family.add_metric([first, state], counts.get((first, state), 0))
        yield family


# The emails of reports and alerts: `sent`, `failed` and `unknown` are final; `pending`,
# `sending` and `retry` are on their way.
REPORT_DELIVERIES = CountsByState(
    "targetline_report_deliveries",
    "Emails of reports and alerts, by kind (report, alert) and outcome (their state).",
    "kind", ("report", "alert"), DeliveryStatus.values, delivery_counts)
# The webhook notifications: `delivered` and `failed` are final; `pending`, `sending` and
# `retrying` are on their way.
WEBHOOK_DELIVERIES = CountsByState(
    "targetline_webhook_deliveries",
    "Webhook notifications, by event and outcome (their state).",
    "event", WebhookEvent.values, WebhookOutcome.values, webhook_delivery_counts)


COLLECTORS = (ReportQueueDepth(), REPORT_DELIVERIES, WEBHOOK_DELIVERIES)
