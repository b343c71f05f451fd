"""Seeding a project at scale (`manage.py seed_scale`): what it stores is what ingest would."""

import io

import pytest
from django.core.management import CommandError, call_command

from tracker import points as points_module
from tracker.models import Membership, MetricSummary, PointBlock, Role, Run, RunStatus
from tracker.selectors.metrics import metric_history
from tracker.services import metrics as metric_services
from tracker.services import runs as run_services
from tracker.services import seeding

pytestmark = pytest.mark.django_db

SUMMARY_FIELDS = ("count", "last_value", "last_step", "last_timestamp", "min_value",
                  "max_value", "best_value", "best_step")


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_scale", "--no-progress", *[
        f"--{name.replace('_', '-')}={value}" for name, value in options.items()], stdout=out)
    return out.getvalue()


def test_a_new_project_gets_the_target_the_guardrail_and_the_sweep():
    said = seed(project="sweep", runs=6, points_per_run=23, experiments=2, owner="nora")

    assert said.startswith("Added 6 runs and 138 points to sweep in ")
    assert "runs/s" in said and "points/s" in said
    run = Run.objects.filter(project__slug="sweep").first()
    project = run.project
    assert project.target.as_dict() | {"agreed_on": None} == {
        "metric": "f1", "direction": "maximize", "threshold": 0.85, "judged_on": "test",
        "selected_on": "validation", "agreed_by": "", "agreed_on": None, "definition": ""}
    assert [g.as_dict() for g in project.guardrails.all()] == [
        {"metric": "latency_ms", "split": "test", "op": "<=", "value": 50.0}]
    assert Membership.objects.get(project=project).user.username == "nora"
    assert Membership.objects.get(project=project).role == Role.OWNER
    runs = list(Run.objects.filter(project=project).order_by("name"))
    assert [r.name for r in runs] == [f"run-{i:06d}" for i in range(1, 7)]
    assert {r.status for r in runs} == {RunStatus.FINISHED}
    assert sorted({r.experiment.name for r in runs}) == ["sweep-01", "sweep-02"]
    assert {r.params["model"] for r in runs} == {"logreg", "svm", "forest", "boosting"}
    assert all(1e-4 <= r.params["lr"] <= 1e-1 for r in runs)
    counts = {(s.key, s.split): s.count for s in MetricSummary.objects.filter(run=runs[0])}
    assert counts == {("loss", "train"): 11, ("f1", "validation"): 10, ("f1", "test"): 1,
                      ("latency_ms", "test"): 1}
    stored = PointBlock.objects.filter(summary__run__project=project)
    assert sum(stored.values_list("count", flat=True)) == 6 * 23


