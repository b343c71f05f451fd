"""Benchmarks of the `targetline` client against a real local server; prints Markdown.

    python benchmarks/sdk.py            (or: python -m benchmarks.sdk; `make bench` runs it)

Starts gunicorn on a free port with a database of its own (the DATABASE_URL
database name + "_sdk_bench" on PostgreSQL, var/bench-sdk/ with SQLite
otherwise), or uses a running server with --url and --token. Measures:

1. the cost of `run.log()` with 5 metrics, call by call, while the client's
   sending thread runs (the goal is a median under 20 µs);
2. end-to-end throughput: points logged as fast as a loop can, until the server
   has acknowledged every one of them (`finish()` returns);
3. catching up after an outage: points spooled while the server was away, sent
   by `targetline sync`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks import scratch_databases

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
METRICS = ("loss", "accuracy", "f1", "precision", "recall")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """gunicorn as `make run` starts it, on a benchmark database of its own.

    `name` names its database (DATABASE_URL's name + "_" + name; var/bench-<name>/ with
    SQLite). With `logs`, the server's logs go to that folder: gunicorn's access.log and
    error.log, and output.log with what Django writes on stderr (errors, tracebacks).
    """

    def __init__(self, name: str = "sdk_bench", logs: Path | None = None) -> None:
        self.env = dict(os.environ, CELERY_TASK_ALWAYS_EAGER="true", PYTHONUNBUFFERED="1",
                        DJANGO_SETTINGS_MODULE="config.settings")
        for variable in ("TARGETLINE_URL", "TARGETLINE_TOKEN", "TARGETLINE_DIR"):
            self.env.pop(variable, None)
        self.logs = logs
        url = scratch_databases.scratch_url(name, self.env.get("DATABASE_URL", ""))
        if url:
            self.env["DATABASE_URL"] = scratch_databases.recreate(url)
            self.database = "PostgreSQL"
        else:
            var = ROOT / "var" / f"bench-{name.removesuffix('_bench').replace('_', '-')}"
            shutil.rmtree(var, ignore_errors=True)
            var.mkdir(parents=True)
            self.env["TARGETLINE_VAR_DIR"] = str(var)
            self.env.pop("DATABASE_URL", None)
            self.database = "SQLite"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None


    def _manage(self, *args: str) -> str:
        return subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT,
                              env=self.env, check=True, capture_output=True, text=True).stdout

    def start(self) -> str:
        """Migrate, start, wait until it answers; returns a token."""
        self._manage("quickstart", "--no-admin")
        token = self._manage("createtoken", "bench").strip().splitlines()[-1]
        logging, output = ["--log-level", "warning"], subprocess.DEVNULL
        if self.logs is not None:  # gunicorn's own logs, and what Django logs on stderr
            self.logs.mkdir(parents=True, exist_ok=True)
            logging = ["--access-logfile", str(self.logs / "access.log"),
                       "--error-logfile", str(self.logs / "error.log")]
            output = (self.logs / "output.log").open("ab")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", "2", "--worker-class", "gthread",
             "--threads", "4", "--no-control-socket", *logging],
            cwd=ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True)
        if output is not subprocess.DEVNULL:
            output.close()  # the server has its own copy
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/v1/", timeout=2).read()
                return token
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the benchmark server did not answer within 60 s")

    def stop(self) -> None:
        """Stop the server and delete its database."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        if self.database == "PostgreSQL":
            scratch_databases.drop(self.env["DATABASE_URL"])
        else:
            shutil.rmtree(self.env["TARGETLINE_VAR_DIR"], ignore_errors=True)


