"""Scale benchmark: `python -m benchmarks.scale` (add --help for options).

Issue 24's measures at 100,000 runs and 100 million points in one project, on a PostgreSQL
database of its own (DATABASE_URL's name + "_scale"):

1. seeds it with `manage.py seed_scale` (project "scale": 100,000 runs x 1,000 points by
   default), and a project "scale-history" with one run whose train.loss has 1,000,000
   points; `--reuse` keeps a database seeded before (and only adds what it lacks);
2. starts gunicorn as `make run` starts it (scripts/run.sh's command line) and times, from
   outside with a plain HTTP client on a kept-alive connection, the median of `--repeat`
   requests after a warm-up, from request to last byte: the dashboard, the runs table
   (filtered and sorted, first page), the compare view of 10 runs and its curves, the v1
   runs search and MLflow's search_runs (filter + order), and the history of the
   1,000,000-point series in 1,000 buckets; then the same in this process with Django's
   test client (server time alone, with its SQL queries);
3. reads the disk the points take (pg_total_relation_size of the point block and summary
   tables, per stored point, against the 24 bytes of a point's step, timestamp and value)
   and every index's size; and, with the reference `mlflow server` (.mlflow-reference, made
   by `make test`) on a PostgreSQL database of its own, mlflow's bytes per point for the
   same points of `--mlflow-runs` runs logged with the mlflow client beside Targetline's
   for the same runs (seed_scale on a scratch database).

Prints Markdown for docs/benchmarks.md. The seeded database is kept for `--reuse` (drop it
with `dropdb NAME`, or `--drop` at the end).
"""

import argparse
import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import orjson

from benchmarks import scratch_databases

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SLUG, HISTORY_SLUG, OWNER = "scale", "scale-history", "scale"
PAGE_GOAL_MS, SEARCH_GOAL_MS, HISTORY_GOAL_MS = 300, 150, 200
POINT_BYTES = 24  # a point's step and timestamp (64-bit integers) and value (a double)
V1_FILTER, V1_ORDER = 'validation.f1 > 0.8 and params.model = "svm"', "-validation.f1"
MLFLOW_FILTER = "metrics.val_f1 > 0.8 and params.model = 'svm'"
MLFLOW_ORDER = "metrics.val_f1 DESC"
TABLES = ("tracker_pointblock", "tracker_metricsummary", "tracker_run")


def _manage(env: dict, *args: str, quiet: bool = False) -> str:
    """A manage.py command against the benchmark's database; its standard output."""
    return subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env,
                          check=True, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL if quiet else None).stdout


def _environment(database: str, var_dir: Path) -> dict:
    env = dict(os.environ, DATABASE_URL=database, TARGETLINE_VAR_DIR=str(var_dir),
               DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1",
               # the same key here and in the server: a session made here logs the client in
               SECRET_KEY=os.environ.get("SECRET_KEY") or "scale-benchmark-only",
               # tasks that writes trigger go nowhere: the benchmark times reads
               CELERY_BROKER_URL="memory://", CELERY_TASK_ALWAYS_EAGER="false")
    for variable in ("TARGETLINE_URL", "TARGETLINE_TOKEN", "TARGETLINE_DIR"):
        env.pop(variable, None)
    return env


# --- seeding ------------------------------------------------------------------------------


