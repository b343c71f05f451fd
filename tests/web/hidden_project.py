"""A project whose test results are partly hidden, with values no page prints by chance.

"Hidden figures": F1 >= 0.9 judged on test, picked on validation, a cost guardrail on the
test split (latency_ms <= 50) and, as a project agreed before quality guardrails on the
judged split were refused would still have it, recall >= 0.9 on test (written straight to
the table, as such a project's row is).

Runs, in the order they ended: the baseline; "once-best", the best model for a while (its
test F1 is what the verdict quotes as the start of the period); "chosen-one", the best model
now; then runs that never were the best model: one failing the guardrails with the best
validation F1, one passing them with a worse one, a running run and a failed one. Each test
value of a run other than the best model and the baseline is distinctive (0.613579 reads
"0.6136", "0.614", "61.4"), so a search of a page for its renderings finds only a leak.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from tracker.models import Guardrail, Run
from tracker.numbers import format_number, format_percent
from tracker.services import metrics as metric_services
from tracker.services import model_registry as registry_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services
from web import presenters

SLUG = "hidden-figures"
TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.9, "judged_on": "test",
          "selected_on": "validation", "agreed_by": "Ines (Head of Screening)",
          "agreed_on": "2026-10-01"}


@dataclass(frozen=True)
class RunSpec:
    name: str
    ended_days_ago: float | None  # None: still running
    validation_f1: float
    test: dict  # (key, split) -> value, or a list of values logged at steps 0, 1, …
    baseline: bool = False
    status: str = "finished"
    params: dict = field(default_factory=dict)


RUNS = [
    RunSpec("status-quo", 20, 0.701, {("f1", "test"): 0.702468, ("latency_ms", "test"): 1.25,
                                      ("recall", "test"): 0.951}, baseline=True,
            params={"model": "rules"}),
    RunSpec("once-best", 12, 0.780, {("f1", "test"): 0.764239,
                                     ("f1", "test/long_texts"): 0.734152,
                                     ("latency_ms", "test"): 29.4375,
                                     ("recall", "test"): 0.936283}, params={"model": "cnn"}),
    RunSpec("chosen-one", 3, 0.850, {("f1", "test"): 0.861357,
                                     ("f1", "test/long_texts"): 0.822,
                                     ("latency_ms", "test"): 31.5, ("recall", "test"): 0.943},
            params={"model": "bert"}),
    RunSpec("fast-but-wrong", 2, 0.870, {("f1", "test"): 0.613579,
                                         ("f1", "test/long_texts"): 0.557913,
                                         ("latency_ms", "test"): 137.913,
                                         ("recall", "test"): 0.846153},
            params={"model": "bert-large"}),
    RunSpec("also-ran", 1, 0.800, {("f1", "test"): 0.672468,
                                   ("f1", "test/long_texts"): 0.638271,
                                   ("latency_ms", "test"): 12.3456,
                                   ("recall", "test"): 0.907406,
                                   ("loss", "test"): [2.46813, 1.97531, 1.58642]},
            params={"model": "gru"}),
    RunSpec("still-running", None, 0.880, {("f1", "test"): 0.591357,
                                           ("latency_ms", "test"): 7.7531},
            status="running", params={"model": "bert-xl"}),
    RunSpec("crashed", 0.5, 0.600, {("f1", "test"): 0.534682}, status="failed",
            params={"model": "lstm"}),
]
SHOWN_RUNS = {"status-quo", "chosen-one"}  # the baseline and the best model
# The judged target value of a run that was the best model earlier: the verdict quotes it.
QUOTED = {("once-best", "f1", "test")}


def _points(spec: RunSpec, t0_ms: int) -> list[dict]:
    """Training loss and validation F1 over five steps, then the test results."""
    points = []
    for step in range(5):
        points.append({"key": "loss", "split": "train", "step": step,
                       "value": (1.9, 1.5, 1.2, 1.0, 0.95)[step], "timestamp": t0_ms + step})
        points.append({"key": "f1", "split": "validation", "step": step,
                       "value": round(spec.validation_f1 - 0.01 * (4 - step), 6),
                       "timestamp": t0_ms + step})
    for (key, split), value in spec.test.items():
        values = value if isinstance(value, list) else [value]
        points += [{"key": key, "split": split, "step": step if len(values) > 1 else 5,
                    "value": v, "timestamp": t0_ms + 10 + step}
                   for step, v in enumerate(values)]
    return points


def build(owner) -> tuple:
    """The project and its runs by name."""
    project = project_services.create_project(
        user=owner, slug=SLUG, name="Hidden figures",
        description="Screen scans for a tumour; the test set stays a test set.",
        target=dict(TARGET),
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}])
    Guardrail.objects.create(project=project, metric="recall", split="test", op=">=", value=0.9)
    now = timezone.now().replace(microsecond=0)
    runs = {}
    for spec in RUNS:
        ended = now - timedelta(days=spec.ended_days_ago or 0)
        started = ended - timedelta(hours=1)
        run, _ = run_services.create_run(
            project=project, user=owner, experiment=f"{spec.params['model']} models",
            name=spec.name, params=spec.params, baseline=spec.baseline, started_at=started,
            tags={"stage": "dev"})
        metric_services.log_batch(run=run, metrics=_points(spec, int(started.timestamp() * 1000)))
        if spec.status != "running":
            run_services.finish_run(run=run, status=spec.status, ended_at=ended)
        runs[spec.name] = Run.objects.get(pk=run.pk)
    model = registry_services.create_model(user=owner, name="scan-screen", project=project)
    registry_services.create_version(user=owner, model=model, source="runs:/x/model",
                                     run=runs["fast-but-wrong"])
    return project, runs


def hidden_values() -> dict[str, list[float]]:
    """Each run's test values that no page may print until someone reveals them."""
    found = {}
    for spec in RUNS:
        if spec.name in SHOWN_RUNS:
            continue
        values = []
        for (key, split), value in spec.test.items():
            if (spec.name, key, split) not in QUOTED:
                values += value if isinstance(value, list) else [value]
        found[spec.name] = values
    return found


def renderings(value: float) -> set[str]:
    """Every way a page writes a value: as stored (JSON, CSV), in a table cell or a chart's
    hover text (four significant digits), in a sentence, and as a count out of 100."""
    texts = {repr(value), f"{value:.4g}", format_number(value), presenters.number(value)}
    if 0 < value < 1:
        texts.add(format_percent(value))
    return texts


def leaks(text: str, values) -> list[str]:
    """The renderings of `values` that `text` holds, as whole numbers (not inside others)."""
    found = []
    for value in values:
        for rendering in renderings(value):
            if re.search(r"(?<![\d.])" + re.escape(rendering) + r"(?![\d])", text):
                found.append(f"{rendering} (from {value})")
    return found


def all_hidden() -> list[float]:
    return [v for values in hidden_values().values() for v in values]

