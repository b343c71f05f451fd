"""The multi-machine shape: web servers and a worker that share no folder.

Two web servers (gunicorn, as scripts/run.sh starts it) and a Celery worker run as separate
processes, each with a working folder of its own (TARGETLINE_VAR_DIR), empty at start. They
share only PostgreSQL, Redis and the S3 store, as machines on a network would. An artifact
the SDK uploads to one web server downloads intact from the other; a report the worker
renders downloads intact from a web server; nothing lands in any working folder.
"""

import hashlib
import io
import os
import random
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import targetline as tl
from django.contrib.auth import get_user_model
from pypdf import PdfReader

from reports.sample import build_sample_project
from tests import gunicorn as gunicorn_server
from tests.reports.test_worker import Worker, forget_queue, wait_for
from tests.storage.conftest import PREFIX, keys, object_bytes
from tracker.services import tokens as token_services

pytestmark = pytest.mark.django_db(transaction=True)
CONTENT = random.Random(11).randbytes(12 * 1024 * 1024 + 7)  # several multipart parts


class Machine:
    """One process and its own working folder, on the shared services only."""

    def __init__(self, name: str, folder: Path, env: dict):
        self.name, self.folder = name, folder
        self.var = folder / "var"
        self.var.mkdir(parents=True)
        self.env = {**env, "TARGETLINE_VAR_DIR": str(self.var)}

    def files(self) -> list[str]:
        """The files the machine kept, but for its metrics' counters: those are the
        process's own by design (config/gunicorn.py, PROMETHEUS_MULTIPROC_DIR), no data."""
        counters = self.var / "prometheus"
        return sorted(str(p.relative_to(self.var)) for p in self.var.rglob("*")
                      if p.is_file() and counters not in p.parents)


class Web(Machine):
    def start(self) -> "Web":
        self.log = (self.folder / "gunicorn.log").open("wb")
        self.process, self.base = gunicorn_server.start(self.env, self.log, what=self.name)
        return self

    def stop(self) -> None:
        gunicorn_server.stop(self.process)
        self.log.close()


@pytest.fixture
def shared(settings, s3_server, bucket, tmp_path):
    """The environment every machine shares: database, broker, S3 store, secret key."""
    db = settings.DATABASES["default"]
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if "postgresql" not in db["ENGINE"] or not broker.startswith("redis://"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL)")
    url = urlsplit(os.environ["DATABASE_URL"])
    env = {key: value for key, value in os.environ.items()
           if key not in ("ARTIFACT_ROOT", "CELERY_TASK_ALWAYS_EAGER")}
    env.update({**s3_server.env(bucket),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": urlunsplit(url._replace(path=f"/{db['NAME']}")),
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": "multi-machine-test",
        "REPORT_QUEUE": f"targetline-test-{uuid.uuid4().hex[:10]}",
        "REPORT_DISPATCH_INTERVAL": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PYTHONUNBUFFERED": "1",
    })
    yield env
    forget_queue(broker, env["REPORT_QUEUE"])


@pytest.fixture
def machines(shared, tmp_path):
    web_a = Web("web-a", tmp_path / "web-a", shared).start()
    web_b = Web("web-b", tmp_path / "web-b", shared).start()
    worker_machine = Machine("worker", tmp_path / "worker", shared)
    worker = Worker(worker_machine.env, worker_machine.folder, "worker")
    yield web_a, web_b, worker_machine
    worker.stop()
    web_a.stop()
    web_b.stop()


def test_web_and_worker_share_only_the_database_the_broker_and_the_store(
        machines, s3_server, bucket, tmp_path):
    web_a, web_b, worker = machines
    build_sample_project(slug="multi-machine", recipients=["cfo@example.com"])
    owner = get_user_model().objects.get(username="olivia")  # the sample project's owner
    _, token = token_services.create_token(user=owner, name="multi-machine")
    # The worker renders a report while the SDK uploads a model to the first web server.
    sent = requests.post(f"{web_b.base}/api/v1/projects/multi-machine/reports/",
                         json={"to": ["cfo@example.com"]},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert sent.status_code == 202, sent.text
    (tmp_path / "model.bin").write_bytes(CONTENT)
    run = tl.init("multi-machine", experiment="shipping", name="from-a-laptop",
                  url=web_a.base, token=token, dir=str(tmp_path / "sdk"))
    run.log_artifact(tmp_path / "model.bin", name="models/model.bin")
    run.finish()

    # The model is an object in the bucket, and the other web server serves it intact.
    key = f"{PREFIX}/runs/{run.id}/models/model.bin"
    assert key in keys(s3_server, bucket)
    api_b = tl.Api(url=web_b.base, token=token)
    downloaded = Path(api_b.download_artifact(run.id, "models/model.bin", tmp_path))
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == (
        hashlib.sha256(CONTENT).hexdigest())

    # The report the worker rendered is served by the web server that was asked for it.
    report_url = f"{web_b.base}/api/v1/projects/multi-machine/reports/{sent.json()['id']}"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def rendered() -> bool:
        return session.get(report_url, timeout=30).json()["status"] != "pending"
    wait_for(rendered, 180, "the worker to render the report")
    pdf = session.get(f"{report_url}/pdf", timeout=30)
    assert pdf.status_code == 200
    [pdf_key] = [k for k in keys(s3_server, bucket) if k.startswith(f"{PREFIX}/reports/")]
    assert pdf.content == object_bytes(s3_server, bucket, pdf_key)
    assert "Support ticket routing" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    # The first web server serves the same report too.
    again = requests.get(f"{web_a.base}/api/v1/projects/multi-machine/reports/"
                         f"{sent.json()['id']}/pdf", timeout=30,
                         headers={"Authorization": f"Bearer {token}"})
    assert again.content == pdf.content

    # No machine kept a file of its own: everything is in the shared store.
    time.sleep(0.5)
    assert (web_a.files(), web_b.files(), worker.files()) == ([], [], [])