def _seed(env: dict, args) -> list[str]:
    """Seed what the database lacks; sentences saying what seeding took."""
    from django.db.models import Max

    from tracker.models import MetricSummary, Run

    said = []
    have = Run.objects.filter(project__slug=SLUG).count()
    if have > args.runs:
        raise SystemExit(f"the database has {have:,} runs in {SLUG!r}, more than --runs "
                         f"{args.runs:,}: drop it, or leave out --reuse")
    if have < args.runs:
        print(f"Seeding {args.runs - have:,} runs x {args.points_per_run:,} points…",
              file=sys.stderr)
        out = _manage(env, "seed_scale", "--project", SLUG, "--runs", str(args.runs - have),
                      "--points-per-run", str(args.points_per_run), "--experiments", "20",
                      "--owner", OWNER)
        said.append(f"`seed_scale --runs {args.runs - have} --points-per-run "
                    f"{args.points_per_run}`: {out.strip()}")
    longest = MetricSummary.objects.filter(run__project__slug=HISTORY_SLUG, key="loss",
                                           split="train").aggregate(n=Max("count"))["n"] or 0
    if longest != args.history_points:
        print(f"Seeding one run with a {args.history_points:,}-point series…", file=sys.stderr)
        out = _manage(env, "seed_scale", "--project", HISTORY_SLUG, "--runs", "1",
                      "--points-per-run", str(2 * args.history_points + 2), "--experiments",
                      "1", "--owner", OWNER)
        said.append(f"the history run: {out.strip()}")
    return said


# --- timing -------------------------------------------------------------------------------


class _Answer:
    def __init__(self, status: int, content: bytes):
        self.status_code, self.content = status, content


class HttpClient:
    """get/post as Django's test client has them, over HTTP/1.1 on one kept-alive
    connection (a browser's way), reading each answer to its last byte."""

    in_process = False

    def __init__(self, base: str, headers: dict[str, str]):
        parts = urlsplit(base)
        self.host, self.port, self.headers = parts.hostname, parts.port, headers
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=300)

    def get(self, url: str) -> _Answer:
        return self._request("GET", url, None, {})

    def post(self, url: str, data: bytes, content_type: str) -> _Answer:
        return self._request("POST", url, data, {"Content-Type": content_type})

    def _request(self, method: str, url: str, body, headers: dict) -> _Answer:
        for attempt in (1, 2):
            try:
                self.connection.request(method, url, body, {**self.headers, **headers})
                answer = self.connection.getresponse()
                return _Answer(answer.status, answer.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()  # the server closed an idle connection: once more
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _searches_and_history(client, api_client, repeat: int) -> list[tuple[str, dict, int]]:
    """(measure, timing, goal in ms) of the v1 search, MLflow's search_runs and the history."""
    from benchmarks.web import time_request
    from tracker.models import Experiment, MetricSummary

    v1 = f"/api/v1/projects/{SLUG}/runs/?" + urlencode({"filter": V1_FILTER,
                                                         "order_by": V1_ORDER})
    experiments = [str(i) for i in Experiment.objects.filter(project__slug=SLUG)
                   .values_list("id", flat=True)]
    body = orjson.dumps({"experiment_ids": experiments, "filter": MLFLOW_FILTER,
                         "order_by": [MLFLOW_ORDER], "max_results": 100})
    series = MetricSummary.objects.filter(run__project__slug=HISTORY_SLUG, key="loss",
                                          split="train").get()
    history = f"/api/v1/runs/{series.run_id}/history?key=loss&split=train&buckets=1000"
    return [
        (f"v1 runs search, `{V1_FILTER}` ordered by `{V1_ORDER}`, first page",
         time_request(api_client, v1, repeat), SEARCH_GOAL_MS),
        (f"MLflow search_runs over {len(experiments)} experiments, `{MLFLOW_FILTER}` ordered "
         f"by `{MLFLOW_ORDER}`, 100 results",
         time_request(api_client, "/api/2.0/mlflow/runs/search", repeat, body=body),
         SEARCH_GOAL_MS),
        (f"history of a {series.count:,}-point series in 1,000 buckets",
         time_request(api_client, history, repeat), HISTORY_GOAL_MS),
    ]


def _measure(client, api_client, repeat: int) -> list[tuple[str, dict, int]]:
    from benchmarks.web import measure_pages

    pages = [(name, timing, PAGE_GOAL_MS)
             for name, timing in measure_pages(client, slug=SLUG, repeat=repeat,
                                               run_filter=V1_FILTER, run_order=V1_ORDER)]
    return pages + _searches_and_history(client, api_client, repeat)


def _clients(env: dict, base: str | None):
    """(pages client, API client): over HTTP to `base`, or Django's test clients."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    token = _manage(env, "createtoken", OWNER, "--name", "scale benchmark",
                    quiet=True).strip().splitlines()[-1]
    pages = Client()
    pages.force_login(get_user_model().objects.get(username=OWNER))
    if base is None:
        return pages, Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    cookie = f"sessionid={pages.cookies['sessionid'].value}"
    return (HttpClient(base, {"Cookie": cookie}),
            HttpClient(base, {"Authorization": f"Bearer {token}"}))


def _over_http(env: dict, repeat: int, logs: Path) -> list[tuple[str, dict, int]]:
    """The measures against gunicorn as `make run` starts it."""
    from tests import gunicorn

    with (logs / "gunicorn.log").open("ab") as log:
        process, base = gunicorn.start(env, log, seconds=120, what="the scale server")
    try:
        client, api_client = _clients(env, base)
        return _measure(client, api_client, repeat)
    finally:
        gunicorn.stop(process)


# --- disk ---------------------------------------------------------------------------------


def _disk() -> dict:
    """Sizes of the point, summary and run tables (heap, TOAST, indexes) and their indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid), "
            "COALESCE(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0), "
            "pg_indexes_size(c.oid), pg_total_relation_size(c.oid) FROM pg_class c "
            "WHERE c.relname = ANY(%s)", [list(TABLES)])
        tables = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute("SELECT relname, indexrelname, pg_relation_size(indexrelid) "
                       "FROM pg_stat_user_indexes WHERE relname = ANY(%s) ORDER BY 1, 2",
                       [list(TABLES)])
        indexes = cursor.fetchall()
        cursor.execute("SELECT COALESCE(SUM(count), 0) FROM tracker_pointblock")
        points = cursor.fetchone()[0]
    return {"tables": tables, "indexes": indexes, "points": points}


