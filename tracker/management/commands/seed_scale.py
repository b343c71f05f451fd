"""`manage.py seed_scale --project SLUG --runs N --points-per-run M`: fill a project with a
sweep of finished runs (tracker.services.seeding), to try the UI at scale or time it.

A new project gets the target F1 and a latency guardrail; an existing one (its owner's)
keeps its runs and gets N more. Shows a progress bar on standard error and ends with the
rate: runs and points a second.
"""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from tracker.errors import TargetlineError
from tracker.services import seeding

BAR_WIDTH = 30


class Command(BaseCommand):
    help = ("Add N finished runs of M metric points each to a project (created with the target "
            "F1 >= 0.85 and a latency guardrail when missing; an existing project keeps its "
            "runs and gets N more), as ingest would store them, at the speed of bulk writes.")

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument("--runs", type=int, required=True, help="runs to add (N >= 1)")
        parser.add_argument(
            "--points-per-run", type=int, required=True,
            help=f"metric points of each run (M >= {seeding.MIN_POINTS_PER_RUN}): loss on "
                 "train and f1 on validation at each of about M/2 steps, f1 and latency_ms on "
                 "test once")
        parser.add_argument("--experiments", type=int, default=10,
                            help="experiments the runs are spread over (default 10)")
        parser.add_argument("--owner", default="seed",
                            help="the project's owner, created when missing (default: seed)")
        parser.add_argument(
            "--points-per-block", type=int, default=seeding.POINTS_PER_BLOCK,
            help="steps of a series stored together, as one batch of the SDK would bring "
                 f"them (default {seeding.POINTS_PER_BLOCK})")
        parser.add_argument("--seed", type=int, default=0,
                            help="random seed of the values (default 0)")
        parser.add_argument("--no-progress", action="store_true",
                            help="no progress bar on standard error")

    def handle(self, *args, project: str, runs: int, points_per_run: int, experiments: int,
               owner: str, points_per_block: int, seed: int, no_progress: bool,
               **options) -> None:
        bar = None if no_progress else _Bar(total=runs)
        try:
            seeded = seeding.seed_project(
                slug=project, runs=runs, points_per_run=points_per_run, experiments=experiments,
                owner=owner, points_per_block=points_per_block, seed=seed,
                progress=bar.update if bar else None)
        except TargetlineError as exc:
            raise CommandError(exc.message) from None
        finally:
            if bar:
                bar.close()
        self.stdout.write(
            f"Added {seeded.runs:,} runs and {seeded.points:,} points to {seeded.project.slug} "
            f"in {seeded.seconds:.1f} s: {seeded.runs_per_second:,.0f} runs/s, "
            f"{seeded.points_per_second:,.0f} points/s.")


class _Bar:
    """A plain progress bar on standard error: redrawn in place on a terminal, a line every
    tenth of the way otherwise (logs)."""

    def __init__(self, *, total: int):
        self.total, self.started, self.shown = total, time.monotonic(), -1
        self.tty = sys.stderr.isatty()

    def update(self, runs: int, points: int) -> None:
        tenth = runs * 10 // self.total
        if not self.tty and tenth == self.shown:
            return
        self.shown = tenth
        elapsed = time.monotonic() - self.started
        done = runs * BAR_WIDTH // self.total
        rate = points / elapsed if elapsed else 0
        left = (self.total - runs) * elapsed / runs if runs else 0
        line = (f"[{'#' * done}{'.' * (BAR_WIDTH - done)}] {runs:,}/{self.total:,} runs, "
                f"{points:,} points, {rate:,.0f} points/s, {left:.0f} s left")
        sys.stderr.write(f"\r{line}" if self.tty else f"{line}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
