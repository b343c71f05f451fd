"""`manage.py sendreport PROJECT [--to EMAIL ...] [--sync]`: a check-in report, now.

Without --to it goes to the check-in's recipients and counts as a check-in (the next
scheduled one covers the time since); with --to it goes only to those addresses, as a
preview. Without --sync a Celery worker renders and sends it; with --sync this process
does, printing each step (Chromium starts here, so the first render takes a few seconds).
"""

import time

from django.core.management.base import BaseCommand, CommandError

from reports.delivery import deliver_report
from reports.models import Delivery, Report
from reports.rendering import render_report
from reports.workflow import send_now
from tracker.errors import TargetlineError
from tracker.models import Project


class Command(BaseCommand):
    help = "Render a project's check-in report and email it now."

    def add_arguments(self, parser):
        parser.add_argument("project", help="the project's slug")
        parser.add_argument("--to", action="append", metavar="EMAIL", default=[],
                            help="send only to this address (repeatable); a preview that "
                                 "does not count as a check-in")
        parser.add_argument("--sync", action="store_true",
                            help="render and send in this process, printing progress, "
                                 "instead of handing it to a Celery worker")

    def handle(self, *args, project: str, to: list[str], sync: bool, **options) -> None:
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"no project {project!r}")
        try:
            # With --sync nothing is queued: this process renders and sends.
            report = send_now(project=found, to=to or None, queue=not sync)
        except TargetlineError as exc:
            raise CommandError(exc.message) from None
        emails = list(Delivery.objects.filter(report=report).values_list("email", flat=True))
        who = ", ".join(emails) or "nobody"
        if not sync:
            self.stdout.write(f"Report {report.pk} queued for {found.name} ({who}); a Celery "
                              "worker renders and emails it.")
            return
        self._run_here(report, who)

    def _run_here(self, report: Report, who: str) -> None:
        out = self.stdout
        out.write(f"Rendering report {report.pk} for {report.project.name} "
                  f"({report.period_start:%Y-%m-%d %H:%M} – {report.period_end:%Y-%m-%d %H:%M} "
                  "UTC)…")
        started = time.perf_counter()
        rendered = render_report(report_id=report.pk)
        if rendered.state != "rendered":
            raise CommandError(f"report {report.pk} was not rendered ({rendered.state})")
        report.refresh_from_db()
        out.write(f"Rendered in {time.perf_counter() - started:.1f} s: "
                  f"{report.snapshot.get('pages')} pages, PDF at {report.pdf.name}")
        out.write(f"Verdict: {report.get_verdict_display()}. {report.verdict_sentence}")
        out.write(f"Sending to {who}…")
        delivered = deliver_report(report_id=report.pk)
        failed = False
        for delivery in Delivery.objects.filter(report=report):
            line = f"  {delivery.email}: {delivery.get_status_display()}"
            if delivery.last_error:
                line += f" ({delivery.last_error})"
            if delivery.next_attempt_at:
                line += f"; a worker tries again at {delivery.next_attempt_at:%H:%M:%S} UTC"
            failed = failed or delivery.status != "sent"
            out.write(line)
        if delivered.state == "waiting" or failed:
            raise CommandError("not every email went out; see above")
        out.write(self.style.SUCCESS(f"Report {report.pk} sent."))
