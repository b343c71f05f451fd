"""The load benchmark keeps working, and its count of points would see a loss or a duplicate."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import load as bench
from tests.factories import make_run
from tracker.models import PointBlock
from tracker.points import pack

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_points_are_counted_per_series_and_step(project, owner):
    make_run(project, owner, name="a", series={"train.loss": [0.9, 0.5, 0.3],
                                               "validation.f1": [0.6, 0.7]})
    assert bench.count_points(project.slug) == (5, 5, True)

    # Step 1 of train.loss stored a second time (another timestamp), as a race would.
    summary = PointBlock.objects.get(summary__key="loss").summary
    PointBlock.objects.create(summary=summary, first_step=1, last_step=1, count=1,
                              data=pack([1], [1_600_000_000_000], [0.5]))
    # One duplicate, and the series' summary still counts 3 points.
    assert bench.count_points(project.slug) == (6, 5, False)


def test_lost_and_duplicated_points_fail_the_phase():
    phase = bench.Phase("sdk-runs", 32, seconds=5.0, sent=100, stored=100, unique=100,
                        runs=32)
    assert (phase.lost, phase.duplicated, phase.ok) == (0, 0, True)
    phase.unique = phase.stored = 99
    assert (phase.lost, phase.ok) == (1, False)
    phase.unique, phase.stored = 100, 101
    assert (phase.duplicated, phase.ok) == (1, False)
    phase.stored, phase.hung = 100, 1
    assert not phase.ok
    one_run = bench.Phase("sdk-one-run", 8, seconds=5.0, sent=10, stored=10, unique=10, runs=8)
    assert not one_run.ok  # eight writers on one run must write to one run


def test_writers_are_given_for_every_phase_or_one_each():
    phases = list(bench.PHASES)
    assert bench._writers("4", phases) == dict.fromkeys(phases, 4)
    counts = [1, 32, 32, 8, 8][:len(phases)]
    assert bench._writers(",".join(map(str, counts)), phases) == dict(
        zip(phases, counts, strict=True))
    with pytest.raises(ValueError, match=f"one number or {len(phases)}"):
        bench._writers("1,2", phases)


def test_a_short_run_prints_its_tables():
    # In a process of its own: the benchmark starts its server on a database of its own and
    # reads the points there (this process's Django is on the test database). The phase of
    # SDK writers on runs of their own differs from the one-run phase only in its run ids.
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--seconds", "1", "--writers", "2",
         "--rate", "20", "--timeout", "30.5", "--phases", "sdk-one-run,mlflow"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sdk'}"},
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith("## Load: concurrent writers on loopback")
    for label in ("SDK writers on one run", "mlflow clients, a run each"):
        [row] = [line for line in out.splitlines()
                 if line.startswith(f"| {label} | 2 |")]
        assert "| **0** | **0** |" in row  # nothing lost, nothing duplicated
