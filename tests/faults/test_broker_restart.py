"""The broker (Redis) restarted under a running worker and beat: the check-in goes out once.

A Redis server of the test's own (another port, no persistence: a restart loses every
queued and unacknowledged message, the worst a broker restart can do) carries a real
`celery worker -B` (tests/reports/test_worker.py); a real SMTP server receives the emails.
Redis is stopped as the check-in falls due (beat cannot send the dispatcher), or while its
report is being rendered (the render task's message and its ack are lost), kept down for
three seconds and started again: the report still reaches each recipient exactly once.
"""

import shutil
import subprocess
import time

import pytest
import redis

from reports.models import DeliveryStatus
from tests.reports.test_worker import (
    RECIPIENTS,
    due_check_in,
    free_port,
    new_report,
    statuses,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)


class RedisServer:
    """`redis-server` on a port of its own, in memory only."""

    def __init__(self, port: int):
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        wait_for(lambda: self._pings(client), 10, "redis-server to answer")

    @staticmethod
    def _pings(client) -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # no goodbye to the clients; nothing is saved either way
            self.process.wait(10)
        self.process = None


@pytest.fixture
def broker(monkeypatch):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port())
    server.start()
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{server.port}/0")
    yield server
    server.stop()


@pytest.fixture
def start_worker(broker, start_worker):
    """tests/reports' workers, on this test's own Redis."""
    return start_worker


def report_rendering(project) -> bool:
    report = new_report(project)
    return bool(report and report.status == "pending" and report.render_attempts == 1)


@pytest.mark.parametrize("when", ["as the check-in falls due", "while its report renders"])
def test_a_broker_restart_still_delivers_each_email_once(broker, start_worker, smtp, when):
    inbox = smtp.start()
    worker = start_worker()
    wait_for(lambda: "Scheduler: Sending due task" in worker.text(), 10, "beat's first "
             "round", worker)  # beat is connected, and will find the broker gone
    if when == "as the check-in falls due":
        broker.stop()
        project = due_check_in()
    else:
        project = due_check_in()
        wait_for(lambda: report_rendering(project), 30, "the report to be rendering", worker)
        broker.stop()
    time.sleep(3)
    broker.start()

    wait_for(lambda: statuses(project) == ["sent", "sent"], 45, "the report after the "
             "broker came back", worker)
    time.sleep(3)  # three more dispatcher rounds: nothing else may arrive
    assert inbox.recipients() == RECIPIENTS
    report = new_report(project)
    assert report.status == "done"
    assert set(report.deliveries.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    log = worker.text()  # both the worker and its beat lived through the outage
    assert "consumer: Connection to broker lost" in log
    assert "Couldn't apply scheduled task reports-dispatch-checkins" in log