def bench_log_call(tl, project: str, calls: int) -> dict:
    """The time of each run.log() call with 5 metrics, the sending thread running."""
    run = tl.init(project=project, experiment="bench-log-call")
    clock = time.perf_counter_ns
    values = dict.fromkeys(METRICS, 0.5)
    durations = []
    for step in range(calls):
        values["loss"] = 1.0 / (step + 1)
        started = clock()
        run.log(values)
        durations.append(clock() - started)
    overhead = min(_timer_overhead(clock) for _ in range(5))
    run.finish()
    durations.sort()
    return {
        "calls": calls,
        "median_us": (durations[len(durations) // 2] - overhead) / 1000,
        "p99_us": (durations[int(len(durations) * 0.99)] - overhead) / 1000,
        "p999_us": (durations[int(len(durations) * 0.999)] - overhead) / 1000,
        "max_ms": durations[-1] / 1e6,
    }


def _timer_overhead(clock) -> int:
    samples = []
    for _ in range(10_000):
        started = clock()
        samples.append(clock() - started)
    return int(statistics.median(samples))


def bench_end_to_end(tl, project: str, points: int) -> dict:
    """Points logged in a tight loop until the server has every one (finish() returned)."""
    run = tl.init(project=project, experiment="bench-end-to-end")
    calls = points // len(METRICS)
    values = dict.fromkeys(METRICS, 0.5)
    started = time.perf_counter()
    for step in range(calls):
        values["loss"] = 1.0 / (step + 1)
        run.log(values)
    logged = time.perf_counter() - started
    run.finish(timeout=600)
    total = time.perf_counter() - started
    left = run.dir.exists()
    return {"points": calls * len(METRICS), "log_seconds": logged, "total_seconds": total,
            "log_rate": calls * len(METRICS) / logged,
            "end_to_end_rate": calls * len(METRICS) / total, "complete": not left}


def bench_catch_up(tl, project: str, points: int, url: str, token: str, spool: str) -> dict:
    """Points spooled while the server was unreachable, then sent by `targetline sync`."""
    dead = f"http://127.0.0.1:{_free_port()}"
    run = tl.init(project=project, experiment="bench-catch-up", url=dead, token=token)
    values = dict.fromkeys(METRICS, 0.5)
    for step in range(points // len(METRICS)):
        values["loss"] = 1.0 / (step + 1)
        run.log(values)
    run.finish(timeout=0)
    spooled = sum(f.stat().st_size for f in Path(spool).rglob("*.jsonl*"))
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "targetline"), "sync", "--url", url],
                          env=dict(os.environ, TARGETLINE_TOKEN=token, TARGETLINE_DIR=spool),
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"targetline sync failed:\n{done.stderr}")
    return {"points": points, "seconds": seconds, "rate": points / seconds,
            "spool_bytes": spooled}


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="benchmark this running server instead of starting one")
    parser.add_argument("--token", help="a token for --url")
    parser.add_argument("--calls", type=int, default=200_000,
                        help="run.log() calls to time (default 200,000)")
    parser.add_argument("--points", type=int, default=500_000,
                        help="points for the end-to-end and catch-up runs (default 500,000)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "sdk"))
    import targetline as tl

    server = None
    if args.url:
        if not args.token:
            parser.error("--url needs --token")
        url, token, database = args.url.rstrip("/"), args.token, "the server at --url"
    else:
        server = LocalServer()
        token = server.start()
        url, database = server.url, server.database
    spool = tempfile.mkdtemp(prefix="targetline-bench-")
    saved = {k: os.environ.get(k) for k in ("TARGETLINE_URL", "TARGETLINE_TOKEN",
                                            "TARGETLINE_DIR")}
    os.environ.update(TARGETLINE_URL=url, TARGETLINE_TOKEN=token, TARGETLINE_DIR=spool)
    project = f"sdk-bench-{int(time.time())}"
    try:
        tl.Api().create_project(project, name="SDK benchmark", create=True)
        log_call = bench_log_call(tl, project, args.calls)
        e2e = bench_end_to_end(tl, project, args.points)
        catch_up = bench_catch_up(tl, project, args.points, url, token, spool)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if server is not None:
            server.stop()
        shutil.rmtree(spool, ignore_errors=True)

    cpu = _cpu()
    print("## targetline SDK\n")
    print(f"Python {platform.python_version()} on {cpu}; server: gunicorn (2 workers × 4 "
          f"threads) on {database}, same machine, over HTTP. Points are sent gzip-compressed "
          "in batches of up to 10,000.\n")
    print("| measure | result |")
    print("| --- | --- |")
    print(f"| `run.log()` with 5 metrics, median ({log_call['calls']:,} calls) | "
          f"**{log_call['median_us']:.1f} µs** (goal: under 20 µs) |")
    print(f"| `run.log()` p99 / p99.9 / max | {log_call['p99_us']:.1f} µs / "
          f"{log_call['p999_us']:.0f} µs / {log_call['max_ms']:.1f} ms |")
    print(f"| logging rate of a tight loop (5 metrics a call) | "
          f"{e2e['log_rate']:,.0f} points/s |")
    print(f"| end to end: {e2e['points']:,} points logged until the server has them all | "
          f"**{e2e['end_to_end_rate']:,.0f} points/s** ({e2e['total_seconds']:.1f} s"
          f"{'' if e2e['complete'] else ', NOT all sent'}) |")
    print(f"| catching up: {catch_up['points']:,} points spooled during an outage, sent by "
          f"`targetline sync` | {catch_up['rate']:,.0f} points/s ({catch_up['seconds']:.1f} s; "
          f"spool {catch_up['spool_bytes'] / 1e6:.1f} MB) |")
    print()
    print("The median is what the training loop pays: checking the input and one write of a "
          "line to the spool file. The tail is sharing: the interpreter lock with the sending "
          "thread (Python switches threads every 5 ms) and the cores with the server. "
          "End-to-end and catch-up rates are bounded by the server's ingest, which takes one "
          "batch of a run at a time.")
    print()
    print(json.dumps({"log_call": log_call, "end_to_end": e2e, "catch_up": catch_up},
                     default=float), file=sys.stderr)
    return 0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.machine()} ({os.cpu_count()} cores)"


if __name__ == "__main__":
    sys.exit(main())
