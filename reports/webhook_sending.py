"""Posting a webhook notification, each attempt logged, retried with backoff.

`send_webhook` claims the notification (a conditional UPDATE to "sending", committed before
the post), checks the address again (its name may resolve elsewhere since the webhook was
added), posts to the address it checked, and logs the attempt: its outcome ("delivered",
"retrying", "failed"), the receiver's status code, the error, how long it took.

A 2xx answer delivers. Connection errors, timeouts, 408, 429 and 5xx answers are retried
after WEBHOOK_RETRY_DELAY seconds, doubling (at most an hour), until WEBHOOK_MAX_ATTEMPTS;
a host that does not resolve at the moment is retried too; other answers (a 404 from a
removed Slack webhook, a redirect, which is not followed) and an address now refused fail
at once.
"""

import http.client
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from reports.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookOutcome
from reports.webhook_addresses import Destination, RefusedAddress, UnresolvedHost, check_url
from reports.webhook_messages import encode, signed_headers

logger = logging.getLogger(__name__)

RETRIED_STATUSES = {408, 425, 429}
MAX_BACKOFF = 3600  # seconds
ANSWER_SHOWN = 300  # characters of a refusing receiver's answer kept in the log


@dataclass(frozen=True)
class SendOutcome:
    """What became of one send_webhook call."""

    state: str  # "delivered", "retrying", "failed", "busy", "done", "missing"
    retry_at: datetime | None = None


@dataclass(frozen=True)
class _Answer:
    status_code: int | None
    error: str
    retry: bool


def backoff(attempts: int) -> timedelta:
    """WEBHOOK_RETRY_DELAY after the first failure, doubled after each next one, at most an
    hour."""
    return timedelta(seconds=min(settings.WEBHOOK_RETRY_DELAY * 2 ** max(0, attempts - 1),
                                 MAX_BACKOFF))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address already checked, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address already checked; the certificate is checked against the name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(destination: Destination, raw_body: bytes, headers: dict) -> _Answer:
    """Post to the first of the checked addresses that takes the connection."""
    connection_class = (_PinnedHTTPSConnection if destination.scheme == "https"
                        else _PinnedHTTPConnection)
    last_error = "no address to connect to"
    for address in destination.addresses:
        connection = connection_class(destination.host, destination.port, address=address,
                                      timeout=settings.WEBHOOK_TIMEOUT)
        try:
            try:
                connection.connect()
            except OSError as exc:  # refused, unreachable, timed out: try the next address
                last_error = f"cannot connect to {address}: {exc}"
                continue
            connection.request("POST", destination.target, body=raw_body, headers=headers)
            response = connection.getresponse()
            answer = response.read(ANSWER_SHOWN).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException) as exc:
            return _Answer(None, f"{type(exc).__name__}: {exc}", retry=True)
        finally:
            connection.close()
        code = response.status
        if 200 <= code < 300:
            return _Answer(code, "", retry=False)
        words = f"the receiver answered {code} {response.reason}"
        if 300 <= code < 400:
            words += " (redirects are not followed: give the address it redirects to)"
        return _Answer(code, f"{words}: {answer}" if answer else words,
                       retry=code >= 500 or code in RETRIED_STATUSES)
    return _Answer(None, last_error, retry=True)


def _attempt(webhook: Webhook, delivery: WebhookDelivery) -> _Answer:
    if not webhook.active:
        return _Answer(None, "the webhook was switched off before this was sent", retry=False)
    try:
        destination = check_url(webhook.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except UnresolvedHost as exc:  # the resolver may be down for a moment
        return _Answer(None, str(exc), retry=True)
    except RefusedAddress as exc:
        return _Answer(None, f"address refused: {exc}", retry=False)
    raw = encode(delivery.body)
    headers = signed_headers(secret=webhook.secret, timestamp=int(time.time()), raw_body=raw,
                             event=delivery.event, delivery_id=delivery.pk)
    return _post(destination, raw, headers)


def send_webhook(*, delivery_id: int) -> SendOutcome:
    """Post the notification once more if it is due; log the attempt and its outcome."""
    delivery = (WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id)
                .first())
    if delivery is None:
        return SendOutcome("missing")
    if delivery.status in (WebhookOutcome.DELIVERED, WebhookOutcome.FAILED):
        return SendOutcome("done")
    now = timezone.now()
    if (delivery.status == WebhookOutcome.RETRYING and delivery.next_attempt_at
            and delivery.next_attempt_at > now):
        return SendOutcome("retrying", retry_at=delivery.next_attempt_at)
    lease = timedelta(seconds=settings.REPORT_LEASE_SECONDS)
    if (delivery.status == WebhookOutcome.SENDING and delivery.claimed_at
            and delivery.claimed_at > now - lease):
        return SendOutcome("busy")  # another worker is posting it
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=delivery.status, attempts=delivery.attempts,
    ).update(status=WebhookOutcome.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    if not claimed:
        return SendOutcome("busy")
    number = delivery.attempts + 1
    started = time.monotonic()
    answer = _attempt(delivery.webhook, delivery)
    duration_ms = round((time.monotonic() - started) * 1000)
    if answer.error == "":
        outcome = WebhookOutcome.DELIVERED
    elif answer.retry and number < settings.WEBHOOK_MAX_ATTEMPTS:
        outcome = WebhookOutcome.RETRYING
    else:
        outcome = WebhookOutcome.FAILED
    finished = timezone.now()
    retry_at = finished + backoff(number) if outcome == WebhookOutcome.RETRYING else None
    WebhookAttempt.objects.create(delivery=delivery, number=number, at=now, outcome=outcome,
                                  status_code=answer.status_code, error=answer.error[:2000],
                                  duration_ms=duration_ms)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=outcome, next_attempt_at=retry_at,
        delivered_at=finished if outcome == WebhookOutcome.DELIVERED else None)
    if outcome != WebhookOutcome.DELIVERED:
        logger.warning("webhook %s, %s notification %s, attempt %d: %s", delivery.webhook_id,
                       delivery.event, delivery.pk, number, answer.error)
    return SendOutcome(outcome, retry_at=retry_at)
