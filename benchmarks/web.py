"""Web UI benchmark: `python -m benchmarks.web` (add --help for options).

Seeds a project with 10,000 runs and 1,000,000 metric points in a separate database (the
DATABASE_URL database name + "_webbench" on PostgreSQL, var/webbench/ with SQLite), then
times the pages people wait for, as the server produces them (Django's test client in
this process: middleware, queries, template rendering; no network):

- the project dashboard,
- the runs table, filtered and sorted by a metric, first page,
- the compare view of 10 runs, and the curve data its charts fetch.

The seeded database is kept, so later runs only time (use --reseed to build it again).
Prints Markdown for docs/benchmarks.md.
"""

import argparse
import html
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from benchmarks import scratch_databases

ROOT = Path(__file__).resolve().parent.parent
SLUG = "webbench"
GOAL_MS = 300
SERIES = (  # (key, split, points per run): 100 points per run
    ("loss", "train", 60), ("f1", "validation", 19), ("loss", "validation", 19),
    ("f1", "test", 1), ("latency_ms", "test", 1),
)
RUN_FILTER = 'validation.f1 > 0.8 and params.model = "svm"'
RUN_ORDER = "-validation.f1"


def _configure() -> str:
    """Point this process at the benchmark database before Django starts; its description."""
    url = scratch_databases.scratch_url("webbench")
    if url:
        # Kept between runs: seeding 10,000 runs takes minutes, so a later run reuses them.
        os.environ["DATABASE_URL"] = scratch_databases.ensure(url)
        where = f"PostgreSQL database {urlsplit(url).path.lstrip('/')}"
    else:
        var = ROOT / "var" / "webbench"
        var.mkdir(parents=True, exist_ok=True)
        os.environ["TARGETLINE_VAR_DIR"] = str(var)
        where = f"SQLite in {var}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")  # sessions of the timed requests
    # Tasks that writes trigger (e.g. the reports' alert checks) go to an in-memory broker
    # and are dropped: the benchmark times pages, and must not fill a real queue.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    import django

    django.setup()
    return where


# --- seeding ------------------------------------------------------------------------------


