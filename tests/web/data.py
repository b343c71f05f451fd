"""A realistic project for the web UI tests and screenshots, built through the services.

"Support ticket routing": a target of F1 >= 0.85 on test, a latency guardrail, a baseline,
three experiments, finished, running and failed runs, curves with a single-step spike, and
a run whose name is a script tag.
"""

import math
import random
from datetime import timedelta

from django.utils import timezone

from tracker.models import Experiment, Run
from tracker.services import experiments as experiment_services
from tracker.services import metrics as metric_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

SLUG = "support-tickets"
TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85, "judged_on": "test",
          "selected_on": "validation", "agreed_by": "Dana Whitfield (Head of Support)",
          "agreed_on": "2026-03-02"}
GUARDRAILS = [{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}]
EXPERIMENTS = {
    "majority class": "Always answering with the busiest team is the status quo to beat.",
    "tf-idf + logistic regression": "Word counts separate the teams well enough; the "
                                    "regularisation strength matters most.",
    "fine-tuned DistilBERT": "A small pretrained transformer reads the context that word "
                             "counts miss, at a latency we can afford.",
}
SCRIPT_NAME = "<script>alert(1)</script>"


def _points(rng: random.Random, *, steps: int, final_f1: float, t0_ms: int,
            spike_at: int | None = None) -> list[dict]:
    """Training loss every step, validation F1 and loss every 10 steps."""
    points = []
    for step in range(steps):
        progress = (step + 1) / steps
        loss = 0.25 + 1.9 * math.exp(-4.5 * progress) + rng.gauss(0, 0.035)
        if spike_at is not None and step == spike_at:
            loss = 6.5  # a single bad batch: must stay visible after downsampling
        ts = t0_ms + step * 1500
        points.append({"key": "loss", "split": "train", "step": step, "value": round(loss, 4),
                       "timestamp": ts})
        if step % 10 == 9 or step == steps - 1:
            f1 = final_f1 - 0.28 * math.exp(-5 * progress) + rng.gauss(0, 0.006)
            if progress > 0.85:  # a little overfitting at the end: the best step is earlier
                f1 -= 0.02 * (progress - 0.85) / 0.15
            points.append({"key": "f1", "split": "validation", "step": step,
                           "value": round(f1, 4), "timestamp": ts + 1})
            points.append({"key": "loss", "split": "validation", "step": step,
                           "value": round(loss + 0.08 + 0.1 * progress, 4), "timestamp": ts + 2})
    return points


def _make_run(project, owner, rng: random.Random, name: str, experiment: str, *, when,
              params, final_f1, test_f1, latency, steps=200, baseline=False,
              status="finished", spike_at=None, tags=None) -> Run:
    """One run through the services: its curves, its test results once finished, its end."""
    run, _ = run_services.create_run(
        project=project, user=owner, experiment=experiment, name=name, params=params,
        tags=tags or {"stage": "dev"}, baseline=baseline, started_at=when,
        git_commit=f"{rng.getrandbits(160):040x}", host="gpu-02",
        data_version="tickets-2026-02",
        context={"command": f"python train.py --config {name}.yaml", "python": "3.11.9"})
    t0 = int(when.timestamp() * 1000)
    points = _points(rng, steps=steps, final_f1=final_f1, t0_ms=t0, spike_at=spike_at)
    if status == "finished":
        end_ts = t0 + steps * 1500 + 10
        points.append({"key": "f1", "split": "test", "step": steps, "value": test_f1,
                       "timestamp": end_ts})
        points.append({"key": "f1", "split": "test/long_texts", "step": steps,
                       "value": round(test_f1 - 0.06, 4), "timestamp": end_ts})
        points.append({"key": "latency_ms", "split": "test", "step": steps, "value": latency,
                       "timestamp": end_ts})
    for i in range(0, len(points), 5000):
        metric_services.log_batch(run=run, metrics=points[i:i + 5000])
    if status != "running":
        run_services.finish_run(run=run, status=status,
                                ended_at=when + timedelta(seconds=steps * 1.5 + 30))
    run.refresh_from_db()
    return run


