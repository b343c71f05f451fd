"""The same mlflow-client workload against Targetline and against `mlflow server`.

    python -m benchmarks.mlflow [--mlflow PATH/TO/mlflow] [--quick] [--only ingest,runs]

Targetline runs as `scripts/run.sh` runs it (gunicorn, 2 gthread workers x 4
threads) on a fresh database; `mlflow server` runs with its defaults on a fresh
PostgreSQL database of its own, when a full mlflow (with its server) is
installed: by default the `mlflow` next to /tmp/mlflow-server-venv/bin/python
(`python3 -m venv /tmp/mlflow-server-venv && /tmp/mlflow-server-venv/bin/pip
install mlflow psycopg2-binary`: never into the project's .venv, whose
mlflow-skinny is the client under test). A stub server that answers every
request at once with canned JSON, in a process of its own, measures the
client's own limit. All of them run at the same time and each workload runs
against each in turn, `--repeat` times in alternating order; the best figure of
each is kept (on a machine shared with other work, all then meet the same load,
and the best try is the least disturbed). Each workload runs in a fresh client
process.

Workload (the issue's): 20 runs x 1,000 steps x 5 metrics through log_batch
(1,000 metrics a request); get_metric_history of one 100,000-point series;
the creation of 1,000 runs (create_run, log_batch, get_run, set_terminated)
and search_runs over them (100 results, a filter and a metric order); and the
latency of one small request on a kept-alive connection (Nagle's algorithm
against delayed ACKs shows up there as ~40 ms). The ingest workload also runs
paired: one client process sends each batch to Targetline and to the stub in turn,
so that a machine whose speed varies from minute to minute weighs on both alike
(an even number of tries, each server listed first in half of them; each with
batches of its own: paired_ingest). Prints Markdown.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks import scratch_databases
from benchmarks.mlflow_workload import (
    PHASE_TIMEOUT_S,
    PHASES,
    paired_creation,
    paired_ingest,
    paired_orders,
    workload,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MLFLOW = Path("/tmp/mlflow-server-venv/bin/mlflow")
SIZES = {"runs": 20, "steps": 1000, "metrics": 5, "history": 100_000, "search_runs": 1000,
         "creations": 500}
QUICK = {"runs": 4, "steps": 500, "metrics": 5, "history": 30_000, "search_runs": 100,
         "creations": 100}
PAIRED = ("ingest", "creation")  # the workloads that also run paired


def _run_paired(servers: dict, sizes: dict, token: str | None,
                kind: str = "ingest") -> dict[str, float]:
    """paired_ingest (or paired_creation) in a fresh client process; {} when it fails."""
    env = {**os.environ, "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}
    env.pop("MLFLOW_TRACKING_URI", None)
    if token:  # the stub and mlflow server take no token and ignore it
        env["MLFLOW_TRACKING_TOKEN"] = token
    urls = json.dumps({name: server.url for name, server in servers.items()})
    try:
        out = subprocess.run([sys.executable, "-m", "benchmarks.mlflow", "--paired", urls,
                              "--paired-kind", kind, "--sizes", json.dumps(sizes)],
                             cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True, timeout=PHASE_TIMEOUT_S)
    except (subprocess.TimeoutExpired, subprocess.CalledProcessError) as exc:
        print(f"the paired {kind} failed, it is left out:\n{getattr(exc, 'stderr', '')}",
              file=sys.stderr)
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- A stub server that answers instantly: the client's own limit --------------------------

def _stub_answers(sizes: dict) -> dict[str, bytes]:
    """The stub's canned answers, by the route of the MLflow call (others answer {})."""
    run = json.dumps({
        "info": {"run_id": "0123456789abcdef0123456789abcdef", "experiment_id": "1",
                 "run_name": "stub", "status": "RUNNING", "start_time": 1700000000000,
                 "lifecycle_stage": "active", "artifact_uri": "mlflow-artifacts:/1/x/artifacts"},
        "data": {"metrics": [{"key": "val_f1", "value": 0.5, "timestamp": 1, "step": 0},
                             {"key": "train_loss", "value": 0.5, "timestamp": 1, "step": 0}],
                 "params": [{"key": "model", "value": "svm"}, {"key": "C", "value": "1"}],
                 "tags": [{"key": "mlflow.runName", "value": "stub"}]}})
    found = min(100, sizes["search_runs"] * 4 // 10)
    return {
        "experiments/create": b'{"experiment_id":"1"}',
        "experiments/get": b'{"experiment":{"experiment_id":"1","name":"stub",'
                           b'"lifecycle_stage":"active"}}',
        "runs/create": f'{{"run":{run}}}'.encode(),
        "runs/get": f'{{"run":{run}}}'.encode(),
        "runs/search": f'{{"runs":[{",".join([run] * found)}]}}'.encode(),
    }


def serve_stub(sizes: dict) -> None:
    """Answer the workload's requests at once with canned JSON; prints the port, then serves.

    It runs in a process of its own, as the servers do, so the client's time is
    all that a workload against it measures.
    """
    page = 25_000
    metric = '{"key":"val_loss","value":0.5,"timestamp":1700000000000,"step":%d}'
    answers = _stub_answers(sizes)

    class Stub(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            # Without it, Nagle's algorithm holds the body back behind the headers.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args):
            pass

        def _send(self, body: bytes):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self):
            path = urlsplit(self.path).path.split("/mlflow/", 1)[-1]
            if path == "metrics/get-history":
                query = parse_qs(urlsplit(self.path).query)
                start = int(query.get("page_token", ["0"])[0])
                end = min(start + page, sizes["history"])
                body = '{"metrics":[' + ",".join(metric % s for s in range(start, end)) + "]"
                if end < sizes["history"]:
                    body += f',"next_page_token":"{end}"'
                return self._send((body + "}").encode())
            self._send(answers.get(path, b"{}"))

        def do_POST(self):  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def do_GET(self):  # noqa: N802
            self._answer()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_stub(sizes: dict) -> "Server":
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.mlflow", "--stub", "--sizes", json.dumps(sizes)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    port = int(process.stdout.readline())
    return Server(f"http://127.0.0.1:{port}", process, None)


# --- Servers --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers (401 without a token)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def _fresh_postgres(suffix: str) -> str | None:
    """A new, empty database named after DATABASE_URL's plus suffix; None without PostgreSQL."""
    url = scratch_databases.scratch_url(suffix)
    return scratch_databases.recreate(url) if url else None


def _run_client(url: str, phase: str, sizes: dict, token: str | None,
                database: str | None) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    env.pop("BENCH_DATABASE_URL", None)
    if token:
        env["MLFLOW_TRACKING_TOKEN"] = token
    if database:
        env["BENCH_DATABASE_URL"] = database
    # A request the server never answers (a worker restarted under it) must not hang the run.
    env["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"
    try:
        out = subprocess.run([sys.executable, "-m", "benchmarks.mlflow", "--client", url,
                              "--phase", phase, "--sizes", json.dumps(sizes)], cwd=ROOT,
                             env=env, check=True, capture_output=True, text=True,
                             timeout=PHASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"{phase} against {url} took over {PHASE_TIMEOUT_S} s: this try is left out",
              file=sys.stderr)
        return {}
    except subprocess.CalledProcessError as exc:
        print(f"{phase} against {url} failed, this try is left out:\n{exc.stderr[-2000:]}",
              file=sys.stderr)
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


class Server:
    """A server under test: its URL, token, database and process."""

    def __init__(self, url: str, process: subprocess.Popen, database: str | None,
                 token: str | None = None):
        self.url, self.process, self.database, self.token = url, process, database, token

    def run(self, phase: str, sizes: dict) -> dict:
        return _run_client(self.url, phase, sizes, self.token, self.database)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, 15)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a busy machine: do not leave it running
            os.killpg(self.process.pid, 9)
            self.process.wait()


def start_targetline(var_dir: Path) -> Server:
    """gunicorn as scripts/run.sh starts it, on a fresh database."""
    env = dict(os.environ)
    database = _fresh_postgres("mlflow_bench")
    if database:
        env["DATABASE_URL"] = database
    env["TARGETLINE_VAR_DIR"] = str(var_dir / "targetline")
    env.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              check=True, capture_output=True, text=True).stdout

    manage("quickstart", "--no-admin")
    token = manage("createtoken", "bench").strip().splitlines()[-1]
    port = _free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--worker-class", "gthread",
         "--threads", "4", "--log-level", "warning"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, database, token)
    try:
        _wait_for(server.url + "/api/2.0/mlflow/experiments/get?experiment_id=0")
    except RuntimeError:
        server.stop()
        raise
    return server


