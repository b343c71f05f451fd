"""What operators probe and scrape: /healthz, /readyz and /metrics (api/operations.py).

The endpoints are asked through Django's test client; the counters are read from a real
gunicorn of two workers, as scripts/run.sh starts it, after points were logged over HTTP.
"""

import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import requests
from celery import Celery
from django.test import Client, RequestFactory
from prometheus_client.parser import text_string_to_metric_families

from config.logs import JsonLines
from tests import gunicorn as gunicorn_server
from tests.reports.test_worker import forget_queue, free_port, wait_for
from tracker.services import tokens as token_services

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a Prometheus exposition, by (name, sorted labels)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


# --- /healthz -------------------------------------------------------------------------

def test_healthz_answers_without_credentials_or_the_database():
    """No `db` fixture: a query here would fail the test (pytest-django blocks it)."""
    answer = Client().get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer["Cache-Control"] == "no-store"


def test_healthz_refuses_other_methods():
    assert Client().post("/healthz").status_code == 405


# --- /readyz --------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def broker_folders(settings, tmp_path):
    """The filesystem broker's folders (`manage.py quickstart` makes them under var/): the
    test's own, as a fresh clone has none."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = str(tmp_path / "broker")
        os.makedirs(folder)
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS, "data_folder_in": folder,
            "data_folder_out": folder, "processed_folder": folder, "control_folder": folder}


@pytest.mark.django_db
def test_readyz_names_each_service_up():
    answer = Client().get("/readyz")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "artifact_storage"}
    assert all(check["state"] == "up" and check["detail"] for check in body["checks"].values())


@pytest.mark.django_db
def test_readyz_is_503_naming_the_broker_when_redis_does_not_answer(settings):
    dead = free_port()  # nothing listens there
    settings.CELERY_BROKER_URL = f"redis://:secret@127.0.0.1:{dead}/0"

    answer = Client().get("/readyz")

    assert answer.status_code == 503
    assert answer["Retry-After"] == "5"
    body = answer.json()
    assert body["status"] == "unavailable"
    broker = body["checks"]["broker"]
    assert broker["state"] == "down"
    assert f"redis at 127.0.0.1:{dead}" in broker["detail"]
    assert "secret" not in answer.content.decode()  # the URL's password is not shown
    assert body["checks"]["database"]["state"] == "up"
    assert body["checks"]["artifact_storage"]["state"] == "up"


@pytest.mark.django_db
def test_readyz_tries_a_rabbitmq_broker_with_a_connection(settings):
    dead = free_port()
    settings.CELERY_BROKER_URL = f"amqp://guest:guest@127.0.0.1:{dead}//"

    answer = Client().get("/readyz")

    assert answer.status_code == 503
    broker = answer.json()["checks"]["broker"]
    assert broker["state"] == "down"
    assert broker["detail"].startswith(f"amqp at 127.0.0.1:{dead}: ")


@pytest.mark.django_db
def test_readyz_is_503_when_the_artifact_storage_cannot_be_written(settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifact folder should be")
    settings.MEDIA_ROOT = blocker

    answer = Client().get("/readyz")

    assert answer.status_code == 503
    storage = answer.json()["checks"]["artifact_storage"]
    assert storage["state"] == "down"
    assert storage["detail"].startswith("FileSystemStorage: ")


@pytest.mark.django_db
def test_readyz_leaves_no_probe_file_behind(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"

    assert Client().get("/readyz").status_code == 200

    assert [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()] == []


@pytest.mark.django_db
def test_probes_are_not_in_the_api_schema(api):
    paths = api.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert not [p for p in paths if p.strip("/") in ("healthz", "readyz", "metrics")]


# --- /metrics -------------------------------------------------------------------------

@pytest.mark.django_db
def test_metrics_needs_the_token_when_one_is_set(settings):
    settings.METRICS_TOKEN = "scrape-me-0123456789"
    client = Client()

    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-0123456788")
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me-0123456789")
    assert right.status_code == 200
    assert "targetline_points_ingested_total" in right.content.decode()


@pytest.mark.django_db
def test_metrics_time_requests_by_route_not_by_path(api, project):
    for name in ("a", "b"):
        api.post("/api/v1/projects/news-topics/runs/", {"experiment": "x", "name": name},
                 format="json")
    api.get("/no/such/page/1")
    api.get("/no/such/page/2")

    found = samples(Client().get("/metrics").content.decode())

    created = ("targetline_http_request_duration_seconds_count",
               (("method", "POST"), ("route", "api/v1/projects/<str:slug>/runs/"),
                ("status", "2xx")))
    assert found[created] >= 2
    routes = {dict(labels).get("route") for name, labels in found
              if name == "targetline_http_request_duration_seconds_count"}
    assert "unmatched" in routes
    assert not [r for r in routes if r and "news-topics" in r]


@pytest.mark.django_db
def test_metrics_count_report_queue_depth_from_redis(settings):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs a Redis broker (CELERY_BROKER_URL=redis://…)")
    queue = f"targetline-test-{uuid.uuid4().hex[:10]}"
    settings.REPORT_QUEUE = queue
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.lpush(queue, "one", "two", "three")
        found = samples(Client().get("/metrics").content.decode())
    finally:
        client.delete(queue)

    assert found["targetline_report_queue_depth", (("queue", queue),)] == 3


# --- Counters added up over gunicorn's workers ----------------------------------------

@contextlib.contextmanager
def gunicorn(tmp_path, **env_vars):
    """gunicorn as scripts/run.sh starts it (config/gunicorn.py, 2 workers), logging JSON
    lines to a file; yields (base URL, log file) once /healthz answers."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "SECRET_KEY": "operations-test", "TARGETLINE_VAR_DIR": str(tmp_path / "var"),
           "LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1", **env_vars}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        process, base = gunicorn_server.start(env, log, probe="/healthz")
    try:
        yield base, log_path
    finally:
        gunicorn_server.stop(process)


