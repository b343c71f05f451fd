"""End to end: a real Celery worker with its beat, a real SMTP server, the test database.

The worker runs as a subprocess (`celery -A config worker -B`) on the broker from
CELERY_BROKER_URL (Redis in CI; a filesystem broker in a temporary folder otherwise) and on
pytest's PostgreSQL test database, with the dispatcher every second and a 4-second lease so
recovery happens within the test. Nothing is queued from the test process: a check-in is
made due and the worker's own beat takes it from there, as in production.
"""

import email
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from aiosmtpd.controller import Controller
from django.utils import timezone
from pypdf import PdfReader

from reports.checkins import schedule_checkin_now
from reports.models import Delivery, DeliveryStatus, Report
from reports.narrative import day_text
from reports.periods import local_day
from reports.sample import build_sample_project

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = ["cfo@example.com", "dana@example.com"]


def verdict_sentence() -> str:
    """The sample project's verdict: its pace over the last three weekly check-ins."""
    three_weeks_ago = day_text(local_day(timezone.now() - timedelta(days=21), "Europe/Paris"))
    return ("The best model's F1 score on the test set improved from 77.9 at the check-in of "
            f"{three_weeks_ago} to 82.3 out of 100, about 1.5 points per check-in; at that "
            "pace it reaches the agreed bar of 85 within 2 more check-ins.")


pytestmark = pytest.mark.django_db(transaction=True)


# --- the SMTP server -------------------------------------------------------------------------

class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def recipients(self) -> list[str]:
        return sorted(m["To"] for m in self.messages)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smtp:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> Inbox:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self.inbox

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = Smtp(free_port())
    yield server
    server.stop()


# --- the worker ------------------------------------------------------------------------------

class Worker:
    """`celery -A config worker -B` in its own process group, logging to a file."""

    def __init__(self, env: dict, folder: Path, name: str):
        self.log = folder / f"{name}.log"
        self.handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-B",
             "--pool", "prefork", "--concurrency", "1", "--hostname", f"{name}@%h",
             "-Q", env["REPORT_QUEUE"], "--schedule", str(folder / f"{name}-beat"),
             "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=self.handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: " ready." in self.text(), 60, "the worker to start", self)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the worker and its pool (its process group): no goodbye, no ack."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown: Chromium closes
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.handle.close()


