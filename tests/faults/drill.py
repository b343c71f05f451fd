"""The backup drill's project, and what must read the same after a restore.

Run by the tests in-process and, through `manage.py shell -c`, in processes on other
databases: `build()` fills a database, `print_snapshot()` prints what a user would read.
"""

import hashlib
import io
import json
import random
from unittest import mock

from reports import rendering, workflow
from reports.models import Report
from reports.sample import build_sample_project
from tracker.models import Artifact, MetricSummary, Project, Run
from tracker.selectors import metrics as metric_selectors
from tracker.selectors import winner as winner_selectors
from tracker.services import artifacts as artifact_services

SLUG = "backup-drill"


def build() -> Project:
    """The sample project (runs, points, a weekly check-in, archived reports), two runs'
    artifacts (one of them 300 kB of random bytes) and a rendered report with its PDF."""
    project = build_sample_project(slug=SLUG, recipients=["cfo@example.com"])
    winner = winner_selectors.standing(project=project).winner
    noise = random.Random(7).randbytes(300_000)
    artifact_services.store_artifact(run=winner, path="model/weights.bin",
                                     fileobj=io.BytesIO(noise))
    artifact_services.store_artifact(run=winner, path="notes/readme.txt",
                                     fileobj=io.BytesIO("métriques: ok\n".encode()))
    other = Run.objects.filter(project=project).exclude(pk=winner.pk).order_by("name").first()
    artifact_services.store_artifact(run=other, path="confusion.csv",
                                     fileobj=io.BytesIO(b"a,b\n1,2\n"))
    report = workflow.send_now(project=project, to=["cfo@example.com"], queue=False)
    # No Chromium: the drill is about the bytes kept, not about drawing charts.
    with mock.patch.object(rendering, "draw_charts", lambda figures: {
            name: {"error": "not drawn in the backup drill"} for name in figures}):
        assert rendering.render_report(report_id=report.pk).state == "rendered"
    return project


def _sha256(field_file) -> str:
    with field_file.open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _plain(value):
    """JSON-ready: runs by name, containers recursively, anything else as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Run):
        return value.name
    return value if isinstance(value, int | float | str | bool | None) else str(value)


def snapshot() -> dict:
    """The winner, every metric history, every artifact's and report PDF's checksum."""
    project = Project.objects.get(slug=SLUG)
    standing = winner_selectors.standing(project=project)
    histories = {}
    for summary in (MetricSummary.objects.filter(run__project=project)
                    .select_related("run").order_by("run__name", "key", "split")):
        histories[f"{summary.run.name}/{summary.split}.{summary.key}"] = (
            metric_selectors.metric_history(run=summary.run, key=summary.key,
                                            split=summary.split))
    artifacts = {f"{a.run.name}/{a.path}": {"size": a.size, "sha256": a.sha256,
                                            "on_disk": _sha256(a.file)}
                 for a in Artifact.objects.filter(run__project=project).select_related("run")}
    reports = [{"kind": r.kind, "period_end": r.period_end.isoformat(), "verdict": r.verdict,
                "status": r.status, "pdf": _sha256(r.pdf) if r.pdf else None}
               for r in Report.objects.filter(project=project).order_by("id")]
    return {
        "winner": {"run": standing.winner.name if standing.winner else None,
                   "judged": standing.judged_value, "judged_step": standing.judged_step,
                   "met": standing.met, "baseline": _plain(standing.baseline),
                   "baseline_judged": standing.baseline_judged_value, "lift": standing.lift,
                   "guardrails": _plain(standing.guardrails),
                   "sentence": _plain(standing.sentence)},
        "histories": _plain(histories),
        "artifacts": artifacts,
        "reports": reports,
    }


def print_snapshot() -> None:
    print(json.dumps(snapshot(), sort_keys=True))