def start_mlflow_server(mlflow: Path, var_dir: Path, *, suffix: str = "mlflow_server",
                        driver: str = "psycopg2", pythonpath: str | None = None,
                        options: tuple[str, ...] = (), seconds: float = 180) -> Server:
    """`mlflow server` with its defaults (and `options`), on a fresh PostgreSQL database
    (DATABASE_URL's name + "_" + suffix), through SQLAlchemy's `driver`; `pythonpath`: where
    that driver is, when not installed beside mlflow (benchmarks.scale lends the reference
    server psycopg 3)."""
    database = _fresh_postgres(suffix)
    if database is None:
        raise RuntimeError("mlflow server is compared on PostgreSQL: set DATABASE_URL")
    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    process = subprocess.Popen(
        [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", database.replace("postgresql://", f"postgresql+{driver}://", 1),
         "--artifacts-destination", str(var_dir / "mlflow-artifacts"), *options],
        cwd=var_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, database)
    try:
        _wait_for(f"{server.url}/health", seconds=seconds)
    except RuntimeError:
        server.stop()
        raise
    return server


def _pooled(tries: list[dict[str, float]]) -> dict[str, float]:
    """Paired tries pooled: each server's points over its time in all tries (tries that
    failed, or lack a server, are left out)."""
    complete = [t for t in tries if t and all(t.get(k) for k in ("targetline", "client limit"))]
    names = set().union(*complete) if complete else set()
    return {name: len([t for t in complete if name in t])
            / sum(1 / t[name] for t in complete if name in t) for name in names}