def wait_for(condition, seconds: float, what: str, worker: Worker | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    log = worker.text()[-4000:] if worker else ""
    pytest.fail(f"gave up after {seconds} s waiting for {what}\n{log}")


@pytest.fixture
def start_worker(django_db_setup, tmp_path, settings, smtp):
    """Start workers on pytest's database and a queue of this test's own."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…): a worker process cannot "
                    "open pytest's in-memory SQLite test database")
    url = urlsplit(os.environ["DATABASE_URL"])
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media  # where the worker stores PDFs
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": urlunsplit(url._replace(path=f"/{db['NAME']}")),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or "filesystem://",
        "TARGETLINE_VAR_DIR": str(tmp_path / "var"),  # the filesystem broker lives there
        "ARTIFACT_ROOT": str(media),
        "REPORT_QUEUE": f"targetline-test-{uuid.uuid4().hex[:10]}",
        "REPORT_DISPATCH_INTERVAL": "1",
        "REPORT_LEASE_SECONDS": "4",
        "REPORT_SMTP_RETRY_DELAY": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_TIMEOUT": "5",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    settings.REPORT_QUEUE = env["REPORT_QUEUE"]  # what the test process queues reaches them
    # the worker's var/ (the filesystem broker's folders, the secret key), as `make run` has it
    subprocess.run([sys.executable, "manage.py", "quickstart", "--no-admin"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(env, tmp_path, f"worker{len(workers) + 1}")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    forget_queue(env["CELERY_BROKER_URL"], env["REPORT_QUEUE"])


def forget_queue(broker_url: str, queue: str) -> None:
    """Remove this test's queue from Redis: its list, its bindings, its unacked messages.

    Everything removed is named after the queue, which is this test's own.
    """
    if not broker_url.startswith(("redis://", "rediss://")):
        return  # the filesystem broker lived in the test's temporary folder
    client = redis.Redis.from_url(broker_url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    for tag, raw in client.hgetall("unacked").items():
        _, exchange, routing_key = json.loads(raw)
        if queue in (exchange, routing_key):  # the killed worker's message
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


# --- helpers ---------------------------------------------------------------------------------

def due_check_in(slug: str = "e2e-tickets"):
    project = build_sample_project(slug=slug, recipients=RECIPIENTS)
    schedule_checkin_now(checkin=project.checkin)
    return project


def new_report(project) -> Report | None:
    return Report.objects.filter(project=project, kind="scheduled", created_at__gt=(
        project.checkin.updated_at)).order_by("-id").first()


def statuses(project) -> list[str]:
    return sorted(Delivery.objects.filter(report__project=project)
                  .values_list("status", flat=True))


def pdf_text(message: Message) -> str:
    [attachment] = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    reader = PdfReader(io.BytesIO(attachment.get_payload(decode=True)))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


# --- the tests -------------------------------------------------------------------------------

def test_a_due_check_in_reaches_every_recipient_with_its_pdf(start_worker, smtp):
    inbox = smtp.start()
    worker = start_worker()
    project = due_check_in()
    wait_for(lambda: len(inbox.messages) >= 2, 120, "two emails", worker)
    wait_for(lambda: statuses(project) == ["sent", "sent"], 10, "the deliveries", worker)
    assert inbox.recipients() == RECIPIENTS
    message = inbox.messages[0]
    assert message["Subject"] == "Support ticket routing check-in: On track"
    [body] = [p for p in message.walk() if p.get_content_type() == "text/plain"]
    verdict = verdict_sentence()
    assert body.get_payload(decode=True).decode().splitlines()[0] == f"On track. {verdict}"
    text = pdf_text(message)
    assert "On track" in text
    assert verdict in text
    project.target.refresh_from_db()
    agreed_on = day_text(project.target.agreed_on)
    assert (f"Target: F1 score of at least 85 out of 100 on the test set, agreed by Dana Reyes "
            f"(Head of Support) on {agreed_on}.") in text
    report = new_report(project)
    assert (report.status, report.verdict, report.render_attempts) == ("done", "on_track", 1)
    assert report.html.count('src="data:image/svg+xml;base64,') == 4  # both charts and more


def test_smtp_down_then_up_delivers_once(start_worker, smtp):
    worker = start_worker()  # the SMTP server is not running yet
    project = due_check_in()
    wait_for(lambda: statuses(project) == ["retry", "retry"], 120, "failed attempts", worker)
    report = new_report(project)
    rendered_at = report.rendered_at
    inbox = smtp.start()
    wait_for(lambda: statuses(project) == ["sent", "sent"], 60, "the retries", worker)
    time.sleep(3)  # three more dispatcher rounds: nothing else may arrive
    assert inbox.recipients() == RECIPIENTS
    report.refresh_from_db()
    assert (report.rendered_at, report.render_attempts) == (rendered_at, 1)  # not re-rendered
    for delivery in Delivery.objects.filter(report=report):
        assert delivery.attempts >= 2
        assert delivery.last_error == ""


def test_a_worker_killed_mid_report_delivers_once_after_restart(start_worker, smtp):
    inbox = smtp.start()
    first = start_worker()
    project = due_check_in()

    def rendering() -> bool:
        report = new_report(project)
        return bool(report and report.status == "pending" and report.render_attempts == 1)
    wait_for(rendering, 60, "the report to be rendering", first)
    first.kill()
    report = new_report(project)
    assert report.status == "pending"
    assert inbox.messages == []
    second = start_worker()
    wait_for(lambda: statuses(project) == ["sent", "sent"], 120, "the report after restart",
             second)
    time.sleep(3)
    assert inbox.recipients() == RECIPIENTS
    report.refresh_from_db()
    assert (report.status, report.render_attempts) == ("done", 2)
    assert not Delivery.objects.filter(report=report).exclude(
        status=DeliveryStatus.SENT).exists()