@pytest.fixture
def gunicorn_json_logs(settings, tmp_path):
    """gunicorn on pytest's PostgreSQL database, a previous run's counter file in its
    multiprocess folder."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")
    url = urlsplit(os.environ["DATABASE_URL"])
    stale = tmp_path / "var" / "prometheus" / "counter_999999.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a file of a previous run, emptied at start")
    with gunicorn(tmp_path, DATABASE_URL=urlunsplit(url._replace(path=f"/{db['NAME']}"))) as up:
        assert not stale.exists()
        yield up


def test_a_database_outage_leaves_healthz_alone_and_makes_readyz_503(tmp_path):
    """The database is unreachable: the process is alive (do not restart it), not ready."""
    dead = free_port()
    with gunicorn(tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{dead}/targetline",
                  CELERY_BROKER_URL=f"redis://127.0.0.1:{dead}/0") as (base, _):
        alive = requests.get(f"{base}/healthz", timeout=10)
        ready = requests.get(f"{base}/readyz", timeout=10)

    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "5"
    checks = ready.json()["checks"]
    assert checks["database"]["state"] == "down"
    assert checks["database"]["detail"].startswith("postgresql: ")
    assert checks["broker"]["state"] == "down"
    assert checks["artifact_storage"]["state"] == "up"


@pytest.mark.django_db(transaction=True)
def test_counters_add_up_over_gunicorns_workers(gunicorn_json_logs, project, owner):
    base, log_path = gunicorn_json_logs
    _, token = token_services.create_token(user=owner, name="ops")
    auth = {"Authorization": f"Bearer {token}"}
    before = samples(requests.get(f"{base}/metrics", timeout=10).text)

    run_ids = []
    for name in ("lr", "svm", "bert"):  # a new connection each: either worker answers
        answer = requests.post(f"{base}/api/v1/projects/news-topics/runs/", headers=auth,
                               json={"experiment": "ops", "name": name}, timeout=10)
        assert answer.status_code == 201, answer.text
        run_ids.append(answer.json()["id"])
    for i, run_id in enumerate(run_ids * 2):
        points = [{"key": "loss", "split": "train", "step": i * 10 + s, "value": 0.5,
                   "timestamp": 1_700_000_000_000 + i * 10 + s} for s in range(5)]
        answer = requests.post(f"{base}/api/v1/runs/{run_id}/log-batch/", headers=auth,
                               json={"metrics": points}, timeout=10)
        assert answer.status_code == 200, answer.text
    # The MLflow client's single point takes the same path.
    answer = requests.post(f"{base}/api/2.0/mlflow/runs/log-metric", headers=auth, json={
        "run_id": run_ids[0], "key": "val_f1", "value": 0.8, "timestamp": 1_700_000_100_000,
        "step": 1}, timeout=10)
    assert answer.status_code == 200, answer.text
    # A replay of the last batch stores nothing new, and counts nothing.
    requests.post(f"{base}/api/v1/runs/{run_id}/log-batch/", headers=auth,
                  json={"metrics": points}, timeout=10)

    scrapes = [samples(requests.get(f"{base}/metrics", timeout=10).text) for _ in range(4)]

    def grown(found, name) -> float:
        return found.get((name, ()), 0) - before.get((name, ()), 0)

    for found in scrapes:  # whichever worker answered, the same totals
        assert grown(found, "targetline_points_ingested_total") == 6 * 5 + 1
        assert grown(found, "targetline_runs_created_total") == 3
        key = ("targetline_http_request_duration_seconds_count",
               (("method", "POST"), ("route", "api/v1/runs/<str:run_id>/log-batch/"),
                ("status", "2xx")))
        assert found[key] == 7

    # Every line gunicorn and Django wrote is JSON, the access lines with the request.
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [_json_line(line) for line in lines]
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    logged = [r for r in access if r.get("path") == f"/api/v1/runs/{run_ids[0]}/log-batch/"]
    assert logged and logged[0]["method"] == "POST" and logged[0]["status"] == 200
    assert isinstance(logged[0]["duration_ms"], int)


def _json_line(line: str) -> dict:
    try:
        return json.loads(line)
    except ValueError:
        pytest.fail(f"not a JSON line: {line!r}")


@pytest.mark.django_db(transaction=True)
def test_the_worker_logs_json_lines(settings, tmp_path):
    """Celery sets its worker's logging up itself: with LOG_FORMAT=json it writes JSON too."""
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")
    url = urlsplit(os.environ["DATABASE_URL"])
    queue = f"targetline-test-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "json",
           "DATABASE_URL": urlunsplit(url._replace(
               path=f"/{settings.DATABASES['default']['NAME']}")),
           "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL") or "filesystem://",
           "SECRET_KEY": "operations-test", "TARGETLINE_VAR_DIR": str(tmp_path / "var"),
           "REPORT_QUEUE": queue, "PYTHONUNBUFFERED": "1"}
    subprocess.run([sys.executable, "manage.py", "quickstart", "--no-admin"], cwd=ROOT,
                   env=env, check=True, capture_output=True)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "celery"), "-A", "config", "--quiet",
             "worker", "--loglevel", "INFO", "--concurrency", "1", "-Q", queue], cwd=ROOT,
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: " ready." in log_path.read_text(), 60, "the worker to be ready")
        text = log_path.read_text()  # what it logged; at shutdown Celery prints a plain line
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        forget_queue(env["CELERY_BROKER_URL"], queue)

    records = [_json_line(line) for line in text.splitlines() if line.strip()]
    ready = [r for r in records if r["message"].endswith(" ready.")]
    assert ready and ready[0]["level"] == "INFO" and ready[0]["logger"].startswith("celery")
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)


def test_a_django_request_line_names_the_request():
    """Django's request log passes the request object: the line says its method and path."""
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                               "Not Found: %s", ("/p/nope/",), None)
    record.request = RequestFactory().get("/p/nope/")
    record.status_code = 404

    line = json.loads(JsonLines().format(record))

    assert line["level"] == "WARNING" and line["logger"] == "django.request"
    assert line["message"] == "Not Found: /p/nope/"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/p/nope/", 404)
    assert "request" not in line and line["time"]


def test_a_task_line_names_the_task():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("tests.operations.task")
    logger.addHandler(handler)

    app = Celery("tests-operations", set_as_current=False)  # no result backend to set up

    @app.task(name="tests.operations.say_hello")
    def say_hello():
        logger.warning("hello from a task")

    try:
        result = say_hello.apply()
    finally:
        logger.removeHandler(handler)

    line = json.loads(stream.getvalue())
    assert line["message"] == "hello from a task"
    assert (line["task_name"], line["task_id"]) == ("tests.operations.say_hello", result.id)