def _best(results: list[dict]) -> dict:
    """The best figure of each measure over repeated phases (least disturbed by other load)."""
    best: dict = {}
    for result in results:
        for key, value in result.items():
            higher_is_better = key.endswith(("_rate", "_per_s"))
            if key not in best or (value > best[key] if higher_is_better else value < best[key]):
                best[key] = value
    return best


# --- Report ---------------------------------------------------------------------------------

def _paired_line(paired: dict[str, float], kind: str = "ingest") -> str:
    """A paired workload as a sentence under the table."""
    ours, limit = paired.get("targetline"), paired.get("client limit")
    if not ours or not limit:
        return ""
    if kind == "creation":
        return (f"Run creation paired (one client process making each run on Targetline and "
                f"on the stub in turn: create, log_batch of 5 params, log_batch of 3 "
                f"metrics, set_terminated): Targetline {ours:,.1f} runs/s, the client's own "
                f"limit {limit:,.1f}: **{ours / limit * 100:.0f} %**.")
    return (f"log_batch paired (one client process sending each batch to Targetline and to "
            f"the stub in turn, so both meet the same minutes): Targetline {ours:,.0f} "
            f"points/s, the client's own limit {limit:,.0f}: **{ours / limit * 100:.0f} %**.")


def _report(sizes, ours, database, theirs, floor, mlflow_note, paired=None) -> str:
    def ratio(a, b, higher_is_better=True):
        if a is None or b is None:
            return "—"
        return f"{(a / b if higher_is_better else b / a):.1f}×"

    rows = [
        ("log_batch, 1,000 metrics a request (points/s)", "log_batch_rate", True,
         lambda v: f"{v:,.0f}"),
        (f"get_metric_history, {sizes['history']:,} points (s)", "history_s", False,
         lambda v: f"{v:.2f}"),
        (f"search_runs over {sizes['search_runs']:,} runs, 100 results (ms)", "search_s", False,
         lambda v: f"{v * 1000:.0f}"),
        ("runs created: create, log_batch, get, update (runs/s)", "runs_per_s", True,
         lambda v: f"{v:,.1f}"),
        ("runs created as a script does: create, 5 params, 3 metrics, end (runs/s)",
         "creation_per_s", True, lambda v: f"{v:,.1f}"),
        ("one small request, kept-alive connection (ms)", "request_ms", False,
         lambda v: f"{v:.1f}"),
    ]
    lines = [
        f"mlflow-client workload: {sizes['runs']} runs × {sizes['steps']:,} steps × "
        f"{sizes['metrics']} metrics through log_batch; Targetline on {database} (gunicorn, "
        f"2 gthread workers × 4 threads); {mlflow_note}. Tables are analyzed before the "
        "search, as autovacuum would after the load.",
        "",
        "| workload | Targetline | mlflow server | Targetline vs mlflow | client's own limit "
        "| Targetline vs limit |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    def show(value, fmt) -> str:
        return "—" if value is None else fmt(value)

    for label, key, higher, fmt in rows:
        mine = ours.get(key)
        other = theirs.get(key) if theirs else None
        limit = floor.get(key) if floor else None
        share = "—"
        if mine is not None and limit:
            share = f"{(mine / limit if higher else limit / mine) * 100:.0f} %"
        lines.append(f"| {label} | {show(mine, fmt)} | {show(other, fmt)} | "
                     f"{ratio(mine, other, higher)} | {show(limit, fmt)} | {share} |")
    for kind, tries in (paired or {}).items():
        if _paired_line(tries, kind):
            lines += ["", _paired_line(tries, kind)]
    return "\n".join(lines)


def _add_mlflow_server(servers: dict, args, var_dir: Path) -> str:
    """Start `mlflow server` among the servers when a full mlflow is installed (and not
    skipped); the report's note on it."""
    if args.skip_mlflow:
        return "mlflow server: skipped (--skip-mlflow)"
    mlflow_exe = args.mlflow or (DEFAULT_MLFLOW if DEFAULT_MLFLOW.exists() else None)
    if mlflow_exe is None and shutil.which("mlflow"):
        candidate = Path(shutil.which("mlflow"))
        probe = subprocess.run([str(candidate), "server", "--help"], capture_output=True)
        mlflow_exe = candidate if probe.returncode == 0 else None
    if mlflow_exe is None:
        return ("mlflow server: not measured, no full mlflow is installed here (only the "
                "mlflow-skinny client)")
    try:
        servers["mlflow"] = start_mlflow_server(mlflow_exe, var_dir)
    except RuntimeError as exc:
        return f"mlflow server: could not be measured ({exc})"
    return ("mlflow server: its defaults, PostgreSQL backend, on the same machine, running at "
            "the same time; each workload alternates between the two and a stub that answers "
            "at once (the client's own limit)")


def _measure(servers: dict, phases: list[str], sizes: dict, repeat: int
             ) -> tuple[dict[str, list[dict]], dict[str, list[dict[str, float]]]]:
    """Each phase against each server `repeat` times in alternating order, and the paired
    tries of the ingest and of run creation: (each server's results, the paired tries of
    each paired workload)."""
    results: dict[str, list[dict]] = {name: [] for name in servers}
    paired_tries: dict[str, list[dict[str, float]]] = {}
    for phase in phases:
        for turn in range(repeat):
            order = list(servers) if turn % 2 == 0 else list(reversed(servers))
            for name in order:
                results[name].append(servers[name].run(phase, sizes))
        if phase in PAIRED:
            # Targetline and the client's limit only: mlflow server's work after it answers
            # slows whatever call follows (paired with it, the stub's rate fell from 48,000
            # to 34,000 points/s), and its ratio to Targetline, 6× and more, does not hinge
            # on minutes.
            paired_tries[phase] = [
                _run_paired({name: servers[name] for name in order}, sizes,
                            servers["targetline"].token, phase)
                for order in paired_orders(["targetline", "client limit"], repeat)]
    return results, paired_tries


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow", type=Path, default=None,
                        help="the `mlflow` executable of a full mlflow install (its server)")
    parser.add_argument("--skip-mlflow", action="store_true", help="measure Targetline alone")
    parser.add_argument("--quick", action="store_true", help="a smaller workload, for a try")
    parser.add_argument("--repeat", type=int, default=2,
                        help="times each phase runs on each server, alternately (best kept)")
    parser.add_argument("--only", default=",".join(PHASES),
                        help=f"workloads to run, comma-separated (default: {','.join(PHASES)})")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--stub", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--paired", help=argparse.SUPPRESS)
    parser.add_argument("--paired-kind", default="ingest", choices=PAIRED,
                        help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.paired:  # the child process that sends each batch to every server in turn
        paired = paired_creation if args.paired_kind == "creation" else paired_ingest
        print(json.dumps(paired(json.loads(args.paired), json.loads(args.sizes))))
        return 0
    if args.client:  # the child process that drives one server through one phase
        print(json.dumps(workload(args.client, args.phase, json.loads(args.sizes))))
        return 0
    if args.stub:  # the child process that answers instantly
        serve_stub(json.loads(args.sizes))
        return 0

    sizes = QUICK if args.quick else SIZES
    phases = [p for p in args.only.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown workload {sorted(unknown)[0]!r}: choose from {', '.join(PHASES)}")
    with tempfile.TemporaryDirectory(prefix="tl-mlflow-bench-") as tmp:
        var_dir = Path(tmp)
        servers = {"client limit": start_stub(sizes), "targetline": start_targetline(var_dir)}
        database = "PostgreSQL" if servers["targetline"].database else "SQLite"
        try:
            note = _add_mlflow_server(servers, args, var_dir)
            results, paired_tries = _measure(servers, phases, sizes, args.repeat)
        finally:
            for server in servers.values():
                server.stop()
    ours = _best(results["targetline"])
    theirs = _best(results["mlflow"]) if "mlflow" in results else None
    floor = _best(results["client limit"])
    print(_report(sizes, ours, database, theirs, floor, note,
                  {kind: _pooled(tries) for kind, tries in paired_tries.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
