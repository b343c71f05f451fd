"""A real SMTP server (aiosmtpd, tests/reports/test_worker.py's) that Django's SMTP backend
sends to, and the parts of a message a person reads."""

import re
from email.message import Message

import pytest

from tests.reports.test_worker import Inbox, smtp  # noqa: F401 -- the server's fixture


@pytest.fixture
def mailbox(smtp, settings) -> Inbox:  # noqa: F811
    """The SMTP server, started, with Django's SMTP backend pointed at it."""
    inbox = smtp.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return inbox


def part(message: Message, content_type: str) -> str:
    """The decoded text of the message's part of that type ("text/plain", "text/html")."""
    for piece in message.walk():
        if piece.get_content_type() == content_type:
            return piece.get_payload(decode=True).decode(piece.get_content_charset() or "utf-8")
    raise AssertionError(f"no {content_type} part in {message['Subject']!r}")


def link_in(message: Message, path: str) -> str:
    """The one address under `path` in the message's plain text (as a full URL)."""
    links = set(re.findall(rf"https?://[^\s/]+{re.escape(path)}[^\s]*",
                           part(message, "text/plain")))
    assert len(links) == 1, links
    return links.pop()
