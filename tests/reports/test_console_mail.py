"""Without EMAIL_HOST, emails are printed: what a person needs to read, not the PDF's base64."""

import io

from django.core.mail import EmailMultiAlternatives, get_connection

from reports.console_mail import EmailBackend

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 200  # 51,209 bytes


def printed(message: EmailMultiAlternatives) -> str:
    stream = io.StringIO()
    EmailBackend(stream=stream).send_messages([message])
    return stream.getvalue()


def test_a_report_email_prints_headers_text_and_one_line_per_attachment():
    message = EmailMultiAlternatives(
        subject="News topics — target met", body="The best model is at 86 out of 100.\n",
        from_email="Targetline <targetline@localhost>", to=["dana@example.com"])
    message.attach_alternative("<p>The best model is at 86 out of 100.</p>", "text/html")
    message.attach("news-topics-2026-12-07.pdf", PDF, "application/pdf")

    text = printed(message)

    lines = text.splitlines()
    assert "Subject: News topics — target met" in lines
    assert "From: Targetline <targetline@localhost>" in lines
    assert "To: dana@example.com" in lines
    assert "The best model is at 86 out of 100." in lines
    assert [line for line in lines if line.startswith("[text/html part, ")]
    assert "[attachment: news-topics-2026-12-07.pdf (application/pdf, 50.0 KB)]" in lines
    assert lines[-1] == "-" * 79
    assert len(lines) < 20  # no base64
    assert "JVBERi" not in text  # "%PDF" in base64


def test_settings_print_with_it_when_no_smtp_server_is_set(settings):
    settings.EMAIL_BACKEND = "reports.console_mail.EmailBackend"
    assert isinstance(get_connection(), EmailBackend)