def _mlflow_bytes_per_point(env: dict, runs: int, points_per_run: int) -> str:
    """A sentence: mlflow server's bytes per point beside Targetline's, for `runs` runs."""
    from benchmarks import mlflow as mlflow_bench
    from tests import mlflow_reference

    if not mlflow_reference.MLFLOW.exists():
        return (f"mlflow server's bytes per point: not measured (no reference server at "
                f"{mlflow_reference.MLFLOW}; `make mlflow-reference` installs it).")
    ours = _targetline_small(env, runs, points_per_run)
    with tempfile.TemporaryDirectory() as folder:
        # The reference install has no PostgreSQL driver: it borrows psycopg 3 from this
        # virtualenv (the same Python), through SQLAlchemy's postgresql+psycopg dialect.
        drivers = Path(folder) / "drivers"
        drivers.mkdir()
        site = Path(__import__("psycopg").__file__).parent.parent
        for package in site.glob("psycopg*"):  # its modules and metadata (its version)
            (drivers / package.name).symlink_to(package)
        try:  # one worker: it only stores the points (and starts faster on a busy machine)
            server = mlflow_bench.start_mlflow_server(
                mlflow_reference.MLFLOW, Path(folder), suffix="scale_mlflow", driver="psycopg",
                pythonpath=str(drivers), options=("--workers", "1"), seconds=600)
        except RuntimeError as exc:
            return f"mlflow server's bytes per point: not measured ({exc})."
        try:
            with contextlib.redirect_stdout(sys.stderr):  # the client prints each run's link
                stored = _log_with_mlflow(server.url, runs, points_per_run)
            size = _mlflow_size(server.database)
        finally:
            server.stop()
            scratch_databases.drop(server.database)
    return (f"Same {runs} runs x {points_per_run:,} points (loss, val_f1 at each step, "
            f"test_f1 and test_latency_ms once; {stored:,} points): mlflow server 3.17 on "
            f"PostgreSQL stores them in **{size / stored:.0f} bytes per point** (its `metrics` "
            f"and `latest_metrics` tables with their indexes), Targetline in "
            f"**{ours:.1f}** (point blocks and summaries with their indexes and TOAST).")


