"""What a webhook receives (pure: no ORM, no Django): one notice, in the format of its kind.

- slack: a Slack incoming-webhook message, `{"text", "blocks"}`;
- teams: a Microsoft Teams incoming-webhook message, an Adaptive Card in the `message`
  envelope Teams workflows take;
- generic: the notice itself as JSON, signed (docs/webhooks.md tells a receiver how to check).

Every kind carries the same words: a title, the verdict when there is one, one sentence,
and absolute links to the project's dashboard and, for a report, its PDF (for a production
alert, its Production page).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass, field

SIGNATURE_HEADER = "X-Targetline-Signature"
TIMESTAMP_HEADER = "X-Targetline-Timestamp"
EVENT_HEADER = "X-Targetline-Event"
DELIVERY_HEADER = "X-Targetline-Delivery"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class Notice:
    """One event of a project, in words and links, whatever the channel."""

    event: str  # "report", "target_met", "winner_changed", "production.below_bar", …
    event_id: str  # the same for every webhook told about this event, e.g. "report:12"
    occurred_at: str  # ISO 8601, UTC
    project_slug: str
    project_name: str
    title: str
    sentence: str
    dashboard_url: str
    verdict: str | None = None  # e.g. "met"
    verdict_label: str | None = None  # e.g. "Target met"
    pdf_url: str | None = None
    production_url: str | None = None  # the Production page, for the production alerts
    details: dict = field(default_factory=dict)  # the event's own facts (report, runs)


def generic_body(notice: Notice) -> dict:
    """The notice as a JSON object (docs/webhooks.md lists its fields)."""
    return {
        "event": notice.event,
        "event_id": notice.event_id,
        "occurred_at": notice.occurred_at,
        "project": {"slug": notice.project_slug, "name": notice.project_name},
        "title": notice.title,
        "verdict": ({"code": notice.verdict, "label": notice.verdict_label}
                    if notice.verdict else None),
        "sentence": notice.sentence,
        "links": {"dashboard": notice.dashboard_url, "pdf": notice.pdf_url,
                  **({"production": notice.production_url} if notice.production_url else {})},
        **notice.details,
    }


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn reads &, < and > as markup: escaped as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _links(notice: Notice) -> list[tuple[str, str]]:
    links = [("Open the dashboard", notice.dashboard_url)]
    if notice.production_url:
        links.insert(0, ("Open the Production page", notice.production_url))
    if notice.pdf_url:
        links.append(("Read the PDF report", notice.pdf_url))
    return links


def slack_body(notice: Notice) -> dict:
    """A Slack incoming-webhook message: the text for notifications, blocks for the channel."""
    lead = f"*{_slack_escape(notice.verdict_label)}.* " if notice.verdict_label else ""
    links = " · ".join(f"<{url}|{label}>" for label, url in _links(notice))
    fallback = " ".join(part for part in (
        f"{notice.title}:", f"{notice.verdict_label}." if notice.verdict_label else "",
        notice.sentence) if part)
    return {
        "text": fallback,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": notice.title[:150],
                                        "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": lead + _slack_escape(notice.sentence)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": links}]},
        ],
    }


# A verdict's colour on a Teams card (reports.verdict's kinds); the others are "Default".
_TEAMS_COLOURS = {"met": "Good", "holding": "Good", "below_bar": "Attention"}


def teams_body(notice: Notice) -> dict:
    """A Microsoft Teams incoming-webhook message: one Adaptive Card (version 1.4)."""
    body: list[dict] = [{"type": "TextBlock", "text": notice.title, "weight": "Bolder",
                         "size": "Medium", "wrap": True}]
    if notice.verdict_label:
        body.append({"type": "TextBlock", "text": notice.verdict_label, "weight": "Bolder",
                     "color": _TEAMS_COLOURS.get(notice.verdict or "", "Default"),
                     "spacing": "Small"})
    body.append({"type": "TextBlock", "text": notice.sentence, "wrap": True})
    return {
        "type": "message",
        "attachments": [{
            "contentType": ADAPTIVE_CARD,
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": [{"type": "Action.OpenUrl", "title": label, "url": url}
                            for label, url in _links(notice)],
            },
        }],
    }


BUILDERS = {"slack": slack_body, "teams": teams_body, "generic": generic_body}


def message_body(kind: str, notice: Notice) -> dict:
    """The notice in the format of a webhook of `kind`."""
    return BUILDERS[kind](notice)


def encode(body: dict) -> bytes:
    """The bytes posted: compact UTF-8 JSON. The signature covers exactly these bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(*, secret: str, timestamp: int, raw_body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256, keyed with the secret, of `<timestamp>.` + the raw body."""
    signed = str(timestamp).encode() + b"." + raw_body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(*, secret: str, timestamp: int, raw_body: bytes, event: str,
                   delivery_id: int) -> dict[str, str]:
    """The headers of every post: content type, event, delivery id, timestamp, signature."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Targetline-Webhooks/1",
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, raw_body=raw_body),
    }
