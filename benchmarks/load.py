"""Load on loopback: many writers at once for a bounded time, then every point counted.

    python -m benchmarks.load [--seconds 60]
                              [--phases sdk-single,sdk-runs-max,sdk-runs,sdk-one-run,mlflow]
                              [--writers 1,32,32,8,8] [--rate 200]

Starts gunicorn as `make run` does (2 gthread workers x 4 threads) on a database of its
own (DATABASE_URL's name + "_load_bench" on PostgreSQL, var/bench-load/ with SQLite), then
runs five phases of `--seconds` each, every writer a process of its own, as the scripts
of several users would be:

- sdk-single: one `targetline` SDK writer logging flat out (as fast as its loop goes while
  at most two batches wait to be sent): the best single-writer rate;
- sdk-runs-max: 32 such writers, each on a run of its own; their aggregate points/s over
  the single writer's is the scaling ratio printed under the table;
- sdk-runs: 32 SDK writers, each on a run of its own, paced at `--rate`;
- sdk-one-run: 8 SDK writers on ONE run, the same five series, each writer its own steps
  (writer i logs steps i, i + 8, i + 16, ...), so their batches meet in the same rows;
- mlflow: 8 mlflow clients, each on a run of its own: log_batch of 100 steps x 5 metrics
  and one log_metric, one after the other as fast as the server answers.

Paced SDK writers log `--rate` steps of 5 metrics a second (the SDK spools and sends in the
background, so a writer that logged faster than the server stores would only grow its
spool), then finish(), which waits until the server has every point. Afterwards the points
are counted in the database, per series and step: lost = sent - stored (distinct series and
step), duplicated = stored - distinct; both must be 0. Request latency is timed at the
client, around each HTTP request the SDK or the mlflow client makes. A writer that has not
exited `--timeout` seconds after its phase ended has hung. While a phase runs, sessions
waiting on a lock are sampled from pg_stat_activity and pg_locks; PostgreSQL's count of
deadlocks and the server's logs are read after it. Prints Markdown; exits 1 if a point was
lost or duplicated, a writer hung or a deadlock happened.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load_writers import (
    FLAT_OUT_UNSENT_BATCHES,
    MLFLOW_STEPS_PER_BATCH,
    mlflow_writer,
    sdk_writer,
)
from benchmarks.sdk import ROOT, LocalServer, _cpu

PHASES = {  # name: (default writers, what they are)
    "sdk-single": (1, "one SDK writer, flat out"),
    "sdk-runs-max": (32, "SDK writers, a run each, flat out"),
    "sdk-runs": (32, "SDK writers, a run each"),
    "sdk-one-run": (8, "SDK writers on one run"),
    "mlflow": (8, "mlflow clients, a run each"),
}
READY_TIMEOUT_S = 180  # for every writer of a phase to start (imports, run created)


# --- One phase -------------------------------------------------------------------------------

@dataclass
class Phase:
    name: str
    writers: int
    seconds: float = 0.0  # from "go" until the last writer exited
    sent: int = 0
    stored: int = 0
    unique: int = 0
    summaries_agree: bool = True
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    client_errors: int = 0
    unsent_writers: int = 0
    hung: int = 0
    failed: int = 0  # writers that exited with an error
    slowest_finish_s: float = 0.0
    lock_waiters: int = 0  # most sessions seen waiting on a lock at once
    longest_lock_wait_s: float = 0.0
    deadlocks: int = 0
    server_errors: int = 0  # 5xx in the access log
    deadlock_lines: int = 0  # "deadlock detected" in the server's logs
    runs: int = 0  # the runs the writers' points went to

    @property
    def expected_runs(self) -> int:
        return 1 if self.name == "sdk-one-run" else self.writers

    @property
    def lost(self) -> int:
        return self.sent - self.unique

    @property
    def duplicated(self) -> int:
        return self.stored - self.unique

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.duplicated == 0 and not self.hung and not self.failed
                and not self.deadlocks and not self.deadlock_lines and self.summaries_agree
                and self.runs == self.expected_runs)


FLAT_OUT = ("sdk-single", "sdk-runs-max")  # phases whose writers log as fast as they can


def _writer_command(kind: str, name: str, args, rate: float, **extra) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.load", "--writer", kind, "--name", name,
               "--seconds", str(args.seconds), "--timeout", str(args.timeout),
               "--rate", str(rate)]
    for option, value in extra.items():
        command += [f"--{option.replace('_', '-')}", str(value)]
    return command


def run_phase(phase: Phase, server: LocalServer, token: str, args, spool: Path) -> None:
    """Start the phase's writers, let them go at once, wait for them, count the points."""
    import targetline as tl

    slug = f"load-{phase.name}"
    tl.Api(url=server.url, token=token).create_project(slug, name=f"Load: {phase.name}",
                                                       create=True)
    env = dict(server.env, TARGETLINE_URL=server.url, TARGETLINE_TOKEN=token,
               MLFLOW_TRACKING_TOKEN=token,
               MLFLOW_HTTP_REQUEST_TIMEOUT=str(math.ceil(args.timeout)),  # whole seconds
               MLFLOW_DISABLE_TELEMETRY="true",  # no request to mlflow's servers
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "sdk")]))
    commands = []
    if phase.name == "mlflow":
        experiment_id = _mlflow_experiment(server.url, token, slug)
        for i in range(phase.writers):
            commands.append(_writer_command("mlflow", f"writer-{i}", args, args.rate,
                                            url=server.url,
                                            experiment_id=experiment_id))
    else:
        one_run = str(uuid.uuid4()) if phase.name == "sdk-one-run" else None
        for i in range(phase.writers):
            extra = {"project": slug}
            if one_run:
                extra.update(run_id=one_run, first_step=i, stride=phase.writers)
            rate = 0 if phase.name in FLAT_OUT else args.rate
            commands.append(_writer_command("sdk", "one run" if one_run else f"writer-{i}",
                                            args, rate, **extra))
    # Each writer's result and messages go to files: a pipe left unread while the others
    # are waited for could fill up and stall a writer that is not hung at all.
    folder = spool / phase.name
    processes, results, messages = [], [], []
    for i, command in enumerate(commands):
        (folder / str(i)).mkdir(parents=True)
        results.append(folder / f"{i}.json")
        messages.append(folder / f"{i}.err")
        with messages[-1].open("w") as stderr:
            processes.append(subprocess.Popen(
                [*command, "--result", str(results[-1])], cwd=ROOT, text=True,
                env=dict(env, TARGETLINE_DIR=str(folder / str(i))),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr))
    ready_by = time.monotonic() + READY_TIMEOUT_S
    for process, stderr in zip(processes, messages, strict=True):
        waiting = max(0.0, ready_by - time.monotonic())
        line = (process.stdout.readline().strip()
                if select.select([process.stdout], [], [], waiting)[0] else "")
        if line != "ready":
            for other in processes:
                other.kill()
                other.wait()
            raise RuntimeError(f"a writer of {phase.name} did not start within "
                               f"{READY_TIMEOUT_S} s:\n{stderr.read_text()[-2000:]}")
    deadlocks_before = _deadlocks(server)
    access_before = _log_size(server, "access.log")
    output_before = _log_size(server, "output.log")
    monitor = LockMonitor(server)
    monitor.start()
    started = time.monotonic()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    deadline = started + args.seconds + args.timeout
    outputs = []
    for process, result, stderr in zip(processes, results, messages, strict=True):
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            phase.hung += 1
            process.kill()
            process.wait()
            continue
        if process.returncode != 0:
            phase.failed += 1
            print(f"a writer of {phase.name} failed:\n{stderr.read_text()[-3000:]}",
                  file=sys.stderr)
            continue
        outputs.append(json.loads(result.read_text()))
    phase.seconds = time.monotonic() - started
    for process in processes:
        process.stdin.close()
        process.stdout.close()
    monitor.stop()
    phase.lock_waiters, phase.longest_lock_wait_s = monitor.waiters, monitor.longest_s
    for result in outputs:
        phase.sent += result["sent"]
        phase.latencies += result["latencies"]
        phase.statuses.update(result["statuses"])
        phase.client_errors += result["errors"]
        phase.unsent_writers += bool(result["unsent"])
        phase.slowest_finish_s = max(phase.slowest_finish_s, result["finish_s"])
    phase.stored, phase.unique, phase.summaries_agree = count_points(slug)
    phase.runs = _runs(slug)
    phase.deadlocks = _deadlocks(server) - deadlocks_before
    access = _log_since(server, "access.log", access_before)
    phase.server_errors = len(re.findall(r'" 5\d\d ', access))
    output = _log_since(server, "output.log", output_before)
    phase.deadlock_lines = output.lower().count("deadlock detected")


