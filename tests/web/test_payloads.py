"""User text is inert wherever it is shown: pages, the JSON charts read, the browser, the
report's HTML, charts and PDF, and the emails.

Every field a user writes holds script, SVG, CSS and attribute-breaking payloads; none may
appear unescaped, none may run, and each is still shown, as typed.
"""

import base64
import io
import json
import re
from datetime import timedelta
from email import message_from_bytes
from types import SimpleNamespace
from xml.etree import ElementTree

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from pypdf import PdfReader

from reports import checkins, workflow
from reports.alerts import check_alerts
from reports.delivery import deliver_alert, deliver_report
from reports.rendering import render_report
from tests.conftest import TARGET
from tests.factories import make_run
from tracker.services import experiments as experiment_services
from tracker.services import model_registry
from tracker.services import projects as project_services
from tracker.services import runs as run_services
from tracker.services import tokens as token_services

PAYLOAD = ('<script>alert(1)</script><svg onload=alert(2)></svg>'
           '</style><style>body{display:none}</style>"><img src=x onerror=alert(3)>'
           '<a href="https://evil.example/">link</a>')  # plotly reads <a>, <b>, <br>…
# What the payload would put into a page if it were written unescaped.
RAW = ("<script>alert", "<svg onload", "<style>body{display:none}", "<img src=x onerror",
       "<a href=\"https://evil")
FIELDS = ("project name", "project description", "agreed by", "definition", "experiment",
          "hypothesis", "run name", "other run", "notes", "param value", "tag value",
          "token name", "model name", "model description")


def hostile(field: str) -> str:
    # A registered model's name may not contain "/" or ":" (MLflow's rule): its tags stay
    # unclosed, its CSS has no colon.
    if field == "model name":
        return f"{field} {PAYLOAD.replace('/', '').replace(':', '')}"
    return f"{field} {PAYLOAD}"


def start(field: str) -> str:
    """The beginning of a field's text, which a page shows even where it shortens it."""
    return hostile(field)[:len(field) + 30]


@pytest.fixture
def payloads(people):
    """A project whose every text field a user writes holds the payloads."""
    olivia = people.olivia
    project = project_services.create_project(
        user=olivia, slug="hostile", name=hostile("project name"),
        description=hostile("project description"),
        target={**TARGET, "agreed_by": hostile("agreed by"),
                # a definition is a template that shows the number; its braces are doubled
                "definition": hostile("definition").replace("{", "{{").replace("}", "}}")
                + " {value}"},
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}])
    project_services.set_member(project=project, username="victor", role="viewer")
    experiment = experiment_services.create_experiment(
        project=project, user=olivia, name=hostile("experiment"), hypothesis=hostile("hypothesis"))
    baseline = make_run(project, olivia, name="rules", experiment="rules", baseline=True,
                        series={"validation.f1": 0.6, "test.f1": 0.6, "test.latency_ms": 2})
    best = make_run(project, olivia, name=hostile("run name"), experiment=experiment,
                    params={"model": hostile("param value")},
                    tags={"stage": hostile("tag value")},
                    series={"validation.f1": [0.7, 0.88], "test.f1": 0.87,
                            "test.latency_ms": 5, "test/long_texts.f1": 0.8})
    run_services.update_run(run=best, notes=hostile("notes"))
    other = make_run(project, olivia, name=hostile("other run"), experiment=experiment,
                     params={"model": "svm"},
                     series={"validation.f1": 0.75, "test.f1": 0.74, "test.latency_ms": 4})
    token_services.create_token(user=olivia, name=hostile("token name"))
    model_registry.create_model(user=olivia, name=hostile("model name"), project=project,
                                description=hostile("model description"))
    checkins.save_checkin(project=project, data={
        "cadence": "weekly", "weekday": "monday", "local_time": "09:00", "time_zone": "UTC",
        "recipients": ["victor", "cfo@example.com"]})
    return SimpleNamespace(project=project, slug=project.slug, experiment=experiment,
                           baseline=baseline, best=best, other=other, olivia=olivia)


def pages(p) -> dict[str, str]:
    compare = f"/p/{p.slug}/compare/?run={p.best.pk}&run={p.other.pk}&run={p.baseline.pk}"
    return {"projects": "/", "dashboard": f"/p/{p.slug}/", "runs": f"/p/{p.slug}/runs/",
            "run": f"/runs/{p.best.pk}/", "compare": compare,
            "settings": f"/p/{p.slug}/settings/", "models": f"/p/{p.slug}/models/",
            "account": "/account/"}


def shown_fields(html: str) -> set[str]:
    """The fields whose text `html` shows (escaped, as HTML shows text)."""
    return {field for field in FIELDS if escape(start(field)) in html}


def embedded_json(html: str) -> list[str]:
    return re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S)


def strings_in(data) -> list[str]:
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in strings_in(key) + strings_in(value)]
    if isinstance(data, list):
        return [s for item in data for s in strings_in(item)]
    return [data] if isinstance(data, str) else []


def assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: {raw!r} is written unescaped"