def test_the_summaries_and_best_step_are_those_ingest_keeps_for_the_same_points(owner):
    seeded = seeding.seed_project(slug="same", runs=4, points_per_run=41, owner=owner.username,
                                  points_per_block=7)
    for run in Run.objects.filter(project=seeded.project):
        points = []
        for summary in MetricSummary.objects.filter(run=run):
            assert summary.blocks.count() == -(-summary.count // 7)  # blocks of 7 steps
            points += [{"key": summary.key, "split": summary.split, "step": step,
                        "value": value, "timestamp": ts}
                       for step, value, ts in metric_history(run=run, key=summary.key,
                                                             split=summary.split)]
        # The same points again, through log_batch into a fresh run of the same project.
        twin, _ = run_services.create_run(project=seeded.project, user=owner, experiment="twin",
                                          name=f"twin of {run.name}")
        metric_services.log_batch(run=twin, metrics=points)
        twin.refresh_from_db()
        assert run.best_step is not None
        assert twin.best_step == run.best_step
        for summary in MetricSummary.objects.filter(run=run):
            again = MetricSummary.objects.get(run=twin, key=summary.key, split=summary.split)
            assert ([getattr(summary, f) for f in SUMMARY_FIELDS]
                    == [getattr(again, f) for f in SUMMARY_FIELDS]), (summary.key, summary.split)


def test_the_values_are_realistic_curves_and_some_runs_cross_the_target():
    seeding.seed_project(slug="curves", runs=40, points_per_run=202)
    f1 = MetricSummary.objects.filter(run__project__slug="curves", key="f1")
    validation = f1.filter(split="validation")
    assert all(s.max_value > s.min_value + 0.1 for s in validation)  # rising
    assert all(s.min_value >= 0 and s.max_value <= 1 for s in validation)
    run = Run.objects.filter(project__slug="curves").first()
    values = [v for _, v, _ in metric_history(run=run, key="f1", split="validation")]
    assert values[-1] > values[0]
    assert any(b < a for a, b in zip(values, values[1:], strict=False))  # noisy
    crossing = f1.filter(split="test", best_value__gte=0.85).count()
    assert 0 < crossing < 40
    slow = MetricSummary.objects.filter(run__project__slug="curves", key="latency_ms",
                                        last_value__gt=seeding.LATENCY_BUDGET_MS).count()
    assert 0 < slow < 40


def test_the_runs_are_found_by_the_api_search_and_their_history_read_back(client_for, owner):
    seeding.seed_project(slug="found", runs=12, points_per_run=60, owner=owner.username)
    client = client_for(owner)

    response = client.get("/api/v1/projects/found/runs/", {
        "filter": 'params.model = "svm" and validation.f1 > 0', "order_by": "-validation.f1"})

    assert response.status_code == 200, response.content
    names = [r["name"] for r in response.json()["results"]]
    svm = MetricSummary.objects.filter(run__project__slug="found", run__params__model="svm",
                                       key="f1", split="validation").order_by("-best_value")
    assert names == [s.run.name for s in svm] and len(names) == 3
    run = svm[0].run
    history = client.get(f"/api/v1/runs/{run.id}/history", {"key": "loss", "split": "train"})
    assert history.status_code == 200, history.content
    steps = [p["step"] for p in history.json()["points"]]
    assert steps == list(range(29))


def test_seeding_again_adds_runs_and_keeps_the_ones_there():
    seed(project="again", runs=3, points_per_run=10)
    before = dict(Run.objects.filter(project__slug="again").values_list("id", "name"))

    said = seed(project="again", runs=2, points_per_run=10)

    assert said.startswith("Added 2 runs and 20 points to again")
    after = dict(Run.objects.filter(project__slug="again").values_list("id", "name"))
    assert after.items() >= before.items()
    assert sorted(after.values()) == [f"run-{i:06d}" for i in range(1, 6)]


def test_another_owners_project_is_refused_and_left_alone(make_user):
    seed(project="theirs", runs=2, points_per_run=10, owner="tom")

    with pytest.raises(CommandError, match="project 'theirs' belongs to tom, not ann: pick "
                                           r"another slug, or name its owner \(--owner tom\)"):
        seed(project="theirs", runs=2, points_per_run=10, owner="ann")
    assert Run.objects.filter(project__slug="theirs").count() == 2


@pytest.mark.parametrize(("options", "message"), [
    ({"runs": 0, "points_per_run": 10}, "runs must be at least 1, not 0"),
    ({"runs": 1, "points_per_run": 3}, "points per run must be at least 4"),
    ({"runs": 1, "points_per_run": 10, "experiments": 0}, "experiments must be at least 1"),
    ({"runs": 1, "points_per_run": 10, "points_per_block": 0},
     "points per block must be at least 1"),
])
def test_bad_sizes_are_refused_with_what_is_wrong(options, message):
    with pytest.raises(CommandError, match=message):
        seed(project="bad", **options)
    assert not Run.objects.exists()


def test_pack_arrays_writes_the_bytes_of_pack():
    import numpy as np

    steps, stamps, values = [0, 1, 5], [10, 11, 15], [0.5, float("nan"), -2.25]
    assert points_module.pack_arrays(np.array(steps), np.array(stamps), np.array(values)) \
        == points_module.pack(steps, stamps, values)
