"""gunicorn workers killed mid-request under load: no half-written batch visible.

gunicorn runs as scripts/run.sh starts it (its command line is read from the script), on
pytest's PostgreSQL database. Eight clients post log-batch requests to eight runs without
pause; each batch is two series of its own (`loss_<n>`, `acc_<n>`, 2,000 points each) and a
param of its own. A worker is SIGKILLed while requests are in flight, three times; the
master starts new ones. Afterwards every batch is either wholly stored (both series, every
point, its param) or not at all, whatever its client was told.
"""

import os
import re
import signal
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from tests import gunicorn as gunicorn_server
from tests.reports.test_worker import wait_for
from tracker.models import MetricSummary, Run
from tracker.selectors import metrics as metric_selectors
from tracker.services import runs as run_services
from tracker.services import tokens as token_services

POINTS = 2000  # per series; two series a batch
CLIENTS = 8
KILLS = 3

pytestmark = pytest.mark.django_db(transaction=True)


def workers_of(master: int) -> list[int]:
    """The pids whose parent is `master` (gunicorn's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                found.append(int(entry.name))
    return found


@pytest.fixture
def gunicorn(settings, tmp_path):
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://…)")
    url = urlsplit(os.environ["DATABASE_URL"])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "DATABASE_URL": urlunsplit(url._replace(path=f"/{db['NAME']}")),
           "SECRET_KEY": "gunicorn-kill-test", "TARGETLINE_VAR_DIR": str(tmp_path / "var"),
           "PYTHONUNBUFFERED": "1"}
    with (tmp_path / "gunicorn.log").open("wb") as log:
        process, process.base = gunicorn_server.start(env, log, seconds=30)
        try:
            yield process
        finally:
            gunicorn_server.stop(process)


def batch(n: int) -> dict:
    return {"metrics": [{"key": key, "split": "train", "step": step, "value": step / POINTS,
                         "timestamp": 1_700_000_000_000 + step}
                        for key in (f"loss_{n}", f"acc_{n}") for step in range(POINTS)],
            "params": {f"batch_{n}": "sent"}}


def test_a_killed_worker_leaves_every_batch_whole_or_absent(project, owner, gunicorn):
    runs = [run_services.create_run(project=project, user=owner, experiment="load",
                                    name=f"writer-{i}")[0] for i in range(CLIENTS)]
    _, token = token_services.create_token(user=owner, name="load")
    told: dict[int, str] = {}  # batch number -> "stored" or what went wrong
    stop = threading.Event()
    numbers = iter(range(1_000_000))
    lock = threading.Lock()

    def client(run: Run) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while not stop.is_set():
            with lock:
                n = next(numbers)
            try:
                response = session.post(f"{gunicorn.base}/api/v1/runs/{run.id}/log-batch",
                                        json=batch(n), timeout=30)
                told[n] = "stored" if response.status_code == 200 else str(response.status_code)
            except requests.RequestException as exc:
                told[n] = type(exc).__name__
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {token}"

    threads = [threading.Thread(target=client, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    try:
        for _ in range(KILLS):
            time.sleep(1.5)
            victim = workers_of(gunicorn.pid)[0]
            os.kill(victim, signal.SIGKILL)
        sent_before_last_kill = max(told, default=-1)
        wait_for(lambda: any(n > sent_before_last_kill and outcome == "stored"
                             for n, outcome in list(told.items())), 20,
                 "a batch stored after the last kill")
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    cut = sorted(n for n, outcome in told.items() if outcome != "stored")
    assert cut, f"no request was in flight at a kill: {told}"
    stored_by_batch = {}
    for summary in MetricSummary.objects.filter(run__in=runs).select_related("run"):
        n = int(re.sub(r"\D", "", summary.key))
        history = metric_selectors.metric_history(run=summary.run, key=summary.key,
                                                  split=summary.split)
        assert summary.count == len(history), summary.key
        stored_by_batch.setdefault(n, {})[summary.key.split("_")[0]] = len(history)
    params = {key for run in runs for key in Run.objects.get(pk=run.pk).params}
    for n, outcome in told.items():
        whole = {"loss": POINTS, "acc": POINTS}
        found = stored_by_batch.get(n, {})
        assert found in ({}, whole), f"batch {n} ({outcome}) is half-written: {found}"
        assert (f"batch_{n}" in params) == (found == whole), f"batch {n}: param without points"
        if outcome == "stored":
            assert found == whole, f"batch {n} was acknowledged but is not stored"
    assert set(stored_by_batch) <= set(told)
