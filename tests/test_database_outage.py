"""PostgreSQL away under a live server: restarted while the SDK and the MLflow client log,
restarted between requests, and out of connections.

While the database is away every answer is 503 with Retry-After (JSON in each API's error
shape, a page for people), never a 500; every point the scripts log is stored exactly once;
and the server answers normally again as soon as the database is back. The server is
gunicorn as `make run` starts it (2 workers of 4 threads), on a throwaway PostgreSQL of this
module's own (tests/pg_cluster.py), never the suite's: these tests stop it.
"""

from __future__ import annotations

import collections
import gc
import http.client
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import psycopg
import pytest
import targetline as tl
from mlflow.utils import request_utils

from tests.pg_cluster import Cluster
from tests.sdk.conftest import FAST
from tests.sdk.live import ROOT, Server

RETRY_AFTER = "2"  # DATABASE_RETRY_AFTER: the MLflow client then retries 7 times over ~14 s
OUTAGE_SECONDS = 4
SDK_POINTS = 600
MLFLOW_POINTS = 100

# Each script logs half its points, says "logging" and waits for a line on its input, then
# logs the other half (while the database is away) and finishes.
SDK_SCRIPT = textwrap.dedent("""
    import sys, time
    import targetline as tl

    points = int(sys.argv[1])
    run = tl.init(project="outage-sdk", experiment="restart", name="sdk writer")
    print(run.id, flush=True)
    for step in range(points):
        if step == points // 2:
            print("logging", flush=True)
            sys.stdin.readline()
        run.log({"loss": 1.0 / (step + 1)}, step=step)
        time.sleep(0.01)
    run.finish()
    print("finished", flush=True)
""")

MLFLOW_SCRIPT = textwrap.dedent("""
    import sys, time
    import mlflow
    from mlflow.entities import Metric

    points = int(sys.argv[1])
    client = mlflow.MlflowClient()
    mlflow.set_experiment("outage-mlflow/restart")
    run_id = mlflow.start_run(run_name="mlflow writer").info.run_id
    print(run_id, flush=True)
    for step in range(points):
        if step == points // 2:
            print("logging", flush=True)
            sys.stdin.readline()
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)  # log-metric: a point a call
        if step % 10 == 9:  # log-batch: ten points a call
            now = int(time.time() * 1000)
            client.log_batch(run_id, metrics=[Metric("acc", s / points, now, s)
                                              for s in range(step - 9, step + 1)])
        time.sleep(0.005)
    mlflow.end_run()
    print("finished", flush=True)
""")

SETUP_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from tracker.services.tokens import create_token
user = get_user_model().objects.create_user(username="ada")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(create_token(user=user, name="outage tests")[1], session.session_key)
"""

# What each of the three kinds of client asks: a v1 call, an MLflow call, a page.
SURFACES = {
    "v1": "/api/v1/projects/",
    "mlflow": "/api/2.0/mlflow/experiments/search?max_results=1",
    "web": "/",
}


@dataclass
class Site:
    """The server, on a migrated database of the cluster; ada's token and signed-in session."""

    server: Server
    token: str
    session: str
    env: dict
    var_dir: Path


@dataclass
class Answer:
    surface: str
    status: int
    headers: dict
    body: bytes
    phases: tuple = ()  # the phase of the outage when it was asked, and when answered


