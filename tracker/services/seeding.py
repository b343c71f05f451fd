"""Seeding a project at scale: a hyperparameter sweep of finished runs with realistic curves,
for trying the UI and timing it at 100,000 runs (`manage.py seed_scale`, benchmarks/web.py
and benchmarks/scale.py).

What is stored is what ingest would store for the same runs: points in blocks of
tracker.points' format (one block per series and batch of `points_per_block` steps, as
the SDK sends a fast training loop), every series' summary with its count, last, min, max
and value at the run's best step, and the run's best step (the target metric's best step
on its selection split; the earliest wins a tie, as tracker.winner_rules says). Only the
way in differs: ingest takes one batch per transaction under the run's lock, while this
writes a few hundred new runs per transaction, with COPY on PostgreSQL, so that 100 million
points take minutes instead of hours. Nobody else writes to the new runs meanwhile, so
there is no lock to take and no replay to recognise.

Each run logs `loss` on train and `f1` on validation at every step, then `f1` and
`latency_ms` on test once (at its last step, where a judged split's point sent without a
step goes), with the params `model` and `lr`. How good a run gets depends on its model and
on how far its learning rate is from the model's sweet spot, plus noise: some runs cross
the target's 0.85, and the slowest models break the latency guardrail.
"""

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import psycopg
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from tracker import points as points_module
from tracker.errors import Conflict, InvalidInput
from tracker.models import (
    Experiment,
    Membership,
    MetricSummary,
    PointBlock,
    Project,
    Role,
    Run,
    RunStatus,
    Target,
)
from tracker.services import experiments as experiment_services
from tracker.services import projects as project_services
from tracker.validation import check_slug
from tracker.winner_rules import best_index

TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85, "judged_on": "test",
          "selected_on": "validation"}
LATENCY_BUDGET_MS = 50
GUARDRAILS = [{"metric": "latency_ms", "split": "test", "op": "<=", "value": LATENCY_BUDGET_MS}]
# model: (best validation f1 it reaches at its best learning rate, log10 of that rate,
# median latency on test in ms)
MODELS = {"logreg": (0.80, -2.0, 3.0), "svm": (0.84, -2.5, 12.0),
          "forest": (0.85, -1.5, 28.0), "boosting": (0.87, -1.0, 46.0)}
POINTS_PER_BLOCK = 100
MIN_POINTS_PER_RUN = 4  # a step of loss and of f1 on validation, and the two test points
POINTS_PER_TRANSACTION = 200_000
START = datetime(2026, 1, 1, tzinfo=UTC)
RUN_SPACING = timedelta(minutes=5)  # between the starts of two runs of the sweep
STEP_MS = 1000  # between two steps of a run


@dataclass
class Seeded:
    """What seed_project stored, and how fast."""

    project: Project
    runs: int
    points: int
    seconds: float

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds else math.inf

    @property
    def points_per_second(self) -> float:
        return self.points / self.seconds if self.seconds else math.inf


Progress = Callable[[int, int], None]  # (runs stored so far, points stored so far)