def _mlflow_experiment(url: str, token: str, slug: str) -> str:
    """An MLflow experiment in the phase's project (named by its `targetline.project` tag,
    docs/mlflow.md)."""
    from mlflow import MlflowClient

    os.environ.update(MLFLOW_TRACKING_TOKEN=token, MLFLOW_DISABLE_TELEMETRY="true")
    return MlflowClient(url).create_experiment(f"load-{uuid.uuid4().hex[:8]}",
                                               tags={"targetline.project": slug})


def count_points(slug: str) -> tuple[int, int, bool]:
    """(points stored, distinct (series, step) among them, whether every series' summary
    counts what its blocks hold) over the project's runs, read from the database."""
    from django.db.models import Sum

    from tracker.models import MetricSummary, PointBlock
    from tracker.points import unpack

    stored = unique = 0
    agree = True
    summaries = MetricSummary.objects.filter(run__project__slug=slug)
    for summary in summaries:
        steps: Counter = Counter()
        for data in PointBlock.objects.filter(summary=summary).values_list("data", flat=True):
            steps.update(unpack(bytes(data))[0])
        stored += sum(steps.values())
        unique += len(steps)
        blocks = PointBlock.objects.filter(summary=summary).aggregate(n=Sum("count"))["n"]
        agree = agree and summary.count == sum(steps.values()) == (blocks or 0)
    return stored, unique, agree


