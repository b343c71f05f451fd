"""Moving in from MLflow: what an MLflow tracking server holds, copied into Targetline.

`manage.py import_mlflow` (api/management/commands/import_mlflow.py) drives it. It reads the
server with the mlflow client (import_client.py) and writes through the very paths an MLflow
client's calls take here, so what it imports is what those scripts would have logged live:
- experiments go where placement.py puts a new MLflow experiment (or all into one project);
- a run keeps its MLflow id (MLflow's run ids are UUIDs written as 32 hex digits), so
  `runs:/<id>/…` URIs, parent links (the tag mlflow.parentRunId) and the run's page address
  keep working; its points go through logging_calls.write_call, the log-batch path, in the
  order they were logged, so their splits are mapped by tracker.mlflow_mapping as live;
- datasets through runs.log_run_datasets, files through the artifact service (with their
  SHA-256); MLflow 3's logged models with the run that logged them, or with files of their
  own when no run did (as logged_models.py keeps them), registered models and their
  versions (keeping their numbers), stages and aliases through the registry's services
  (import_models.py).

Running it again adds only what is missing. Each run is copied in one transaction, so an
interrupted import leaves every run whole or absent; a run found already imported and
finished is skipped; one still running on the MLflow side is brought up to date (its points
are idempotent: a point is stored once per series, step and timestamp, as ingest stores it).
"""

import mimetypes
import tempfile
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction

from api.mlflow import batch, logging_calls, placement, shapes
from api.mlflow.errors import MlflowError
from api.mlflow.import_client import (
    ImportRefused,
    MlflowException,
    ViewType,
    counted,
    message,
    pages,
    run_uuid,
)
from api.mlflow.import_models import ModelsImport
from tracker import limits, mlflow_mapping
from tracker.errors import TargetlineError
from tracker.models import Artifact, Experiment, LoggedModel, Project, Run, RunStatus
from tracker.permissions import can_write
from tracker.services import artifacts as artifact_services
from tracker.services import experiments as experiment_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

_TERMINAL = {"FINISHED": RunStatus.FINISHED, "FAILED": RunStatus.FAILED,
             "KILLED": RunStatus.KILLED}
# How an imported run remembers where it came from, in its context (shown on the run's page;
# MLflow clients never read it back): "MLflow run <id> on <tracking server>".
SOURCE_KEY = "imported_from"


@dataclass
class Summary:
    """What an import did, and what it left out and why."""

    experiments: int = 0  # created in Targetline
    experiments_found: int = 0  # imported before (or made live), reused
    runs: int = 0
    runs_updated: int = 0
    nested_runs: int = 0
    points: int = 0
    datasets: int = 0
    artifacts: int = 0
    logged_models: int = 0
    models: int = 0
    versions: int = 0
    aliases: int = 0
    skipped: Counter = field(default_factory=Counter)  # (what, why) -> how many

    def skip(self, what: str, why: str) -> None:
        self.skipped[(what, why)] += 1

    def lines(self) -> list[str]:
        lines = [
            f"experiments: {self.experiments} imported, {self.experiments_found} already there",
            f"runs: {self.runs} imported ({self.nested_runs} nested), {self.runs_updated} "
            "brought up to date",
            f"metric points: {self.points} imported",
            f"datasets: {self.datasets} imported",
            f"artifacts: {counted(self.artifacts, 'file')} imported",
            f"logged models: {self.logged_models} imported",
            f"registered models: {self.models} imported, {counted(self.versions, 'version')}, "
            f"{counted(self.aliases, 'alias', 'aliases')}",
        ]
        for (what, why), count in sorted(self.skipped.items()):
            lines.append(f"skipped {counted(count, what)}: {why}")
        return lines


def _millis_time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


