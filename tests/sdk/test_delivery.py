"""Delivery that never stalls and never loses: outages, faults, lost answers, the spool."""

from __future__ import annotations

import threading
import time
import tracemalloc

import targetline as tl
from targetline import _spool

from tests.sdk.conftest import run_cli, series
from tests.sdk.live import FaultProxy, free_port

KEYS = ("loss", "accuracy", "f1", "precision", "recall")


def log_steps(run, steps, durations=None, pace=0.0, on_step=None):
    for step in steps:
        if on_step:
            on_step(step)
        values = {key: step + i / 10 for i, key in enumerate(KEYS)}
        started = time.perf_counter()
        run.log(values, step=step)
        if durations is not None:
            durations.append(time.perf_counter() - started)
        if pace:
            time.sleep(pace)


def assert_exactly_once(api, run_id, steps):
    for i, key in enumerate(KEYS):
        assert series(api, run_id, key) == [(s, s + i / 10) for s in steps], key
    metrics = {m["key"]: m["count"] for m in api.run(run_id)["metrics"]}
    assert metrics == dict.fromkeys(KEYS, len(steps))


def test_the_server_stops_mid_run_and_comes_back(sdk_env, own_server, api, slug, capsys,
                                                 monkeypatch):
    monkeypatch.setenv("TARGETLINE_URL", own_server.url)
    run = tl.init(project=slug, experiment="outage")
    durations: list = []
    stopping = threading.Thread(target=own_server.stop)

    def restart():
        stopping.join()
        own_server.start()

    def outage(step):
        if step == 300:
            stopping.start()
        if step == 1100:
            threading.Thread(target=restart).start()

    # ~4 s of training; the server is away for about 2 of them (plus its restart).
    log_steps(run, range(2000), durations, pace=0.002, on_step=outage)
    run.finish(timeout=60)
    steps = list(range(2000))
    assert_exactly_once(api, run.id, steps)
    assert api.run(run.id)["status"] == "finished"
    # The loop never waited for the network: the slowest log() is a write to a file.
    durations.sort()
    assert durations[-1] < 0.25, durations[-5:]
    err = capsys.readouterr().err
    assert "keeps logging to" in err and "answers again" in err
    assert f"all {2000 * len(KEYS):,} points sent" in err
    assert not run.dir.exists()  # sent, so deleted


def test_a_run_starts_while_the_server_is_down(sdk_env, live, spool_dir, monkeypatch,
                                               capsys):
    port = free_port()
    monkeypatch.setenv("TARGETLINE_URL", f"http://127.0.0.1:{port}")
    run = tl.init(project="offline-start", experiment="offline", name="offline-1",
                  params={"lr": 0.1}, tags={"stage": "dev"}, baseline=True)
    assert "starts offline" in capsys.readouterr().err
    log_steps(run, range(100))
    run.log({"f1": 0.9}, split="test")
    profile = run.log_profile({"ink": [1.0, 2.0, 3.0], "centre": ["leeds", "york", "york"]})
    # The server comes up on the address the run was given.
    server = live.server("late")
    server.port, server.url = port, f"http://127.0.0.1:{port}"
    server.start()
    try:
        run.finish(timeout=30)
        api = tl.Api(url=server.url, token=live.tokens["ada"])
        stored = api.run(run.id)  # the id chosen by the client
        assert stored["name"] == "offline-1" and stored["baseline"] is True
        assert stored["params"] == {"lr": 0.1} and stored["tags"] == {"stage": "dev"}
        assert stored["status"] == "finished"
        assert_exactly_once(api, run.id, list(range(100)))
        # logged without a step after training: at the run's last step
        assert series(api, run.id, "f1", "test") == [(99, 0.9)]
        assert api.run_profile(run.id)["profile"] == profile  # spooled like the points
        err = capsys.readouterr().err
        assert "created project 'offline-start'" in err
    finally:
        server.stop()


def test_thirty_percent_of_requests_fail_and_every_point_arrives_once(sdk_env, server, api,
                                                                      slug, monkeypatch):
    # 3 requests in 10 fail: answered 500, reset, or stored but the answer lost.
    proxy = FaultProxy(server.port, pattern=(None, "500", None, None, "reset", None, None,
                                             "lost", None, None))
    monkeypatch.setenv("TARGETLINE_URL", proxy.url)
    monkeypatch.setenv("TARGETLINE_FLUSH_INTERVAL", "0.02")
    try:
        api.create_project(slug)  # directly: the run's own create may meet a fault too
        run = tl.init(project=slug, experiment="flaky")
        log_steps(run, range(2500), pace=0.001)
        run.log_params({"seed": 3})
        run.set_tags({"stage": "flaky"})
        run.finish(timeout=60)
    finally:
        proxy.close()
    assert proxy.counts["matching"] >= 10, proxy.counts
    assert all(proxy.counts.get(kind) for kind in ("500", "reset", "lost")), proxy.counts
    assert_exactly_once(api, run.id, list(range(2500)))
    stored = api.run(run.id)
    assert stored["params"] == {"seed": 3} and stored["tags"] == {"stage": "flaky"}
    assert stored["status"] == "finished"