def _targetline_small(env: dict, runs: int, points_per_run: int) -> float:
    """Targetline's bytes per point for the same runs, on a scratch database."""
    import psycopg

    url = scratch_databases.recreate(scratch_databases.scratch_url("small", env["DATABASE_URL"]))
    small = {**env, "DATABASE_URL": url}
    try:
        _manage(small, "quickstart", "--no-admin", quiet=True)
        _manage(small, "seed_scale", "--project", "small", "--runs", str(runs),
                "--points-per-run", str(points_per_run), "--no-progress")
        with psycopg.connect(url) as conn:
            size = conn.execute("SELECT pg_total_relation_size('tracker_pointblock') + "
                                "pg_total_relation_size('tracker_metricsummary')").fetchone()[0]
            points = conn.execute("SELECT SUM(count) FROM tracker_pointblock").fetchone()[0]
    finally:
        scratch_databases.drop(url)
    return size / points


def _log_with_mlflow(url: str, runs: int, points_per_run: int) -> int:
    """The runs logged with the mlflow client, one log_batch of 1,000 metrics at most."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=url)
    experiment = client.create_experiment("scale-bytes")
    per_step = points_per_run - 2
    steps = {"loss": (per_step + 1) // 2, "val_f1": per_step // 2}
    stored = 0
    now = int(time.time() * 1000)
    for number in range(runs):
        run = client.create_run(experiment, run_name=f"run-{number + 1:06d}")
        last = steps["loss"] - 1
        metrics = [Metric(key, 1.0 / (step + 1) + number * 1e-6, now + step * 1000, step)
                   for key, count in steps.items() for step in range(count)]
        metrics += [Metric("test_f1", 0.8, now + last * 1000, last),
                    Metric("test_latency_ms", 12.5, now + last * 1000, last)]
        for start in range(0, len(metrics), 1000):
            client.log_batch(run.info.run_id, metrics=metrics[start:start + 1000])
        client.set_terminated(run.info.run_id)
        stored += len(metrics)
    return stored


def _mlflow_size(database: str) -> int:
    import psycopg

    with psycopg.connect(database) as conn:
        return conn.execute("SELECT pg_total_relation_size('metrics') + "
                            "pg_total_relation_size('latest_metrics')").fetchone()[0]


# --- report -------------------------------------------------------------------------------


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _report(http_results, local_results, disk: dict, *, repeat: int, seeded: list[str],
            mlflow_line: str) -> str:
    from benchmarks.sdk import _cpu
    from tracker.models import MetricSummary, Run

    runs = Run.objects.filter(project__slug=SLUG).count()
    series = MetricSummary.objects.filter(run__project__slug=SLUG).count()
    lines = [
        f"Scale ({datetime.now(UTC):%Y-%m-%d}, PostgreSQL, {_cpu()}): project `{SLUG}` with "
        f"{runs:,} runs and {series:,} series; {disk['points']:,} metric points in the "
        f"database (with the 1,000,000-point history run). gunicorn as `make run` starts it "
        f"(2 gthread workers x 4 threads), timed from outside over HTTP (one kept-alive "
        f"connection, request to last byte) and in-process (Django's test client: server "
        f"time, no network); median of {repeat} requests after a warm-up.",
        "",
        "| measure | HTTP median | HTTP slowest | in-process median | SQL queries | size | "
        "goal | |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    local = {name: timing for name, timing, _ in local_results}
    for name, timing, goal in http_results:
        inside = local.get(name, {})
        median = timing["median"]
        slowest = f"{timing['max']:.0f} ms" if timing["max"] is not None else "—"
        queries = inside.get("queries")
        size = f"{timing['bytes'] / 1024:.0f} KiB" if timing["bytes"] is not None else "—"
        verdict = ("met" if median < goal
                   else f"MISSED by {median - goal:.0f} ms ({median / goal:.1f}×)")
        in_process = f"{inside['median']:.0f} ms" if inside else "—"
        lines.append(f"| {name} | {median:.0f} ms | {slowest} | {in_process} | "
                     f"{queries if queries is not None else '—'} | {size} | < {goal} ms | "
                     f"{verdict} |")
    lines += ["", "| table | rows (estimate) | heap | TOAST | indexes | total | bytes per "
                  "point |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for table in TABLES:
        rows, heap, toast, indexes, total = disk["tables"][table]
        lines.append(f"| `{table}` | {rows:,} | {_mib(heap)} | {_mib(toast)} | "
                     f"{_mib(indexes)} | {_mib(total)} | {total / disk['points']:.1f} |")
    points_total = sum(disk["tables"][t][4] for t in TABLES[:2])
    per_point = points_total / disk["points"]
    goal = 2 * POINT_BYTES
    lines += ["", f"Disk per stored point (point blocks + summaries, tables, TOAST and "
                  f"indexes): **{per_point:.1f} bytes** for the {POINT_BYTES} bytes of a "
                  f"point's step, timestamp and value ({per_point / POINT_BYTES:.2f}×; goal "
                  f"≤ {goal}: {'met' if per_point <= goal else 'MISSED'}).", "",
              "Indexes: " + "; ".join(f"`{name}` {_mib(size)}"
                                      for _, name, size in disk["indexes"]) + "."]
    if mlflow_line:
        lines += ["", mlflow_line]
    if seeded:
        lines += ["", "Seeding: " + "; ".join(seeded)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs of the project")
    parser.add_argument("--points-per-run", type=int, default=1000, help="points of each run")
    parser.add_argument("--history-points", type=int, default=1_000_000,
                        help="points of the series whose history is read in 1,000 buckets")
    parser.add_argument("--repeat", type=int, default=7, help="timed requests per measure")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the database seeded before (seed only what it lacks)")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--mlflow-runs", type=int, default=100,
                        help="runs for mlflow server's bytes per point (0: not measured)")
    args = parser.parse_args(argv)

    url = scratch_databases.scratch_url("scale")
    if url is None:
        raise SystemExit("the scale benchmark runs on PostgreSQL: set DATABASE_URL")
    database = scratch_databases.ensure(url) if args.reuse else scratch_databases.recreate(url)
    logs = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    env = _environment(database, logs / "var")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "TARGETLINE_VAR_DIR", "SECRET_KEY",
                                           "DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL",
                                           "CELERY_TASK_ALWAYS_EAGER")})
    _manage(env, "quickstart", "--no-admin", quiet=True)
    import django

    django.setup()
    seeded = _seed(env, args)
    http_results = _over_http(env, args.repeat, logs)
    local_results = _measure(*_clients(env, None), args.repeat)
    # What took long to measure, in case the rest fails (logs/timings.json).
    (logs / "timings.json").write_bytes(orjson.dumps({"http": http_results,
                                                      "in_process": local_results}))
    mlflow_line = ""
    if args.mlflow_runs:
        try:
            mlflow_line = _mlflow_bytes_per_point(env, args.mlflow_runs, args.points_per_run)
        except Exception as exc:  # the timings above are worth printing all the same
            mlflow_line = f"mlflow server's bytes per point: not measured ({exc!r})."
    print(_report(http_results, local_results, _disk(), repeat=args.repeat, seeded=seeded,
                  mlflow_line=mlflow_line))
    if args.drop:
        from django.db import connections

        connections.close_all()
        scratch_databases.drop(database)
    else:
        name = urlsplit(database).path.lstrip("/")
        print(f"\n(The seeded database {name} is kept for --reuse; `dropdb {name}` removes "
              "it.)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
