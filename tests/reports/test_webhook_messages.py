"""What Slack, Teams and a generic receiver get, the signature, and the addresses refused."""

import hashlib
import hmac

import pytest

from reports.webhook_addresses import RefusedAddress, check_url, split_url
from reports.webhook_messages import (
    Notice,
    encode,
    generic_body,
    signature,
    signed_headers,
    slack_body,
    teams_body,
)

NOTICE = Notice(
    event="report", event_id="report:12", occurred_at="2026-12-07T09:00:00+00:00",
    project_slug="news-topics", project_name="News topics",
    title="News topics check-in: Target met",
    sentence="The best model's F1 score on the test set is 86 out of 100, at or above the "
             "agreed bar of 85 <since Monday> & holding.",
    verdict="met", verdict_label="Target met",
    dashboard_url="https://tl.example.com/p/news-topics/",
    pdf_url="https://tl.example.com/api/v1/projects/news-topics/reports/12/pdf",
    details={"report": {"id": 12}})


def test_slack_gets_text_and_blocks_with_the_verdict_sentence_and_links():
    body = slack_body(NOTICE)
    assert body["text"] == f"News topics check-in: Target met: Target met. {NOTICE.sentence}"
    header, section, context = body["blocks"]
    assert header == {"type": "header", "text": {
        "type": "plain_text", "text": "News topics check-in: Target met", "emoji": False}}
    assert section["text"] == {"type": "mrkdwn", "text": (
        "*Target met.* The best model's F1 score on the test set is 86 out of 100, at or "
        "above the agreed bar of 85 &lt;since Monday&gt; &amp; holding.")}
    assert context["elements"] == [{"type": "mrkdwn", "text": (
        "<https://tl.example.com/p/news-topics/|Open the dashboard> · "
        "<https://tl.example.com/api/v1/projects/news-topics/reports/12/pdf|Read the PDF "
        "report>")}]


def test_teams_gets_an_adaptive_card_in_the_message_envelope():
    body = teams_body(NOTICE)
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert [block["text"] for block in card["body"]] == [
        "News topics check-in: Target met", "Target met", NOTICE.sentence]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open the dashboard", "url": NOTICE.dashboard_url},
        {"type": "Action.OpenUrl", "title": "Read the PDF report", "url": NOTICE.pdf_url}]


def test_the_generic_body_is_the_notice():
    assert generic_body(NOTICE) == {
        "event": "report", "event_id": "report:12", "occurred_at": "2026-12-07T09:00:00+00:00",
        "project": {"slug": "news-topics", "name": "News topics"},
        "title": "News topics check-in: Target met",
        "verdict": {"code": "met", "label": "Target met"}, "sentence": NOTICE.sentence,
        "links": {"dashboard": NOTICE.dashboard_url, "pdf": NOTICE.pdf_url},
        "report": {"id": 12}}


def test_the_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_raw_body():
    raw = encode({"event": "report", "sentence": "déjà"})
    assert raw == '{"event":"report","sentence":"déjà"}'.encode()
    expected = hmac.new(b"s3cret", b"1765098000." + raw, hashlib.sha256).hexdigest()
    assert signature(secret="s3cret", timestamp=1765098000, raw_body=raw) == f"sha256={expected}"
    headers = signed_headers(secret="s3cret", timestamp=1765098000, raw_body=raw,
                             event="report", delivery_id=7)
    assert headers == {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Targetline-Webhooks/1", "X-Targetline-Event": "report",
        "X-Targetline-Delivery": "7", "X-Targetline-Timestamp": "1765098000",
        "X-Targetline-Signature": f"sha256={expected}"}


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1:8000/hook", "'127.0.0.1' is a loopback address"),
    ("http://[::1]/hook", "'::1' is a loopback address"),
    ("http://10.1.2.3/hook", "'10.1.2.3' is a private address"),
    ("https://192.168.0.10/hook", "'192.168.0.10' is a private address"),
    ("http://169.254.169.254/latest/meta-data", "'169.254.169.254' is a link-local address"),
    ("http://224.0.0.1/", "'224.0.0.1' is a multicast address"),
    ("http://240.0.0.1/", "'240.0.0.1' is a reserved address"),
    ("http://0.0.0.0/", "'0.0.0.0' is an unspecified address"),
    ("http://[::ffff:127.0.0.1]/", "'::ffff:127.0.0.1' is a loopback address"),
    ("http://100.64.0.1/", "'100.64.0.1' is not a public address"),
    ("http://localhost:8000/hook", "'localhost' resolves to"),
])
def test_addresses_of_the_servers_own_network_are_refused(url, words):
    with pytest.raises(RefusedAddress, match="webhooks go to public addresses only") as refused:
        check_url(url, allow_private=False)
    assert words in str(refused.value)


def test_an_operator_may_allow_private_addresses():
    destination = check_url("http://127.0.0.1:8123/in?x=1", allow_private=True)
    assert (destination.scheme, destination.host, destination.port, destination.target,
            destination.addresses) == ("http", "127.0.0.1", 8123, "/in?x=1", ("127.0.0.1",))


def test_a_public_address_is_taken():
    assert check_url("https://93.184.215.14/hooks", allow_private=False).addresses == (
        "93.184.215.14",)


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://93.184.215.14/x", "only http and https addresses can receive webhooks, not 'ftp'"),
    ("file:///etc/passwd", "only http and https"),
    ("hooks.slack.com/services/x", "not 'a URL without a scheme'"),
    ("https:///nohost", "names no host"),
    ("https://user:pw@93.184.215.14/", "no user name or password"),
    ("https://93.184.215.14:99999/", "is not a URL"),
    ("", "give the address to post to"),
    ("https://no-such-host.invalid/hook", "cannot be resolved"),
])
def test_what_is_not_an_http_address_is_refused(url, words):
    with pytest.raises(RefusedAddress, match=words):
        check_url(url, allow_private=True)


def test_the_default_ports():
    assert split_url("https://hooks.example.com")[2:] == (443, "/")
    assert split_url("http://hooks.example.com/a")[2:] == (80, "/a")