def _runs(slug: str) -> int:
    from tracker.models import Run

    return Run.objects.filter(project__slug=slug).count()


# --- What the database and the server say ----------------------------------------------------

class LockMonitor(threading.Thread):
    """Samples, four times a second, the sessions of the benchmark's database that wait on a
    lock (pg_stat_activity) or hold a lock request not granted (pg_locks)."""

    QUERY = """
        SELECT count(*), coalesce(max(extract(epoch FROM now() - a.state_change)), 0)
        FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND (a.wait_event_type = 'Lock' OR a.pid IN (
               SELECT l.pid FROM pg_locks l WHERE NOT l.granted))
    """

    def __init__(self, server: LocalServer):
        super().__init__(daemon=True)
        self.url = server.env.get("DATABASE_URL") if server.database == "PostgreSQL" else None
        self.waiters = 0
        self.longest_s = 0.0
        self._stopping = threading.Event()

    def run(self) -> None:
        if not self.url:
            return
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stopping.wait(0.25):
                waiting, longest = conn.execute(self.QUERY).fetchone()
                self.waiters = max(self.waiters, waiting)
                self.longest_s = max(self.longest_s, float(longest))

    def stop(self) -> None:
        self._stopping.set()
        self.join(10)


def _deadlocks(server: LocalServer) -> int:
    """PostgreSQL's count of deadlocks detected in the benchmark's database (0 on SQLite)."""
    if server.database != "PostgreSQL":
        return 0
    import psycopg

    with psycopg.connect(server.env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute("SELECT deadlocks FROM pg_stat_database "
                            "WHERE datname = current_database()").fetchone()[0]


def _log_size(server: LocalServer, name: str) -> int:
    path = server.logs / name
    return path.stat().st_size if path.exists() else 0


def _log_since(server: LocalServer, name: str, offset: int) -> str:
    path = server.logs / name
    if not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


# --- Report ----------------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _ms(values: list[float], q: float) -> str:
    return f"{_percentile(values, q) * 1000:.0f} ms" if values else "—"


def _scaling(phases: list[Phase]) -> str:
    """The flat-out writers' aggregate rate over the single writer's, as a sentence."""
    rates = {p.name: p.unique / p.seconds for p in phases if p.name in FLAT_OUT and p.seconds}
    if len(rates) < 2 or not rates["sdk-single"]:
        return ""
    many = next(p.writers for p in phases if p.name == "sdk-runs-max")
    return (f"Scaling: {many} writers flat out stored {rates['sdk-runs-max']:,.0f} points/s, "
            f"one writer flat out {rates['sdk-single']:,.0f}: "
            f"**{rates['sdk-runs-max'] / rates['sdk-single'] * 100:.0f} %** of the "
            "single-writer rate.")


def report(phases: list[Phase], args, database: str) -> str:
    lines = [
        "## Load: concurrent writers on loopback",
        "",
        f"Python {sys.version.split()[0]} on {_cpu()}; server: gunicorn (2 workers × 4 "
        f"threads) on {database}, writers on the same machine, each a process of its own, "
        f"for {args.seconds:g} s a phase; paced SDK writers log {args.rate:g} steps of 5 "
        "metrics a second, flat-out ones as fast as their loop goes while at most "
        f"{FLAT_OUT_UNSENT_BATCHES} batches wait to be sent, mlflow clients call log_batch "
        f"({MLFLOW_STEPS_PER_BATCH} steps × 4 metrics) and log_metric in turn as fast as "
        "the server answers.",
        "",
        "| phase | writers | points sent | stored | lost | duplicated | points/s "
        "| requests | p50 | p99 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in phases:
        lines.append(
            f"| {PHASES[p.name][1]} | {p.writers} | {p.sent:,} | {p.stored:,} | "
            f"**{p.lost:,}** | **{p.duplicated:,}** | {p.unique / p.seconds:,.0f} | "
            f"{len(p.latencies):,} | {_ms(p.latencies, 0.5)} | {_ms(p.latencies, 0.99)} |")
    scaling = _scaling(phases)
    if scaling:
        lines += ["", scaling]
    lines += [
        "",
        "| phase | hung writers | slowest finish() | answers other than 2xx | client errors "
        "| 5xx in the server's log | most lock waiters | longest lock wait | deadlocks |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in phases:
        others = {status: n for status, n in p.statuses.items() if not status.startswith("2")}
        shown = ", ".join(f"{n} × {status}" for status, n in sorted(others.items())) or "none"
        lock = (f"{p.lock_waiters} | {p.longest_lock_wait_s * 1000:.0f} ms"
                if database == "PostgreSQL" else "— | —")
        lines.append(
            f"| {PHASES[p.name][1]} | {p.hung + p.failed} | {p.slowest_finish_s:.1f} s | "
            f"{shown} | {p.client_errors} | {p.server_errors} | {lock} | "
            f"{p.deadlocks + p.deadlock_lines} |")
    lines += [
        "",
        "Sent: points the writers logged (the SDK) or sent in calls (mlflow). Stored: points "
        "in the database afterwards; lost = sent − distinct (series, step) stored, duplicated "
        "= stored − distinct. Points/s: distinct points stored over the phase's time, from "
        "the start until the last writer had finished (the SDK's finish() waits until the "
        "server has everything). Latency: every HTTP request of the writers, timed at the "
        "client; client errors are calls the mlflow client gave up on (the SDK retries until "
        "the server has each batch). Deadlocks: PostgreSQL's count for the database plus "
        "\"deadlock detected\" in the server's logs.",
    ]
    hung = [f"{p.name} ({p.hung + p.failed})" for p in phases if p.hung or p.failed]
    if hung:
        lines += ["", f"Writers that hung or failed, whose points sent are not counted: "
                      f"{', '.join(hung)}."]
    unsent = [p.name for p in phases if p.unsent_writers]
    if unsent:
        lines += ["", f"Writers with points still spooled after finish(): {', '.join(unsent)}."]
    strays = [f"{p.name} ({p.runs} runs, not {p.expected_runs})" for p in phases
              if p.runs != p.expected_runs]
    if strays:
        lines += ["", f"Points went to other runs than the writers': {', '.join(strays)}."]
    broken = [p.name for p in phases if not p.summaries_agree]
    if broken:
        lines += ["", f"Series whose summary count differs from their points: "
                      f"{', '.join(broken)}."]
    return "\n".join(lines)


# --- Main ------------------------------------------------------------------------------------

def _writers(value: str, phases: list[str]) -> dict[str, int]:
    """--writers: one number for every phase, or one per phase in order (1,32,32,8,8)."""
    numbers = [int(n) for n in value.split(",") if n]
    if len(numbers) == 1:
        return dict.fromkeys(phases, numbers[0])
    if len(numbers) != len(phases) or min(numbers) < 1:
        raise ValueError(f"--writers takes one number or {len(phases)} (one per phase)")
    return dict(zip(phases, numbers, strict=True))


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="each phase (default 60)")
    parser.add_argument("--phases", default=",".join(PHASES),
                        help=f"comma-separated, of {', '.join(PHASES)} (default: all)")
    parser.add_argument("--writers", default=None,
                        help="writers per phase: one number for all, or one per phase "
                             "(default 1,32,32,8,8)")
    parser.add_argument("--rate", type=float, default=200,
                        help="steps of 5 metrics a paced SDK writer logs a second "
                             "(default 200; the flat-out phases ignore it)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds after its phase by which a writer must have exited "
                             "(default 60)")
    parser.add_argument("--writer", choices=("sdk", "mlflow"), help=argparse.SUPPRESS)
    for hidden in ("--name", "--project", "--run-id", "--url", "--experiment-id", "--result"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--first-step", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--stride", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.writer:  # a writer process
        result = (sdk_writer if args.writer == "sdk" else mlflow_writer)(args)
        Path(args.result).write_text(json.dumps(result))
        return 0

    names = [p for p in args.phases.split(",") if p]
    unknown = set(names) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase {sorted(unknown)[0]!r}: choose from {', '.join(PHASES)}")
    try:
        counts = (_writers(args.writers, names) if args.writers
                  else {n: PHASES[n][0] for n in names})
    except ValueError as exc:
        parser.error(str(exc))
    sys.path.insert(0, str(ROOT / "sdk"))
    with tempfile.TemporaryDirectory(prefix="tl-load-bench-") as tmp:
        server = LocalServer("load_bench", logs=Path(tmp) / "logs")
        phases = [Phase(name, counts[name]) for name in names]
        try:
            token = server.start()
            # The counts are read through the domain's own reader of stored points.
            for variable in ("DATABASE_URL", "TARGETLINE_VAR_DIR"):
                if variable in server.env:
                    os.environ[variable] = server.env[variable]
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
            import django

            django.setup()
            for phase in phases:
                run_phase(phase, server, token, args, Path(tmp) / "spool")
        finally:
            from django.db import connections

            connections.close_all()
            server.stop()
    print(report(phases, args, server.database))
    print(json.dumps([{"phase": p.name, "writers": p.writers, "sent": p.sent,
                       "stored": p.stored, "lost": p.lost, "duplicated": p.duplicated,
                       "points_per_s": p.unique / p.seconds,
                       "p50_ms": _percentile(p.latencies, 0.5) * 1000,
                       "p99_ms": _percentile(p.latencies, 0.99) * 1000, "hung": p.hung,
                       "deadlocks": p.deadlocks + p.deadlock_lines} for p in phases]),
          file=sys.stderr)
    failed = [p.name for p in phases if not p.ok]
    if failed:
        print(f"\nFAILED: {', '.join(failed)} lost or duplicated points, hung, or deadlocked.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