class Importer(ModelsImport):
    """One import of an MLflow tracking server into Targetline, done by `run()`.

    `owner`: the user the projects, experiments, runs and models are created for (their
    creator, as the token's user is for MLflow clients logging live). `project`: one project
    for everything, else each experiment goes where placement.py puts it. `progress(kind,
    text)` hears of each experiment ("experiment"), run ("run") and model ("model").
    """

    def __init__(self, *, client, tracking_uri: str, owner, project: Project | None = None,
                 include_deleted: bool = False,
                 progress: Callable[[str, str], None] = lambda kind, text: None):
        self.client = client
        self.tracking_uri = tracking_uri
        self.owner = owner
        self.project = project
        self.include_deleted = include_deleted
        self.progress = progress
        self.summary = Summary()
        self.selected_runs: set[uuid.UUID] = set()  # the runs of the experiments chosen
        self.selected_models: set[str] = set()  # and their logged models of no run

    # --- Experiments -----------------------------------------------------------------------

    def source_experiments(self, names: list[str] | None) -> tuple[list, int]:
        """The MLflow experiments to import: those named (ImportRefused for a name the server
        does not know, or a deleted one without include_deleted), else all of them, deleted
        ones only with include_deleted; and how many deleted ones are left out."""
        everything = list(pages(self.client.search_experiments, view_type=ViewType.ALL))
        if not names:
            chosen = [e for e in everything
                      if self.include_deleted or e.lifecycle_stage != "deleted"]
            return (sorted(chosen, key=lambda e: int(e.experiment_id)
                           if e.experiment_id.isdigit() else e.experiment_id),
                    len(everything) - len(chosen))
        by_name = {e.name: e for e in everything}
        missing = [name for name in names if name not in by_name]
        if missing:
            known = ", ".join(sorted(n for n, e in by_name.items()
                                     if e.lifecycle_stage != "deleted")[:20]) or "none"
            raise ImportRefused(
                f"no experiment named {', '.join(repr(m) for m in missing)} on "
                f"{self.tracking_uri} (its experiments: {known})")
        deleted = [name for name in names if by_name[name].lifecycle_stage == "deleted"]
        if deleted and not self.include_deleted:
            raise ImportRefused(f"the experiment {deleted[0]!r} is deleted in MLflow: add "
                                "--include-deleted to import it (as deleted)")
        return [by_name[name] for name in dict.fromkeys(names)], 0

    def run(self, experiment_names: list[str] | None = None) -> Summary:
        """Import the experiments (all, or those named) with their runs, then the registered
        models; returns what was done. KeyboardInterrupt leaves every run whole or absent."""
        sources, left_out = self.source_experiments(experiment_names)
        for _ in range(left_out):
            self.summary.skip("experiment", "deleted in MLflow (--include-deleted imports them)")
        for source in sources:
            experiment = self._experiment(source)
            if experiment is not None:
                self._runs(source, experiment)
                if source.lifecycle_stage == "deleted":  # deleted after its runs came
                    experiment_services.delete_experiment(experiment=experiment,
                                                          user=self.owner)
        self._models(only_selected=bool(experiment_names))
        return self.summary

    def _experiment(self, source) -> Experiment | None:
        """The Targetline experiment an MLflow experiment becomes (made on first import)."""
        tags = dict(source.tags or {})
        with transaction.atomic():
            if source.name == placement.DEFAULT_EXPERIMENT_NAME and self.project is None:
                found = placement.default_experiment(self.owner, create=False)
                experiment = found or placement.default_experiment(self.owner)
                created = found is None
            else:
                try:
                    experiment, created = self._placed_experiment(source.name, tags)
                except (MlflowError, TargetlineError) as exc:
                    self.summary.skip("experiment", f"cannot be placed ({message(exc)})")
                    self.progress("experiment",
                                  f"experiment {source.name!r}: skipped, {message(exc)}")
                    return None
        if experiment.deleted_at is not None:
            why = ("already imported" if source.lifecycle_stage == "deleted"
                   else "deleted in Targetline after it was imported")
            self.summary.skip("experiment", why)
            self.progress("experiment", f"experiment {source.name!r}: skipped, {why}")
            return None
        if created:
            self.summary.experiments += 1
        else:
            self.summary.experiments_found += 1
        self.progress("experiment", f"experiment {source.name!r} -> project "
                                    f"{experiment.project.slug}, experiment "
                                    f"{experiment.name!r}{'' if created else ' (already there)'}")
        return experiment

    def _placed_experiment(self, name: str, tags: dict) -> tuple[Experiment, bool]:
        """As experiments/create places and makes it (api/mlflow/experiments.py), or the one
        an earlier import made."""
        if self.project is not None:
            project, created_project = self.project, False
        else:
            project, created_project = placement.project_for_new_experiment(
                self.owner, name, tags)
        inner_name = placement.experiment_name_in(project, name)
        existing = Experiment.objects.filter(project=project, name=inner_name).first()
        if existing is not None:
            return existing, False
        tags[placement.PROJECT_TAG] = project.slug
        if created_project:
            tags.update(placement.new_project_tags(self.owner, project, name))
        experiment = experiment_services.create_experiment(project=project, user=self.owner,
                                                           name=inner_name)
        for chunk in _chunks(list(tags.items()), limits.MAX_TAGS_PER_BATCH):
            experiment_services.set_experiment_tags(experiment=experiment, tags=dict(chunk))
        return experiment, True

    # --- Runs ------------------------------------------------------------------------------

    def _runs(self, source_experiment, experiment: Experiment) -> None:
        view = ViewType.ALL if self.include_deleted else ViewType.ACTIVE_ONLY
        if not self.include_deleted:  # counted, to say in the summary what was left out
            deleted = sum(1 for _ in pages(
                self.client.search_runs, experiment_ids=[source_experiment.experiment_id],
                run_view_type=ViewType.DELETED_ONLY))
            for _ in range(deleted):
                self.summary.skip("run", "deleted in MLflow (--include-deleted imports them)")
        logged_models = self._source_logged_models(source_experiment.experiment_id)
        # First the models of no run, so that the runs' metrics naming them find them.
        for model in logged_models.get(None, []):
            self._model_of_no_run(experiment, model)
        for source in pages(self.client.search_runs,
                            experiment_ids=[source_experiment.experiment_id],
                            run_view_type=view, order_by=["attributes.start_time ASC"]):
            self._run(source, experiment, logged_models.get(source.info.run_id, []))

    def _run(self, source, experiment: Experiment, logged_models: list) -> None:
        info = source.info
        run_id = run_uuid(info.run_id)
        self.selected_runs.add(run_id)
        label = f"run {info.run_name or info.run_id!r} ({info.run_id})"
        existing = Run.objects.filter(id=run_id).select_related("project").first()
        why = self._already(existing, info, experiment)
        if why:
            self.summary.skip("run", why)
            self.progress("run", f"  {label}: skipped, {why}")
            return
        try:
            with transaction.atomic():
                points, files, datasets, models = self._copy_run(source, experiment, existing,
                                                                 logged_models)
        except (MlflowError, TargetlineError, MlflowException, OSError) as exc:
            self.summary.skip("run", f"failed ({message(exc)})")
            self.progress("run", f"  {label}: failed, {message(exc)}; nothing of it was kept")
            return
        if existing is None:
            self.summary.runs += 1
            if (source.data.tags or {}).get(mlflow_mapping.PARENT_RUN_TAG):
                self.summary.nested_runs += 1
        else:
            self.summary.runs_updated += 1
        self.summary.points += points
        self.summary.artifacts += files
        self.summary.datasets += datasets
        self.summary.logged_models += models
        self.progress("run", f"  {label}: {counted(points, 'point')}, "
                             f"{counted(files, 'file')}, {counted(datasets, 'dataset')}, "
                             f"{counted(models, 'logged model')}"
                             f"{'' if existing is None else ' (brought up to date)'}")

    def _already(self, existing: Run | None, info, experiment: Experiment) -> str:
        """Why a run is not copied (again), or ""."""
        if existing is None:
            return ""
        if existing.project_id != experiment.project_id:
            return "already imported into another project"
        if existing.deleted_at is not None:
            return ("already imported" if info.lifecycle_stage == "deleted"
                    else "already imported, since deleted in Targetline")
        if existing.status != RunStatus.RUNNING and info.status in _TERMINAL:
            return "already imported"
        return ""

    def _copy_run(self, source, experiment: Experiment, existing: Run | None,
                  logged_models: list) -> tuple[int, int, int, int]:
        """Create (or find) the run and copy what it lacks; (points, files, datasets, logged
        models) new."""
        info, data = source.info, source.data
        tags = {k: v for k, v in (data.tags or {}).items() if k != shapes.RUN_NAME_TAG}
        name = info.run_name or (data.tags or {}).get(shapes.RUN_NAME_TAG, "")
        tag_items = list(tags.items())
        first_tags = dict(tag_items[:limits.MAX_TAGS_PER_BATCH])
        if existing is None:
            commit = tags.get("mlflow.source.git.commit", "")
            run, _ = run_services.create_run(
                project=experiment.project, user=self.owner, experiment=experiment,
                name=name, run_id=run_uuid(info.run_id), tags=first_tags,
                started_at=_millis_time(info.start_time), git_commit=commit,
                context={SOURCE_KEY: f"MLflow run {info.run_id} on "
                                     f"{_without_credentials(self.tracking_uri)}"})
        else:
            run = existing
        datasets = self._datasets(run, source)
        points = self._points(run, info.run_id, data, tag_items[limits.MAX_TAGS_PER_BATCH:]
                              if existing is None else tag_items)
        files = self._artifacts(run, info.run_id)
        models = 0
        for model in logged_models:
            new, model_files = self._logged_model(run, model)
            models, files = models + new, files + model_files
        self._model_outputs(run, source)
        if info.status in _TERMINAL:
            run_services.finish_run(run=run, status=_TERMINAL[info.status],
                                    ended_at=_millis_time(info.end_time))
        if info.lifecycle_stage == "deleted":
            run_services.delete_run(run=run, user=self.owner)
        return points, files, datasets, models

    def _datasets(self, run: Run, source) -> int:
        """The run's inputs, recorded before its points (a metric logged against a dataset
        takes its split from the dataset's context, as live)."""
        inputs = getattr(source, "inputs", None)
        items = []
        for item in (getattr(inputs, "dataset_inputs", None) or []):
            dataset = item.dataset
            items.append({"name": dataset.name, "digest": dataset.digest,
                          "source_type": dataset.source_type or "",
                          "source": dataset.source or "", "schema": dataset.schema or "",
                          "profile": dataset.profile or "",
                          "tags": {t.key: t.value or "" for t in item.tags or []}})
        return run_services.log_run_datasets(run=run, datasets=items) if items else 0

    def _points(self, run: Run, mlflow_run_id: str, data, tags: list) -> int:
        """The run's params, remaining tags and whole metric histories, as log-batch calls in
        the order the points were logged (by timestamp, then step)."""
        points = []
        for key in sorted(data.metrics or {}):
            for metric in self.client.get_metric_history(mlflow_run_id, key):
                points.append((metric.timestamp, metric.step, key, metric.value,
                               getattr(metric, "dataset_name", None),
                               getattr(metric, "dataset_digest", None)))
        points.sort(key=lambda p: (p[0], p[1]))
        point_chunks = _chunks(points, batch.MAX_METRICS_PER_BATCH * 10)
        param_chunks = _chunks(list((data.params or {}).items()), limits.MAX_PARAMS_PER_BATCH)
        tag_chunks = _chunks(tags, limits.MAX_TAGS_PER_BATCH)
        stored = 0
        for i in range(max(len(point_chunks), len(param_chunks), len(tag_chunks))):
            chunk = point_chunks[i] if i < len(point_chunks) else []
            by_name: dict = {}
            datasets: dict = {}
            for timestamp, step, key, value, dataset_name, digest in chunk:
                columns = by_name.setdefault(key, ([], [], []))
                columns[0].append(step)
                columns[1].append(timestamp)
                columns[2].append(float(value))
                if dataset_name:
                    datasets.setdefault(key, (dataset_name, digest or ""))
            params = dict(param_chunks[i]) if i < len(param_chunks) else {}
            tag_part = dict(tag_chunks[i]) if i < len(tag_chunks) else {}
            if not (by_name or params or tag_part):
                continue
            call = batch.LogBatch(by_name, {k: str(v) for k, v in params.items()},
                                  {k: "" if v is None else str(v) for k, v in tag_part.items()},
                                  None, [], datasets)
            stored += logging_calls.write_call(run, call)
        return stored

    def _artifact_files(self, mlflow_run_id: str, path: str = "") -> Iterator:
        """(path, size) of every file among the run's artifacts, folders walked."""
        for info in self.client.list_artifacts(mlflow_run_id, path or None):
            if info.is_dir:
                yield from self._artifact_files(mlflow_run_id, info.path)
            else:
                yield info.path, info.file_size

    def _artifacts(self, run: Run, mlflow_run_id: str) -> int:
        """The run's files it lacks, downloaded and stored; how many."""
        return self._store_files(
            run, self._artifact_files(mlflow_run_id), prefix="",
            fetch=lambda path, folder: self.client.download_artifacts(mlflow_run_id, path,
                                                                      folder))

    def _store_files(self, owner: Run | LoggedModel, files: Iterator, *, prefix: str,
                     fetch) -> int:
        """Download each of `files` ((path, size)) the run (or logged model of no run) lacks
        under `prefix` (a path it has at the same size is there) with `fetch(path, folder)`
        -> local file, and store it through the artifact service, which records its SHA-256;
        how many were stored."""
        whose = {"run": owner} if isinstance(owner, Run) else {"logged_model": owner}
        have = dict(Artifact.objects.filter(**whose).values_list("path", "size"))
        stored = 0
        for path, size in files:
            target = f"{prefix}{path}"
            if target in have and (size is None or have[target] == size):
                continue
            with (tempfile.TemporaryDirectory(prefix="targetline-import-") as folder,
                  Path(fetch(path, folder)).open("rb") as handle):
                artifact_services.store_artifact(
                    **whose, path=target, fileobj=handle,
                    content_type=mimetypes.guess_type(target)[0] or "")
            stored += 1
        return stored

def find_or_create_project(*, owner, slug: str) -> Project:
    """The project `--project` names, created with `owner` as owner when there is none; it
    must be one the owner may write to."""
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        return project_services.create_project(user=owner, slug=slug, name=slug)
    role = project.memberships.filter(user=owner).values_list("role", flat=True).first()
    if not can_write(role):
        raise ImportRefused(f"{owner.get_username()} may not write to project {slug!r}: add "
                            "them as a member or owner, or name another --owner")
    if project.deleted_at is not None:
        raise ImportRefused(f"project {slug!r} is in the trash; restore it first")
    return project


def _without_credentials(uri: str) -> str:
    """The URI without a user and password it may carry (http://user:secret@host)."""
    parts = urllib.parse.urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


