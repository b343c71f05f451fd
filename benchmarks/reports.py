"""How long a check-in report takes to render: `python -m benchmarks.reports`.

Builds the sample project (reports/sample.py: four charts, four pages) in a separate
benchmark database (the DATABASE_URL database name + "_reports_bench" on PostgreSQL,
var/bench-reports/ otherwise), renders one report in a fresh process (Chromium starts),
then renders it again several times in the now warm process, as a Celery worker does, and
prints a Markdown table for docs/benchmarks.md. The goal is under 3 s in a warm worker.

    python -m benchmarks.reports [--renders 5] [--pdf report.pdf]
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from benchmarks import scratch_databases

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 3.0


def _use_bench_database() -> None:
    """Point this process at a fresh benchmark database, before Django reads its settings."""
    url = scratch_databases.scratch_url("reports_bench")
    if url:
        os.environ["DATABASE_URL"] = scratch_databases.recreate(url)
    else:
        var = ROOT / "var" / "bench-reports"
        var.mkdir(parents=True, exist_ok=True)
        (var / "targetline.sqlite3").unlink(missing_ok=True)
        os.environ["TARGETLINE_VAR_DIR"] = str(var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")  # sessions of the timed requests


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def _row(name: str, values: list[float]) -> str:
    return (f"| {name} | {statistics.median(values):.2f} s | {min(values):.2f} s | "
            f"{max(values):.2f} s |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reports", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=5,
                        help="warm renders to time (default 5)")
    parser.add_argument("--pdf", type=Path, help="also write the last PDF here")
    args = parser.parse_args(argv)

    from django.apps import apps

    if not apps.ready:  # run as a program: a database of its own
        _use_bench_database()
        import django

        django.setup()
        from django.core.management import call_command

        call_command("quickstart", no_admin=True)

    from django.utils import timezone

    from reports import assembly, pdf, rendering, selectors
    from reports.models import Report, ReportKind
    from reports.sample import build_sample_project

    project = build_sample_project(slug="bench-support-tickets")
    now = timezone.now()
    start = selectors.previous_checkin(project=project, before=now).period_end

    def new_report() -> Report:
        # A report row straight away: nobody is emailed and no task is queued.
        return Report.objects.create(project=project, kind=ReportKind.PREVIEW,
                                     period_start=start, period_end=now,
                                     time_zone="Europe/Paris")

    cold, cold_seconds = _timed(lambda: rendering.render_report(report_id=new_report().pk))
    steps: dict[str, list[float]] = {"gather": [], "charts": [], "html": [], "pdf": [],
                                     "total": []}
    pages = 0
    charts = 0
    for _ in range(max(1, args.renders)):
        assembled, t_gather = _timed(lambda: assembly.assemble(
            project=project, period_start=start, period_end=now, time_zone="Europe/Paris"))
        drawn, t_charts = _timed(lambda a=assembled: rendering.draw_charts(a.figures))
        html, t_html = _timed(lambda a=assembled, d=drawn: rendering.render_html(
            snapshot=a.snapshot, drawn=d))
        document, t_pdf = _timed(lambda h=html: pdf.html_to_pdf(h))
        report = new_report()
        outcome, t_total = _timed(lambda r=report: rendering.render_report(report_id=r.pk))
        for name, value in zip(steps, (t_gather, t_charts, t_html, t_pdf, t_total),
                               strict=True):
            steps[name].append(value)
        pages = document.pages
        charts = sum(1 for d in drawn.values() if "image" in d)
    if args.pdf:
        report.refresh_from_db()
        with report.pdf.open("rb") as handle:
            args.pdf.write_bytes(handle.read())
    median = statistics.median(steps["total"])
    verdict = "met" if median < GOAL_SECONDS else "NOT met"
    print(f"## Check-in report rendering ({len(steps['total'])} warm renders)\n")
    print(f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}; database: "
          f"{'PostgreSQL' if os.environ.get('DATABASE_URL') else 'SQLite'}. A report of "
          f"{pages} A4 pages with {charts} charts (the sample project).\n")
    print("| step | median | fastest | slowest |")
    print("| --- | --- | --- | --- |")
    print(_row("gather numbers and sentences (database)", steps["gather"]))
    print(_row(f"{charts} charts to SVG (kaleido, warm Chromium)", steps["charts"]))
    print(_row("HTML from the template", steps["html"]))
    print(_row("HTML to PDF (WeasyPrint)", steps["pdf"]))
    print(_row("**whole report** (render_report: all of the above, stored)", steps["total"]))
    print(f"\nFirst report in a fresh process, Chromium start included: {cold_seconds:.2f} s "
          f"({cold.state}). Goal in a warm worker: under {GOAL_SECONDS:.0f} s: {verdict} "
          f"({median:.2f} s).")
    pdf.stop_chart_server()
    return 0


if __name__ == "__main__":
    sys.exit(main())
