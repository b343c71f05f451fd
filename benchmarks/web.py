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
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from benchmarks import scratch_databases

ROOT = Path(__file__).resolve().parent.parent
SLUG = "webbench"
GOAL_MS = 300
POINTS_PER_RUN = 100
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


def _seed(*, runs: int) -> dict:
    """The benchmark project, afresh: `runs` finished runs of a sweep with 100 points each
    (tracker.services.seeding, as `manage.py seed_scale` makes them)."""
    from tracker.models import Project
    from tracker.services import seeding

    Project.objects.filter(slug=SLUG).delete()
    seeded = seeding.seed_project(slug=SLUG, runs=runs, points_per_run=POINTS_PER_RUN,
                                  experiments=20, owner="webbench")
    return {"seconds": seeded.seconds}


def _seeded(runs: int) -> bool:
    from tracker.models import Run

    have = Run.objects.filter(project__slug=SLUG).count()
    return have == runs and _stored_points() == runs * POINTS_PER_RUN


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


def time_request(client, url: str, repeat: int, *, body: bytes | None = None) -> dict:
    """Median and slowest of `repeat` requests after a warm-up, the answer's size and (with
    Django's test client, in this process) its SQL queries. `client` is Django's test client
    or one with the same get/post over HTTP (benchmarks.scale); `body`: a JSON POST."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def request():
        if body is None:
            return client.get(url)
        return client.post(url, body, content_type="application/json")

    response = request()  # warm-up: connections, template loading
    assert response.status_code == 200, (url, response.status_code, response.content[:500])
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = request()
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        timings.append((time.perf_counter() - started) * 1000)
    queries = None
    if getattr(client, "in_process", True):
        with CaptureQueriesContext(connection) as captured:
            request()
        queries = len(captured)
    return {"median": statistics.median(timings), "max": max(timings),
            "queries": queries, "bytes": len(response.content)}


def measure_pages(client, *, slug: str, repeat: int, run_filter: str = RUN_FILTER,
                  run_order: str = RUN_ORDER) -> list[tuple[str, dict]]:
    """The pages' timings: dashboard, runs table (filtered and sorted, and plain), compare of
    the project's 10 newest runs and its charts' curves; `client` logged in to the project."""
    from django.urls import reverse

    from tracker.models import Run

    results = [("dashboard", time_request(client, reverse("web:dashboard", args=[slug]),
                                          repeat))]
    runs_url = reverse("web:runs", args=[slug]) + "?" + urlencode(
        {"filter": run_filter, "order_by": run_order})
    results.append((f"runs table, `{run_filter}` sorted by `{run_order}`, first page of 50",
                    time_request(client, runs_url, repeat)))
    results.append(("runs table, no filter, default order, first page of 50",
                    time_request(client, reverse("web:runs", args=[slug]), repeat)))
    ids = [str(i) for i in Run.objects.filter(project__slug=slug)
           .order_by("-started_at").values_list("id", flat=True)[:10]]
    compare_url = reverse("web:compare", args=[slug]) + "?" + urlencode([("run", i) for i in ids])
    page = client.get(compare_url).content.decode()
    results.append(("compare view of 10 runs (the page)",
                    time_request(client, compare_url, repeat)))
    config = json.loads(html.unescape(
        re.search(r'<script id="compare-data" type="application/json">(.*?)</script>', page,
                  re.S).group(1)))
    total = results[-1][1]["median"]
    for chart in config["charts"]:
        curves_url = reverse("web:curves", args=[slug]) + "?" + urlencode(
            [("key", chart["key"]), ("split", chart["split"]), ("buckets", config["buckets"])]
            + [("run", i) for i in ids])
        measured = time_request(client, curves_url, repeat)
        total += measured["median"]
        results.append((f"… its curves of {chart['split']}.{chart['key']} for 10 runs", measured))
    results.append(("compare view of 10 runs, page and every chart's curves one after another",
                    {"median": total, "max": None, "queries": None, "bytes": None}))
    return results


def _measure(repeat: int) -> list[tuple[str, dict]]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="webbench"))
    return measure_pages(client, slug=SLUG, repeat=repeat)


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
        lines += ["", f"Seeding {runs:,} runs × {POINTS_PER_RUN} points "
                      f"(tracker.services.seeding) took {seeding['seconds']:.0f} s."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000,
                        help=f"runs to seed ({POINTS_PER_RUN} points each)")
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
        print(f"Seeding {args.runs:,} runs with {POINTS_PER_RUN} points each…", file=sys.stderr)
        seeding = _seed(runs=args.runs)
    _analyze()
    results = _measure(args.repeat)
    print(_report(results, where=where, runs=args.runs, seeding=seeding, repeat=args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