@pytest.mark.django_db
def test_every_page_shows_user_text_escaped_and_its_json_cannot_leave_its_script(payloads):
    client = Client()
    client.force_login(payloads.olivia)
    shown: set[str] = set()
    for name, url in pages(payloads).items():
        answer = client.get(url)
        assert answer.status_code == 200, name
        html = answer.content.decode()
        assert_inert(html, name)
        shown |= shown_fields(html)
        for block in embedded_json(html):
            # json_script writes < > & as \\u escapes: no </script> or <!-- can end the block
            assert "<" not in block and ">" not in block, name
            for text in strings_in(json.loads(block)):
                shown |= {field for field in FIELDS if text.startswith(start(field))}
    assert shown == set(FIELDS)


@pytest.mark.django_db
def test_the_curves_the_charts_fetch_are_json_that_no_browser_renders(payloads):
    client = Client()
    client.force_login(payloads.olivia)
    answer = client.get(f"/p/{payloads.slug}/curves.json",
                        {"run": [payloads.best.pk, payloads.other.pk], "key": "f1",
                         "split": "validation"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert hostile("run name") in strings_in(answer.json())


@pytest.mark.django_db
def test_keys_and_guardrail_metrics_with_markup_are_refused(payloads, client_for):
    api = client_for(payloads.olivia)
    answer = api.put(f"/api/v1/projects/{payloads.slug}/guardrails/", [
        {"metric": "<script>alert(1)</script>", "split": "test", "op": "<=", "value": 1}],
        format="json")
    assert answer.status_code == 400 and answer.json()["field"] == "guardrails[0].metric"
    answer = api.post(f"/api/v1/runs/{payloads.best.pk}/log-batch/", {
        "params": {"<svg onload=alert(2)>": "x"}}, format="json")
    assert answer.status_code == 400 and "may only contain letters" in answer.json()["error"]


def test_payloads_run_nothing_and_break_nothing_in_the_browser(page, live_server, payloads,
                                                              login, shoot):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login("olivia")
    for name, url in pages(payloads).items():
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
        injected = page.evaluate("""() => ({
            hidden: getComputedStyle(document.body).display === "none",
            elements: document.querySelectorAll(
                "svg[onload], img[onerror], a[href^='https://evil']").length,
            scripts: [...document.scripts].filter(s => !s.src && s.type !== "application/json")
                .length,
            // a chart label escaped twice would show "&lt;" instead of "<"
            escapedTwice: [...document.querySelectorAll("svg text")]
                .filter(t => t.textContent.includes("&lt;")).length})""")
        assert injected == {"hidden": False, "elements": 0, "scripts": 0, "escapedTwice": 0}, name
        assert PAYLOAD in page.inner_text("body"), f"{name} does not show the text as typed"
        shoot(page, f"payloads-{name}")
    assert dialogs == []


def svg_images(html: str) -> list[str]:
    return [base64.b64decode(data).decode()
            for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]


def mime_types(message) -> set[str]:
    return {part.get_content_type() for part in message_from_bytes(
        message.message().as_bytes()).walk()}


@pytest.mark.django_db
def test_the_report_its_charts_pdf_and_emails_show_user_text_as_text(payloads, settings,
                                                                      tmp_path):
    settings.MEDIA_ROOT = tmp_path
    report = workflow.send_now(project=payloads.project, queue=False,
                               now=timezone.now() + timedelta(minutes=1))
    assert render_report(report_id=report.pk).state == "rendered"
    report.refresh_from_db()
    assert_inert(report.html, "report HTML")
    assert {"project name", "agreed by", "experiment", "run name"} <= shown_fields(report.html)
    charts = [ElementTree.fromstring(svg) for svg in svg_images(report.html)]
    assert charts, "the report has no charts"
    texts = []
    for chart in charts:
        for element in chart.iter():
            assert element.tag.rsplit("}", 1)[-1] not in ("script", "img", "foreignObject", "a")
            assert not [name for name in element.attrib if name.lower().startswith("on")]
            assert "display:none" not in (element.text or "") or element.tag.endswith("text")
            texts.append(element.text or "")
    # Names are drawn as typed (plotly would read their tags): the experiment's, cut at 26
    # characters in the bars, whole in the legend.
    assert "<script>alert(1)</script>…" in texts
    assert hostile("experiment") in texts
    with report.pdf.open("rb") as handle:
        pdf = PdfReader(io.BytesIO(handle.read()))
    pdf_text = " ".join(page.extract_text() for page in pdf.pages)
    # lines wrap wherever the page is full: compare the characters, not the spaces
    pdf_chars = "".join(pdf_text.split())
    assert "runname<script>alert(1)</script><svgonload=alert(2)></svg>" in pdf_chars
    assert "body{display:none}" in pdf_text and "Best model" in pdf_text

    assert deliver_report(report_id=report.pk).sent == 2
    winner_alerts = check_alerts(project_id=payloads.project.pk, run_id=str(payloads.best.pk))
    assert winner_alerts
    for alert in winner_alerts:
        deliver_alert(alert_id=alert.pk)
    assert len(mail.outbox) > 2  # the report's two, then the alerts'
    for message in mail.outbox:
        # Plain text only: a mail reader shows the payloads as the characters they are.
        assert mime_types(message) <= {"multipart/mixed", "text/plain", "application/pdf"}
        assert not getattr(message, "alternatives", None)
        assert message.subject.startswith(hostile("project name"))
    assert any(hostile("run name") in message.body for message in mail.outbox)