def test_a_lost_answer_does_not_duplicate_points(sdk_env, server, api, slug, monkeypatch):
    # The first log-batch reaches the server, which stores it; the client never hears back.
    proxy = FaultProxy(server.port, faults=("stall",), only="/log-batch", first_n=1,
                       stall_seconds=3)
    monkeypatch.setenv("TARGETLINE_URL", proxy.url)
    monkeypatch.setenv("TARGETLINE_REQUEST_TIMEOUT", "1")
    try:
        run = tl.init(project=slug, experiment="lost-answer")
        log_steps(run, range(50))
        run.finish(timeout=30)
    finally:
        proxy.close()
    (fault, path, status, body), = proxy.forwarded_answers
    assert fault == "stall" and status == 200 and b'"points_stored":' in body
    assert b'"points_stored":0' not in body  # the server did store the first attempt
    assert_exactly_once(api, run.id, list(range(50)))


def test_what_finish_cannot_send_waits_for_targetline_sync(sdk_env, own_server, api, slug,
                                                          spool_dir, monkeypatch, capsys):
    monkeypatch.setenv("TARGETLINE_URL", own_server.url)
    run = tl.init(project=slug, experiment="sync-later")
    log_steps(run, range(100))
    own_server.stop()
    log_steps(run, range(100, 300))
    started = time.monotonic()
    run.finish(timeout=1)
    assert time.monotonic() - started < 5
    line = [x for x in capsys.readouterr().err.splitlines() if "still spooled" in x][0]
    assert "targetline sync" in line and str(run.dir) in line
    env = {"TARGETLINE_DIR": str(spool_dir), "TARGETLINE_TOKEN": sdk_env["TARGETLINE_TOKEN"]}

    status = run_cli("status", env=env)
    assert status.returncode == 0
    assert run.id in status.stdout and "waiting for `targetline sync`" in status.stdout
    assert "1 run, " in status.stdout and "points waiting" in status.stdout

    down = run_cli("sync", "--retries", "2", env=env)
    assert down.returncode == 1 and "try `targetline sync` again" in down.stderr
    own_server.start()
    synced = run_cli("sync", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "everything spooled" in synced.stdout
    assert run_cli("status", env=env).stdout.startswith("Nothing spooled")
    again = run_cli("sync", env=env)  # safe to run twice
    assert again.returncode == 0 and "Nothing spooled" in again.stdout
    assert_exactly_once(api, run.id, list(range(300)))
    stored = api.run(run.id)
    assert stored["status"] == "finished"
    # The end time is when finish() was called, not when sync sent it.
    assert stored["ended_at"] < stored["last_heartbeat"]


def test_sync_leaves_a_live_run_to_its_own_process(sdk_env, own_server, api, slug, spool_dir,
                                                  monkeypatch):
    monkeypatch.setenv("TARGETLINE_URL", own_server.url)
    run = tl.init(project=slug, experiment="live-and-sync")
    own_server.stop()
    log_steps(run, range(200))
    time.sleep(0.3)
    env = {"TARGETLINE_DIR": str(spool_dir), "TARGETLINE_TOKEN": sdk_env["TARGETLINE_TOKEN"]}
    status = run_cli("status", env=env)
    assert "live: process" in status.stdout
    own_server.start()
    synced = run_cli("sync", env=env)
    assert synced.returncode == 0
    assert "left alone, another process is sending it" in synced.stdout
    log_steps(run, range(200, 400))
    run.finish(timeout=30)
    assert_exactly_once(api, run.id, list(range(400)))


def test_memory_stays_flat_during_an_outage(sdk_env, spool_dir, monkeypatch):
    monkeypatch.setenv("TARGETLINE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("TARGETLINE_BACKOFF_MAX", "30")
    run = tl.init(project="memory", experiment="outage")
    log_steps(run, range(500))  # warm up: series known, first batches written
    tracemalloc.start()
    try:
        log_steps(run, range(500, 15_500))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 75,000 points logged during the outage, 5 MB and more if they were held in memory:
    # they went to disk as they were logged.
    assert peak < 1_000_000, peak
    run.finish(timeout=0)
    points = sum(_spool.count_points(path) for _, path in _spool.pending(run.dir))
    assert points == 15_500 * len(KEYS)
