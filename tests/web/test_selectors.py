"""Reads in tracker.selectors the web UI leans on: `standing()`, `leaderboard()` and
`pick_winner()` read only the head of the ranking yet give the answers of ranking every
finished run; best so far; curves; column lists."""

import math

import pytest

from tests.factories import make_run
from tracker.models import MetricSummary
from tracker.selectors import metrics as metric_selectors
from tracker.selectors import runs as run_selectors
from tracker.selectors import winner as winner_selectors
from tracker.services import projects as project_services
from tracker.winner_rules import choose, guardrail_failures, rank, usable

pytestmark = pytest.mark.django_db


def reference_best_so_far(project):
    """Best so far worked out the slow, obvious way from the winner rules."""
    target = project.target
    rules = winner_selectors.guardrail_rules(project=project)
    candidates = sorted((c for c in winner_selectors._candidates(project, target, rules)
                         if usable(c.selection_value) and c.ended_at),
                        key=lambda c: (c.ended_at, str(c.run_id)))
    best, out = None, []
    for c in candidates:
        passes = not guardrail_failures(c, rules)
        if passes and (best is None or (c.selection_value > best if target.direction
                                        == "maximize" else c.selection_value < best)):
            best = c.selection_value
        out.append((c.run_id, c.selection_value, passes, best))
    return out


def reference_ranking(project):
    """Every finished run ranked by the winner rules, the slow, obvious way."""
    target = project.target
    rules = winner_selectors.guardrail_rules(project=project)
    return rank(winner_selectors._candidates(project, target, rules), direction=target.direction,
                rules=rules)


def reference_leaderboard(project, limit):
    ranked = reference_ranking(project)
    top = ranked[:limit]
    if not any(r.candidate.baseline for r in top):
        top += [r for r in ranked[limit:] if r.candidate.baseline][:1]
    return top


def same_everywhere(project, limit=20):
    if hasattr(project, "target"):
        progress = winner_selectors.best_so_far(project=project, keep=1000)
        assert [(p.run_id, p.value, p.passes, p.best_so_far)
                for p in progress.latest] == reference_best_so_far(project)
        chosen = choose(reference_ranking(project))
        standing = winner_selectors.standing(project=project)
        assert standing.winner_ranked == chosen
        assert (standing.winner.id if standing.winner else None) == (
            chosen.candidate.run_id if chosen else None)
        winner = winner_selectors.pick_winner(project=project)
        assert (winner.id if winner else None) == (chosen.candidate.run_id if chosen else None)
        assert (winner_selectors.leaderboard(project=project, limit=limit)
                == reference_leaderboard(project, limit))
    else:
        assert winner_selectors.standing(project=project).winner is None
        assert winner_selectors.leaderboard(project=project, limit=limit) == []


def test_fast_answers_match_the_full_ranking_on_the_demo_project(demo):
    same_everywhere(demo.project)
    same_everywhere(demo.project, limit=3)  # the baseline ranks far below the top 3
    assert winner_selectors.leaderboard(project=demo.project, limit=3)[-1].candidate.baseline


def test_fast_answers_match_the_full_ranking_when_the_best_runs_fail_guardrails_and_tie(owner):
    project = project_services.create_project(
        user=owner, slug="latency", target={"metric": "rmse", "direction": "minimize",
                                            "threshold": 2.0},
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<", "value": 10}])
    # The three best on validation fail the guardrail (too slow, NaN, missing); two tie.
    make_run(project, owner, name="fast-but-slow", series={"validation.rmse": [3.0, 1.0],
                                                           "test.latency_ms": 50})
    make_run(project, owner, name="nan-latency", series={"validation.rmse": 1.0,
                                                         "test.latency_ms": math.nan})
    make_run(project, owner, name="no-latency", series={"validation.rmse": 1.1})
    for i in range(12):
        make_run(project, owner, name=f"ok-{i}", series={"validation.rmse": 1.5 + (i % 3) / 10,
                                                         "test.rmse": 1.9, "test.latency_ms": 5})
    make_run(project, owner, name="nan-rmse", series={"validation.rmse": math.nan,
                                                      "test.latency_ms": 1})
    make_run(project, owner, name="unfinished", finish=None, series={"validation.rmse": 0.1})
    make_run(project, owner, name="base", baseline=True,
             series={"validation.rmse": 4.0, "test.rmse": 4.1, "test.latency_ms": 1})
    standing = winner_selectors.standing(project=project)
    assert standing.winner.name == "ok-0"  # the earliest of three tied at 1.5
    same_everywhere(project)
    same_everywhere(project, limit=2)


def test_fast_answers_match_the_full_ranking_without_a_winner(owner):
    project = project_services.create_project(
        user=owner, slug="nothing", target={"metric": "f1", "direction": "maximize",
                                            "threshold": 0.9},
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 1}])
    same_everywhere(project)  # no finished run
    make_run(project, owner, name="no-f1", series={"validation.acc": 0.5})
    same_everywhere(project)  # no selection metric
    for i in range(6):
        make_run(project, owner, name=f"slow-{i}", series={"validation.f1": 0.5 + i / 100,
                                                           "test.latency_ms": 20})
    assert "fails at least one guardrail" in winner_selectors.standing(project=project).sentence
    same_everywhere(project)
    no_target = project_services.create_project(user=owner, slug="no-target")
    same_everywhere(no_target)