def seed_project(owner, *, runs: int = 24, seed: int = 7):
    """The demo project with `runs` runs (at least 8); returns (project, runs by name)."""
    rng = random.Random(seed)
    project = project_services.create_project(
        user=owner, slug=SLUG, name="Support ticket routing",
        description="Route each incoming support ticket to the team that can solve it.",
        target=dict(TARGET), guardrails=[dict(g) for g in GUARDRAILS])
    for name, hypothesis in EXPERIMENTS.items():
        experiment_services.create_experiment(project=project, user=owner, name=name,
                                              hypothesis=hypothesis)
    now = timezone.now().replace(microsecond=0)
    start = now - timedelta(days=30)
    made: dict[str, Run] = {}

    def make(name, experiment, **fields):
        made[name] = _make_run(project, owner, rng, name, experiment, **fields)

    make("majority-class", "majority class", params={"strategy": "most_frequent"},
         final_f1=0.41, test_f1=0.40, latency=1, steps=20, baseline=True, when=start)
    tfidf = [(c, n) for c in (0.1, 0.3, 1.0, 3.0, 10.0) for n in ("1-1", "1-2")]
    bert = [(lr, e) for lr in (1e-5, 2e-5, 3e-5, 5e-5) for e in (2, 3, 4)]
    count = max(8, runs) - 5  # five special runs below
    for i in range(count):
        when = start + timedelta(days=29 * (i + 1) / (count + 3), minutes=rng.randint(0, 300))
        if i % 2 == 0:
            c, ngrams = tfidf[(i // 2) % len(tfidf)]
            quality = 0.74 + 0.05 * math.exp(-abs(math.log10(c) - 0.1)) + (
                0.02 if ngrams == "1-2" else 0)
            make(f"lr-c{c:g}-ng{ngrams}-{i:02d}", "tf-idf + logistic regression",
                 params={"model": "logreg", "C": c, "ngrams": ngrams, "max_features": 50_000},
                 final_f1=round(quality + rng.gauss(0, 0.01), 4),
                 test_f1=round(quality - 0.015 + rng.gauss(0, 0.01), 4),
                 latency=round(3 + rng.random() * 2, 1), when=when)
        else:
            lr, epochs = bert[(i // 2) % len(bert)]
            quality = 0.86 - 1800 * abs(lr - 3e-5) + 0.004 * epochs
            latency = round(26 + 7 * epochs + rng.gauss(0, 1.5), 1)
            make(f"bert-lr{lr:g}-e{epochs}-{i:02d}", "fine-tuned DistilBERT",
                 params={"model": "distilbert", "lr": lr, "epochs": epochs, "batch_size": 32},
                 final_f1=round(quality + rng.gauss(0, 0.006), 4),
                 test_f1=round(quality - 0.012 + rng.gauss(0, 0.008), 4),
                 latency=latency, steps=400, when=when,
                 spike_at=277 if i == 1 else None)
    # A long run whose curve is downsampled (4,000 steps) with a single-step spike.
    make("bert-long-spike", "fine-tuned DistilBERT",
         params={"model": "distilbert", "lr": 3e-5, "epochs": 3, "batch_size": 64},
         final_f1=0.862, test_f1=0.851, latency=44.0, steps=4000, spike_at=2345,
         when=now - timedelta(days=1, hours=3))
    make("bert-lr3e-05-e5-running", "fine-tuned DistilBERT",
         params={"model": "distilbert", "lr": 3e-5, "epochs": 5, "batch_size": 32},
         final_f1=0.85, test_f1=0, latency=0, steps=120, status="running",
         when=now - timedelta(hours=2))
    make("lr-oom-failed", "tf-idf + logistic regression",
         params={"model": "logreg", "C": 30.0, "ngrams": "1-3", "max_features": 500_000},
         final_f1=0.6, test_f1=0, latency=0, steps=30, status="failed",
         when=now - timedelta(hours=5))
    make(SCRIPT_NAME, "tf-idf + logistic regression",
         params={"model": "logreg", "C": 2.0, "ngrams": "1-2", "max_features": 50_000},
         final_f1=0.79, test_f1=0.78, latency=4.2, when=now - timedelta(hours=8),
         tags={"stage": "<b>dev</b>"})
    assert Experiment.objects.filter(project=project).count() == 3
    return project, made
