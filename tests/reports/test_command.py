"""`manage.py sendreport`: a report now, queued or rendered in this process."""

import io
import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from reports.models import Report

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("sendreport", *args, stdout=out)
    return out.getvalue()


def pdf_text(content: bytes) -> str:
    """The PDF's text with line breaks undone, as a reader would quote it."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", " ", text)


def test_sync_renders_with_charts_and_emails_each_recipient(checkin, met_sentence):
    output = run("news-topics", "--sync")
    report = Report.objects.get()
    lines = output.splitlines()
    assert lines[0].startswith(f"Rendering report {report.pk} for News topics (")
    assert re.fullmatch(r"Rendered in \d+\.\d s: \d pages, PDF at reports/news-topics/.+\.pdf",
                        lines[1])
    assert lines[2] == f"Verdict: Target met. {met_sentence}"
    assert lines[3:] == ["Sending to dana@example.com, cfo@example.com…",
                         "  dana@example.com: sent", "  cfo@example.com: sent",
                         f"Report {report.pk} sent."]
    assert report.html.count('src="data:image/svg+xml;base64,') == 4  # every chart drawn
    assert sorted(m.to[0] for m in mail.outbox) == ["cfo@example.com", "dana@example.com"]
    text = pdf_text(mail.outbox[0].attachments[0][1])
    assert "Target met" in text
    assert ("Target: F1 score of at least 85 out of 100 on the test set, agreed by Dana (Head "
            "of Support) on 2 November 2026.") in text
    assert "Page 1 of " in text and "News topics" in text


def test_without_sync_a_worker_does_it(checkin, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        output = run("news-topics", "--to", "me@example.com")
    report = Report.objects.get()
    assert output == (f"Report {report.pk} queued for News topics (me@example.com); a Celery "
                      "worker renders and emails it.\n")
    assert report.kind == "preview"
    assert [q[:2] for q in queued] == [("render_report_task", (report.pk,))]


def test_mistakes_are_explained(project):
    with pytest.raises(CommandError, match="no project 'nope'"):
        run("nope")
    with pytest.raises(CommandError, match="this project's check-in has no recipients: add "
                                           "some, or name the addresses to send to"):
        run("news-topics", "--sync")