def test_best_so_far_ends_at_the_winner_and_skips_failing_runs(demo):
    progress = winner_selectors.best_so_far(project=demo.project)
    standing = winner_selectors.standing(project=demo.project)
    last = progress.improvements[-1]
    assert last.run_id == standing.winner.id
    assert last.best_so_far == standing.winner_ranked.candidate.selection_value
    assert progress.names[standing.winner.id] == standing.winner.name
    values = [p.best_so_far for p in progress.improvements]
    assert values == sorted(values)  # maximize: every improvement is higher
    assert all(p.passes for p in progress.improvements)
    failing = [p for p in progress.latest if not p.passes]
    assert failing, "the demo has runs that fail the latency guardrail"
    assert progress.total == len(progress.latest) == MetricSummary.objects.filter(
        run__project=demo.project, run__status="finished", key="f1", split="validation").count()
    times = [p.ended_at for p in progress.latest]
    assert times == sorted(times)
    assert len(winner_selectors.best_so_far(project=demo.project, keep=3).latest) == 3


def test_metric_curves_keep_spikes_and_short_series_whole(owner):
    project = project_services.create_project(user=owner, slug="curves")
    values = [1.0] * 1000
    values[613] = 50.0
    values[200] = math.nan
    long = make_run(project, owner, name="long", series={"train.loss": values})
    short = make_run(project, owner, name="short", series={"train.loss": [3.0, 2.0, 1.0]})
    summaries = list(MetricSummary.objects.filter(key="loss").order_by("run__name"))
    curves = metric_selectors.metric_curves(summaries=summaries, buckets=50)
    by_run = {s.run_id: curves[s.id] for s in summaries}
    assert by_run[short.id] == {"bucketed": False, "step": [0, 1, 2], "time": by_run[short.id][
        "time"], "value": [3.0, 2.0, 1.0]}
    assert by_run[long.id]["bucketed"]
    assert max(v for v in by_run[long.id]["value"] if v is not None) == 50.0
    assert len(by_run[long.id]["value"]) <= 100
    assert by_run[long.id]["step"][-1] == 999


def test_run_fields_lists_what_the_runs_carry(demo):
    runs = [demo.runs["majority-class"], demo.runs["bert-long-spike"]]
    fields = run_selectors.run_fields(runs=runs)
    assert fields["params"] == ["batch_size", "epochs", "lr", "model", "strategy"]
    assert fields["tags"] == ["stage"]
    assert fields["metrics"] == [("f1", "validation"), ("f1", "test"), ("f1", "test/long_texts"),
                                 ("latency_ms", "test"), ("loss", "train"),
                                 ("loss", "validation")]
    assert fields["params_that_vary"] == fields["params"]  # each only on one of the two
    assert fields["metric_coverage"] == dict.fromkeys(fields["metrics"], 2)  # both have each
    alone = run_selectors.run_fields(runs=runs[:1])
    assert alone["metric_coverage"] == dict.fromkeys(alone["metrics"], 1)
    assert run_selectors.run_fields(runs=[]) == {"params": [], "params_that_vary": [], "tags": [],
                                                 "metrics": [], "metric_coverage": {}}