def seed_project(*, slug: str, runs: int, points_per_run: int, experiments: int = 10,
                 owner: str = "seed", points_per_block: int = POINTS_PER_BLOCK, seed: int = 0,
                 progress: Progress | None = None) -> Seeded:
    """Add `runs` finished runs of `points_per_run` points each to the project `slug`.

    A missing project is created, owned by `owner` (a user created when missing), with the
    target F1 (maximize, 0.85, judged on test, selected on validation) and a latency
    guardrail. An existing project must be `owner`'s: its runs, target and guardrails are
    kept and the new runs are added after them (numbered on, best steps by its own target).
    The runs are spread over `experiments` experiments ("sweep-01", …, made when missing).
    `progress` is called after each transaction. The same `seed` gives the same values.
    """
    _check_sizes(runs=runs, points_per_run=points_per_run, experiments=experiments,
                 points_per_block=points_per_block)
    user, _ = get_user_model().objects.get_or_create(username=owner)
    project = _project(slug=slug, user=user)
    sweeps = _experiments(project=project, user=user, count=experiments)
    target = Target.objects.filter(project=project).first()
    first = Run.objects.filter(project=project).count()
    per_transaction = max(1, min(1000, POINTS_PER_TRANSACTION // points_per_run))
    write = _write_copy if connection.vendor == "postgresql" else _write_orm
    started = time.perf_counter()
    stored_runs = stored_points = 0
    for start in range(0, runs, per_transaction):
        count = min(per_transaction, runs - start)
        rng = np.random.default_rng([seed, first + start])
        sweep = _Sweep(rng, first=first + start, count=count, points_per_run=points_per_run)
        with transaction.atomic():
            write(sweep.rows(project=project, user=user, experiments=sweeps, target=target,
                             points_per_block=points_per_block))
        stored_runs += count
        stored_points += count * points_per_run
        if progress is not None:
            progress(stored_runs, stored_points)
    _analyze()
    return Seeded(project, stored_runs, stored_points, time.perf_counter() - started)


def _check_sizes(*, runs: int, points_per_run: int, experiments: int,
                 points_per_block: int) -> None:
    if runs < 1:
        raise InvalidInput(f"runs must be at least 1, not {runs}", field="runs")
    if points_per_run < MIN_POINTS_PER_RUN:
        raise InvalidInput(
            f"points per run must be at least {MIN_POINTS_PER_RUN} (a step of loss on train "
            f"and of f1 on validation, f1 and latency_ms on test), not {points_per_run}",
            field="points_per_run")
    if experiments < 1:
        raise InvalidInput(f"experiments must be at least 1, not {experiments}",
                           field="experiments")
    if points_per_block < 1:
        raise InvalidInput(f"points per block must be at least 1, not {points_per_block}",
                           field="points_per_block")


def _project(*, slug: str, user) -> Project:
    """The project to add runs to: the owner's own, or a new one with the target."""
    slug = check_slug(slug)
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        return project_services.create_project(
            user=user, slug=slug, name=f"Sweep at scale ({slug})", target=TARGET,
            guardrails=GUARDRAILS)
    if project.deleted_at is not None:
        raise Conflict(f"project {slug!r} is in the trash: restore it or pick another slug",
                       field="project")
    if not Membership.objects.filter(project=project, user=user, role=Role.OWNER).exists():
        owners = sorted(Membership.objects.filter(project=project, role=Role.OWNER)
                        .values_list("user__username", flat=True))
        raise Conflict(
            f"project {slug!r} belongs to {', '.join(owners) or 'nobody'}, not {user.username}: "
            f"pick another slug, or name its owner (--owner {owners[0] if owners else '…'}) "
            "to add runs to it", field="project")
    return project


def _experiments(*, project: Project, user, count: int) -> list[Experiment]:
    names = [f"sweep-{i + 1:02d}" for i in range(count)]
    have = {e.name: e for e in Experiment.objects.filter(project=project, name__in=names)}
    for i, name in enumerate(names):
        if name not in have:
            have[name] = experiment_services.create_experiment(
                project=project, user=user, name=name,
                hypothesis=f"Sweep {i + 1}: the four models over learning rates from 1e-4 to "
                           "1e-1.")
    return [have[name] for name in names]


class _Sweep:
    """The values of `count` consecutive runs of the sweep, drawn at once with numpy."""

    def __init__(self, rng: np.random.Generator, *, first: int, count: int,
                 points_per_run: int):
        self.first, self.count = first, count
        per_step = points_per_run - 2
        self.loss_steps = np.arange((per_step + 1) // 2, dtype=np.int64)
        self.f1_steps = np.arange(per_step // 2, dtype=np.int64)
        last_step = int(self.loss_steps[-1])
        names = list(MODELS)
        self.models = [names[i % len(names)] for i in range(first, first + count)]
        ceiling, sweet_spot, latency = (np.array([MODELS[m][k] for m in self.models])
                                        for k in range(3))
        self.lr = 10 ** rng.uniform(-4, -1, count)
        # How good the run gets: its model's best, less for a learning rate far off the spot.
        quality = np.clip(ceiling - 0.025 * (np.log10(self.lr) - sweet_spot) ** 2
                          + rng.normal(0, 0.02, count), 0.3, 0.97)
        pace = np.maximum(len(self.f1_steps), 2) / rng.uniform(3, 8, count)  # steps to learn
        f1_progress = 1 - np.exp(-self.f1_steps[None, :] / pace[:, None])
        self.f1 = np.clip(quality[:, None] * (0.35 + 0.65 * f1_progress)
                          + rng.normal(0, 0.006, (count, len(self.f1_steps))), 0, 1)
        loss_progress = np.exp(-self.loss_steps[None, :] / pace[:, None])
        self.loss = (0.1 + (1 - quality[:, None]) + 1.2 * loss_progress
                     + np.abs(rng.normal(0, 0.015, (count, len(self.loss_steps)))))
        # Test: a little below the best validation f1 (the selection is optimistic).
        self.test_f1 = np.clip(self.f1.max(axis=1) - rng.normal(0.01, 0.01, count), 0, 1)
        self.latency = np.round(latency * rng.lognormal(0, 0.25, count), 2)
        self.test_step = np.array([last_step], dtype=np.int64)
        self.duration_ms = (last_step + 1) * STEP_MS

    def series(self, r: int) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
        """The r-th run's series: (key, split) -> (steps, values)."""
        return {("loss", "train"): (self.loss_steps, self.loss[r]),
                ("f1", "validation"): (self.f1_steps, self.f1[r]),
                ("f1", "test"): (self.test_step, self.test_f1[r:r + 1]),
                ("latency_ms", "test"): (self.test_step, self.latency[r:r + 1])}

    def rows(self, *, project: Project, user, experiments: list[Experiment],
             target: Target | None, points_per_block: int) -> "_Rows":
        """The runs, summaries and blocks to store."""
        rows = _Rows()
        selection = None if target is None else (target.metric, target.selected_on)
        for r in range(self.count):
            number = self.first + r
            started = START + number * RUN_SPACING
            started_ms = int(started.timestamp() * 1000)
            series = self.series(r)
            best_step = None
            if selection in series:
                steps, values = series[selection]
                best = best_index(values.tolist(), direction=target.direction)
                best_step = None if best is None else int(steps[best])
            run_id = uuid.uuid4()
            rows.runs.append({
                "id": run_id, "project_id": project.pk,
                "experiment_id": experiments[number % len(experiments)].pk,
                "name": f"run-{number + 1:06d}", "status": RunStatus.FINISHED,
                "started_at": started, "ended_at": started + timedelta(
                    milliseconds=self.duration_ms), "last_heartbeat": started + timedelta(
                    milliseconds=self.duration_ms), "created_by_id": user.pk,
                "created_at": started, "best_step": best_step,
                "params": {"model": self.models[r], "lr": float(f"{self.lr[r]:.3g}")}})
            for (key, split), (steps, values) in series.items():
                stamps = started_ms + steps * STEP_MS
                rows.summaries.append(_summary(run_id, key, split, steps, stamps, values,
                                               best_step))
                rows.blocks.append([
                    (int(steps[a]), int(steps[min(a + points_per_block, len(steps)) - 1]),
                     len(steps[a:a + points_per_block]),
                     points_module.pack_arrays(steps[a:a + points_per_block],
                                               stamps[a:a + points_per_block],
                                               values[a:a + points_per_block]))
                    for a in range(0, len(steps), points_per_block)])
        return rows


def _summary(run_id, key: str, split: str, steps: np.ndarray, stamps: np.ndarray,
             values: np.ndarray, best_step: int | None) -> dict:
    """A series' summary as refresh_summaries keeps it (its values are finite and rise by
    step: the last point is the latest)."""
    last = float(values[-1])
    at = None if best_step is None else int(np.searchsorted(steps, best_step))
    has_best = at is not None and at < len(steps) and int(steps[at]) == best_step
    return {"run_id": run_id, "key": key, "split": split, "count": len(steps),
            "last_value": last, "last_step": int(steps[-1]), "last_timestamp": int(stamps[-1]),
            "min_value": float(values.min()), "max_value": float(values.max()),
            "best_value": float(values[at]) if has_best else last,
            "best_step": best_step if has_best else int(steps[-1])}


class _Rows:
    """Rows of one transaction: runs, their summaries (in run order) and each summary's
    blocks (summaries[i]'s blocks are blocks[i])."""

    def __init__(self):
        self.runs: list[dict] = []
        self.summaries: list[dict] = []
        self.blocks: list[list[tuple]] = []


def _columns(model, row: dict) -> list:
    """A row's value for each of the model's columns (their defaults where it has none)."""
    return [row[f.attname] if f.attname in row else f.get_default()
            for f in model._meta.concrete_fields]


def _write_copy(rows: _Rows) -> None:
    """PostgreSQL: the rows by COPY (summary ids drawn from their sequence first)."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                       "FROM generate_series(1, %s)",
                       [MetricSummary._meta.db_table, len(rows.summaries)])
        ids = [row[0] for row in cursor.fetchall()]
        _copy(cursor, Run, [[orjson.dumps(v).decode() if isinstance(v, dict | list) else v
                             for v in _columns(Run, row)] for row in rows.runs], binary=False)
        _copy(cursor, MetricSummary, [_columns(MetricSummary, {**row, "id": sid})
                                      for row, sid in zip(rows.summaries, ids, strict=True)])
        names = ["summary_id", "first_step", "last_step", "count", "data"]
        with cursor.copy(f"COPY {PointBlock._meta.db_table} ({', '.join(names)}) "
                         "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "bigint", "bigint", "integer", "bytea"])
            for sid, blocks in zip(ids, rows.blocks, strict=True):
                for block in blocks:
                    copy.write_row((sid, *block))


_PG_TYPES = {"BigAutoField": "bigint", "AutoField": "integer", "UUIDField": "uuid",
             "CharField": "text", "BigIntegerField": "bigint", "FloatField": "double precision",
             "IntegerField": "integer"}


def _pg_type(field) -> str:
    """The type binary COPY sends a column's values as (a foreign key's: its target's)."""
    return _PG_TYPES[(field.target_field if field.is_relation else field).get_internal_type()]


def _copy(cursor, model, values: list[list], *, binary: bool = True) -> None:
    fields = model._meta.concrete_fields
    names = ", ".join(f.column for f in fields)
    fmt = " (FORMAT BINARY)" if binary else ""
    with cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN{fmt}") as copy:
        if binary:
            copy.set_types([_pg_type(f) for f in fields])
        for row in values:
            copy.write_row(row)


def _write_orm(rows: _Rows) -> None:
    """Other databases (SQLite): the same rows through bulk_create."""
    Run.objects.bulk_create([Run(**row) for row in rows.runs], batch_size=500)
    summaries = MetricSummary.objects.bulk_create(
        [MetricSummary(**row) for row in rows.summaries], batch_size=500)
    PointBlock.objects.bulk_create(
        [PointBlock(summary_id=summary.pk, first_step=first, last_step=last, count=count,
                    data=data)
         for summary, blocks in zip(summaries, rows.blocks, strict=True)
         for first, last, count, data in blocks], batch_size=500)


def _analyze() -> None:
    """Refresh the planner's statistics of the tables just filled, as autovacuum would some
    time after a bulk load (stale statistics turn the summary joins into nested loops)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Run, MetricSummary, PointBlock):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