def _seed(*, runs: int, seed: int = 11) -> dict:
    """The benchmark project: `runs` finished runs with 100 points each, through the services
    (project, experiments, log_batch) and one bulk insert of the run rows."""
    from django.contrib.auth import get_user_model

    from tracker.models import Project, Run, RunStatus
    from tracker.services import experiments as experiment_services
    from tracker.services import metrics as metric_services
    from tracker.services import projects as project_services

    rng = random.Random(seed)
    user, _ = get_user_model().objects.get_or_create(username="webbench")
    Project.objects.filter(slug=SLUG).delete()
    project = project_services.create_project(
        user=user, slug=SLUG, name="Web UI benchmark",
        target={"metric": "f1", "direction": "maximize", "threshold": 0.85},
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}])
    experiments = [experiment_services.create_experiment(project=project, user=user,
                                                         name=f"experiment-{i:02d}",
                                                         hypothesis=f"Hypothesis number {i}.")
                   for i in range(20)]
    models = ["svm", "logreg", "bert", "xgboost"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(runs):
        started = start + timedelta(minutes=17 * i)
        rows.append(Run(
            project=project, experiment=experiments[i % len(experiments)], name=f"run-{i:05d}",
            status=RunStatus.FINISHED, started_at=started, ended_at=started + timedelta(
                minutes=10), last_heartbeat=started, created_by=user, baseline=(i == 0),
            params={"model": models[i % len(models)], "lr": round(10 ** rng.uniform(-5, -1), 6),
                    "batch_size": rng.choice([16, 32, 64]), "layers": rng.randint(1, 8)},
            tags={"stage": rng.choice(["dev", "staging", "prod"])},
        ))
    Run.objects.bulk_create(rows, batch_size=2000)
    started_at = time.perf_counter()
    for n, run in enumerate(Run.objects.filter(project=project).order_by("started_at")):
        quality = 0.6 + 0.3 * rng.random()
        t0 = int(run.started_at.timestamp() * 1000)
        points = []
        for key, split, count in SERIES:
            for step in range(count):
                if split == "test":
                    value = (quality - 0.01 if key == "f1"
                             else round(rng.uniform(5, 80), 1))
                    at_step = 60
                else:
                    at_step = step if split == "train" else step * 3 + 2
                    progress = (at_step + 1) / 60
                    value = (quality * (1 - 0.5 * (1 - progress) ** 2) if key == "f1"
                             else 2.0 * (1 - progress) + 0.2 + rng.random() * 0.05)
                points.append({"key": key, "split": split, "step": at_step,
                               "value": value, "timestamp": t0 + at_step * 1000})
        metric_services.log_batch(run=run, metrics=points)
        if n and n % 1000 == 0:
            print(f"  seeded {n:,} runs ({time.perf_counter() - started_at:.0f} s)",
                  file=sys.stderr)
    return {"seconds": time.perf_counter() - started_at}


def _seeded(runs: int) -> bool:
    from tracker.models import Run

    have = Run.objects.filter(project__slug=SLUG).count()
    return have == runs and _stored_points() == runs * 100


def _stored_points() -> int:
    from django.db.models import Sum

    from tracker.models import PointBlock

    return PointBlock.objects.filter(summary__run__project__slug=SLUG).aggregate(
        n=Sum("count"))["n"] or 0


def _analyze() -> None:
    """Refresh the planner's statistics, as autovacuum would after a bulk load (it is off on
    some machines; stale statistics turn the summary joins into nested loops)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- timing -------------------------------------------------------------------------------


def _time(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up: connections, template loading
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return {"median": statistics.median(timings), "max": max(timings),
            "queries": len(queries), "bytes": len(response.content)}


def _measure(repeat: int) -> list[tuple[str, dict]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from tracker.models import Run

    client = Client()
    client.force_login(get_user_model().objects.get(username="webbench"))
    results = [("dashboard", _time(client, reverse("web:dashboard", args=[SLUG]), repeat))]
    runs_url = reverse("web:runs", args=[SLUG]) + "?" + urlencode(
        {"filter": RUN_FILTER, "order_by": RUN_ORDER})
    results.append((f"runs table, `{RUN_FILTER}` sorted by `{RUN_ORDER}`, first page of 50",
                    _time(client, runs_url, repeat)))
    results.append(("runs table, no filter, default order, first page of 50",
                    _time(client, reverse("web:runs", args=[SLUG]), repeat)))
    ids = [str(i) for i in Run.objects.filter(project__slug=SLUG)
           .order_by("-started_at").values_list("id", flat=True)[:10]]
    compare_url = reverse("web:compare", args=[SLUG]) + "?" + urlencode([("run", i) for i in ids])
    page = client.get(compare_url).content.decode()
    results.append(("compare view of 10 runs (the page)", _time(client, compare_url, repeat)))
    config = json.loads(html.unescape(
        re.search(r'<script id="compare-data" type="application/json">(.*?)</script>', page,
                  re.S).group(1)))
    total = results[-1][1]["median"]
    for chart in config["charts"]:
        curves_url = reverse("web:curves", args=[SLUG]) + "?" + urlencode(
            [("key", chart["key"]), ("split", chart["split"]), ("buckets", config["buckets"])]
            + [("run", i) for i in ids])
        measured = _time(client, curves_url, repeat)
        total += measured["median"]
        results.append((f"… its curves of {chart['split']}.{chart['key']} for 10 runs", measured))
    results.append(("compare view of 10 runs, page and every chart's curves one after another",
                    {"median": total, "max": None, "queries": None, "bytes": None}))
    return results


def _report(results, *, where: str, runs: int, seeding: dict | None, repeat: int) -> str:
    from tracker.models import MetricSummary, Run

    points = _stored_points()
    lines = [
        f"Web UI server time ({where}; {Run.objects.filter(project__slug=SLUG).count():,} "
        f"runs, {points:,} metric points, "
        f"{MetricSummary.objects.filter(run__project__slug=SLUG).count():,} series; "
        f"median of {repeat} requests after a warm-up, Django test client in-process, "
        f"goal < {GOAL_MS} ms)",
        "",
        "| page | median | slowest | SQL queries | HTML/JSON size | goal |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in results:
        slowest = f"{m['max']:.0f} ms" if m["max"] is not None else "—"
        queries = str(m["queries"]) if m["queries"] is not None else "—"
        size = f"{m['bytes'] / 1024:.0f} KiB" if m["bytes"] is not None else "—"
        goal = "met" if m["median"] < GOAL_MS else "MISSED"
        lines.append(f"| {name} | {m['median']:.0f} ms | {slowest} | {queries} | {size} | "
                     f"{goal} |")
    if seeding:
        lines += ["", f"Seeding {runs:,} runs × 100 points through `services.log_batch` took "
                      f"{seeding['seconds']:.0f} s."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="runs to seed (100 points each)")
    parser.add_argument("--repeat", type=int, default=7, help="timed requests per page")
    parser.add_argument("--reseed", action="store_true", help="seed again even when seeded")
    args = parser.parse_args(argv)

    from django.conf import settings

    if settings.configured:
        # Django already runs against another database in this process: start afresh.
        command = [sys.executable, "-m", "benchmarks.web", *(argv or sys.argv[1:])]
        return subprocess.call(command, cwd=ROOT)
    where = _configure()
    from django.core.management import call_command

    call_command("quickstart", no_admin=True)
    seeding = None
    if args.reseed or not _seeded(args.runs):
        print(f"Seeding {args.runs:,} runs with 100 points each…", file=sys.stderr)
        seeding = _seed(runs=args.runs)
    _analyze()
    results = _measure(args.repeat)
    print(_report(results, where=where, runs=args.runs, seeding=seeding, repeat=args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