@pytest.fixture(scope="module")
def cluster():
    cluster = Cluster(max_connections=20)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def site(cluster, tmp_path_factory) -> Site:
    """gunicorn as scripts/run.sh starts it (with an access log of every answer), on a
    database of the cluster migrated meanwhile."""
    var_dir = tmp_path_factory.mktemp("database-outage")
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE targetline")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("TARGETLINE_", "MLFLOW_"))}
    env.update(DATABASE_URL=cluster.url("targetline"), DATABASE_RETRY_AFTER=RETRY_AFTER,
               TARGETLINE_VAR_DIR=str(var_dir), CELERY_TASK_ALWAYS_EAGER="true",
               DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1",
               SECRET_KEY="database outage tests")
    setup = subprocess.Popen([sys.executable, "-c", SETUP_SCRIPT], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = Server(env, var_dir / "gunicorn.log", workers=2,
                    args=("--access-logfile", str(var_dir / "access.log")))
    try:
        server.start()  # its first answer needs no database
        out, err = setup.communicate(timeout=120)
        assert setup.returncode == 0, err
        token, session = out.split()[-2:]
        yield Site(server=server, token=token, session=session, env=env, var_dir=var_dir)
    finally:
        server.stop()
        if setup.poll() is None:
            setup.kill()


def ask(site: Site, surface: str) -> Answer:
    headers = ({"Cookie": f"sessionid={site.session}"} if surface == "web"
               else {"Authorization": f"Bearer {site.token}"})
    conn = http.client.HTTPConnection("127.0.0.1", site.server.port, timeout=20)
    try:
        conn.request("GET", SURFACES[surface], headers=headers)
        response = conn.getresponse()
        return Answer(surface, response.status,
                      {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def burst(site: Site, per_surface: int = 8) -> list[Answer]:
    """Each surface asked `per_surface` times at once: enough to reach every server thread."""
    with ThreadPoolExecutor(max_workers=3 * per_surface) as pool:
        return list(pool.map(lambda s: ask(site, s), list(SURFACES) * per_surface))


def assert_unavailable(answer: Answer) -> None:
    """503 with Retry-After, in the shape the surface's clients read."""
    assert answer.status == 503, (answer.surface, answer.status, answer.body[:300])
    assert answer.headers["retry-after"] == RETRY_AFTER
    if answer.surface == "web":
        assert answer.headers["content-type"].startswith("text/html")
        assert b"Targetline is unavailable for a moment" in answer.body
        assert f"Reload this page in {RETRY_AFTER} seconds".encode() in answer.body
        return
    body = json.loads(answer.body)
    if answer.surface == "mlflow":
        assert body["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert body["message"].startswith("the database is unavailable for a moment")
    else:
        assert body == {"error": "the database is unavailable for a moment (restarting, or "
                                 f"out of connections); try again in {RETRY_AFTER} s",
                        "field": None}


class AccessLog:
    """The requests the server answers from now on, read from its access log."""

    def __init__(self, site: Site):
        self.path = site.var_dir / "access.log"
        self.start = self.path.stat().st_size

    def answered(self) -> list[tuple[str, int]]:
        """(path, status) of each."""
        with open(self.path, "rb") as f:
            f.seek(self.start)
            text = f.read().decode()
        found = re.findall(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3}) ', text)
        return [(path, int(status)) for path, status in found]


def server_connections(cluster: Cluster) -> int:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "'targetline'").fetchone()[0]


def test_the_first_requests_after_a_restart_are_answered(cluster, site):
    for _ in range(3):
        assert {a.status for a in burst(site)} == {200}
    kept = server_connections(cluster)
    assert kept >= 2  # kept between requests: each dropped by the restart

    cluster.stop()
    cluster.start()

    answers = burst(site) + burst(site)
    assert [(a.surface, a.status) for a in answers if a.status != 200] == []


@dataclass
class Poller:
    """Asks every surface in turn, again and again, noting the outage's phase around each."""

    site: Site
    phase: str = "before"
    answers: list = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stopping.is_set():
            for surface in SURFACES:
                asked = self.phase
                try:
                    answer = ask(self.site, surface)
                except OSError as exc:  # no answer at all: status 0
                    answer = Answer(surface, 0, {}, str(exc).encode())
                answer.phases = (asked, self.phase)
                self.answers.append(answer)
            time.sleep(0.05)

    def during(self, phase: str) -> list[Answer]:
        return [a for a in self.answers if a.phases == (phase, phase)]


class Writers:
    """The SDK script and the MLflow script, each started, and waited for until it has
    logged half its points."""

    def __init__(self, site: Site, spool: Path):
        server = site.server
        env = {**site.env, **FAST, "TARGETLINE_URL": server.url, "TARGETLINE_TOKEN": site.token,
               "TARGETLINE_DIR": str(spool),
               "MLFLOW_TRACKING_URI": server.url, "MLFLOW_TRACKING_TOKEN": site.token}
        self.procs = [
            subprocess.Popen([sys.executable, "-c", code, str(points)], env=env, cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for code, points in ((SDK_SCRIPT, SDK_POINTS), (MLFLOW_SCRIPT, MLFLOW_POINTS))]
        # Each says its run, then "logging" once half its points are logged.
        self.sdk_run, self.mlflow_run = [self._first_lines(proc)[0] for proc in self.procs]

    def _first_lines(self, proc: subprocess.Popen) -> list[str]:
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        if lines[1] != "logging":
            self.kill()
            pytest.fail(f"the script stopped early:\n{proc.stderr.read()[-3000:]}")
        return lines

    def go_on(self) -> None:
        """Log the other half."""
        for proc in self.procs:
            proc.stdin.write("go on\n")
            proc.stdin.flush()

    def finish(self) -> None:
        for proc in self.procs:
            out, err = proc.communicate(timeout=40)
            assert proc.returncode == 0 and out.split()[-1] == "finished", err[-3000:]

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def restart_while_writing(cluster: Cluster, site: Site, writers: Writers) -> Poller:
    """The database stopped for OUTAGE_SECONDS while the writers log their second half and
    the surfaces are asked over and over, until the writers have finished."""
    poller = Poller(site)
    polling = threading.Thread(target=poller.run, daemon=True)
    polling.start()
    try:
        time.sleep(0.3)
        writers.go_on()
        time.sleep(0.1)
        poller.phase = "stopping"
        cluster.stop()
        poller.phase = "down"
        time.sleep(OUTAGE_SECONDS)
        poller.phase = "starting"
        cluster.start()
        poller.phase = "up"
        writers.finish()
        time.sleep(0.5)
    finally:
        poller.stopping.set()
        polling.join(30)
    return poller


def stored_steps(site: Site, writers: Writers, monkeypatch) -> dict[str, list[int]]:
    """The steps stored of each series the writers logged, read back through each API."""
    api = tl.Api(url=site.server.url, token=site.token, timeout=30)
    steps = {"sdk loss": [p["step"] for p in api.history(writers.sdk_run, "loss")]}
    assert api.run(writers.sdk_run)["status"] == "finished"
    api.close()
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", site.token)
    client = mlflow.MlflowClient(tracking_uri=site.server.url)
    for key in ("loss", "acc"):
        steps[f"mlflow {key}"] = [m.step for m in client.get_metric_history(writers.mlflow_run,
                                                                            key)]
    assert client.get_run(writers.mlflow_run).info.status == "FINISHED"
    # The client's kept-alive connection would hold a server thread until the server stops.
    request_utils._cached_get_request_session.cache_clear()
    gc.collect()
    return steps


def test_a_restart_while_the_sdk_and_mlflow_log_loses_nothing_and_answers_503(
        cluster, site, tmp_path, monkeypatch):
    access = AccessLog(site)
    writers = Writers(site, tmp_path / "spool")
    try:
        poller = restart_while_writing(cluster, site, writers)
    finally:
        writers.kill()

    # Every answer was 200 or 503; 503 with Retry-After all through the outage, in each
    # surface's shape; 200 from the moment the database was back.
    assert {a.status for a in poller.answers} <= {200, 503}
    down, up = poller.during("down"), poller.during("up")
    assert {a.surface for a in down} == set(SURFACES)
    for answer in down:
        assert_unavailable(answer)
    assert len(up) >= 3
    assert [a.status for a in poller.during("before") + up if a.status != 200] == []

    # The scripts' own calls met the outage too (the MLflow logging calls take the lane),
    # and nothing was answered 500.
    answered = access.answered()
    assert [(path, status) for path, status in answered if status >= 500 and status != 503] \
        == []
    unavailable = collections.Counter(path.split("?")[0] for path, status in answered
                                      if status == 503)
    assert unavailable["/api/2.0/mlflow/runs/log-metric"] + \
        unavailable["/api/2.0/mlflow/runs/log-batch"] > 0
    assert any(path.startswith("/api/v1/runs/") for path in unavailable)

    # Every point stored, once.
    steps = stored_steps(site, writers, monkeypatch)
    assert {series: sorted(found) for series, found in steps.items()} == {
        "sdk loss": list(range(SDK_POINTS)), "mlflow loss": list(range(MLFLOW_POINTS)),
        "mlflow acc": list(range(MLFLOW_POINTS))}
    print(f"\nPostgreSQL restarted, away {OUTAGE_SECONDS} s: points sent/stored "
          f"SDK {SDK_POINTS}/{len(steps['sdk loss'])}, MLflow {2 * MLFLOW_POINTS}/"
          f"{len(steps['mlflow loss']) + len(steps['mlflow acc'])}; 503 answers "
          f"{sum(unavailable.values())} {dict(unavailable)}; polled {len(down)} times while "
          f"away, {len(up)} after; 500 answers 0")


def test_no_connection_left_answers_503_until_one_frees(cluster, site):
    held = [psycopg.connect(cluster.url(), autocommit=True)]
    try:
        # The server's kept connections go (as an idle timeout or an administrator would end
        # them), so that its next requests need new ones, and every slot is taken.
        held[0].execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = 'targetline'")
        deadline = time.monotonic() + 10
        while server_connections(cluster) and time.monotonic() < deadline:
            time.sleep(0.05)
        while len(held) < cluster.max_connections:
            try:
                held.append(psycopg.connect(cluster.url()))
            except psycopg.OperationalError as exc:
                assert "too many clients" in str(exc)
                break
        for answer in burst(site, per_surface=2):
            assert_unavailable(answer)
    finally:
        for conn in held:
            conn.close()
    assert {a.status for a in burst(site)} == {200}
