"""Moving in from MLflow: what an MLflow tracking server holds, copied into Targetline.

`manage.py import_mlflow` (api/management/commands/import_mlflow.py) drives it. It reads the
server with the mlflow client and writes through the very paths an MLflow client's calls
take here, so what it imports is what those scripts would have logged live:
- experiments go where placement.py puts a new MLflow experiment (or all into one project);
- a run keeps its MLflow id (MLflow's run ids are UUIDs written as 32 hex digits), so
  `runs:/<id>/…` URIs, parent links (the tag mlflow.parentRunId) and the run's page address
  keep working; its points go through logging_calls.write_call, the log-batch path, in the
  order they were logged, so their splits are mapped by tracker.mlflow_mapping as live;
- datasets through runs.log_run_datasets, files through the artifact service (with their
  SHA-256), MLflow 3's logged models with the run that logged them (as logged_models.py keeps
  them), registered models and their versions (keeping their numbers), stages and aliases
  through the registry's services.

Running it again adds only what is missing. Each run is copied in one transaction, so an
interrupted import leaves every run whole or absent; a run found already imported and
finished is skipped; one still running on the MLflow side is brought up to date (its points
are idempotent: a point is stored once per series, step and timestamp, as ingest stores it).
"""

import hashlib
import mimetypes
import tempfile
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.db import transaction

from api.mlflow import batch, logging_calls, placement, shapes
from api.mlflow.errors import MlflowError
from api.mlflow.logged_models import record_model_metrics
from api.mlflow.sources import check_source
from tracker import limits, mlflow_mapping
from tracker.errors import TargetlineError
from tracker.models import Experiment, ModelStage, Project, RegisteredModel, Run, RunStatus
from tracker.permissions import can_write
from tracker.selectors import model_registry as registry_selectors
from tracker.services import artifacts as artifact_services
from tracker.services import experiments as experiment_services
from tracker.services import model_registry as registry_services
from tracker.services import projects as project_services
from tracker.services import runs as run_services

try:  # the optional `import` extra: the server itself never needs the mlflow client
    from mlflow import MlflowClient
    from mlflow import artifacts as mlflow_artifacts
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request
except ImportError:  # pragma: no cover - exercised by installs without the extra
    MlflowClient = ViewType = get_default_host_creds = http_request = mlflow_artifacts = None

    class MlflowException(Exception):
        """Stands in for mlflow's exception when the client is not installed."""

INSTALL_HINT = ("the MLflow importer needs the mlflow client: pip install "
                "'targetline-server[import]' (or pip install 'mlflow-skinny>=3,<4')")
_TERMINAL = {"FINISHED": RunStatus.FINISHED, "FAILED": RunStatus.FAILED,
             "KILLED": RunStatus.KILLED}
_PAGE = 1000
PROBE_SECONDS = 15
# How an imported run remembers where it came from, in its context (shown on the run's page;
# MLflow clients never read it back): "MLflow run <id> on <tracking server>".
SOURCE_KEY = "imported_from"
MODELS_KEY = mlflow_mapping.LOGGED_MODELS_KEY
OUTPUTS_KEY = mlflow_mapping.MODEL_OUTPUTS_KEY


class VersionLeftOut(Exception):
    """Why a model version is not imported."""


class ImportRefused(Exception):
    """The import cannot start (no client, a server that does not answer, an unknown
    experiment): the message says what to do."""


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
            f"artifacts: {self.artifacts} files imported",
            f"logged models: {self.logged_models} imported",
            f"registered models: {self.models} imported, {self.versions} versions, "
            f"{self.aliases} aliases",
        ]
        for (what, why), count in sorted(self.skipped.items()):
            lines.append(f"skipped {count} {what}{'' if count == 1 else 's'}: {why}")
        return lines


def _millis_time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def run_uuid(mlflow_run_id: str) -> uuid.UUID:
    """The id a run imported from MLflow gets: its own (32 hex digits), or for a run id that
    is no UUID (other MLflow-compatible servers) one derived from it, the same every time."""
    try:
        return uuid.UUID(hex=mlflow_run_id)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"mlflow-run:{mlflow_run_id}")


def connect(tracking_uri: str):
    """An mlflow client of the server, checked to answer as one; ImportRefused otherwise."""
    if MlflowClient is None:
        raise ImportRefused(INSTALL_HINT)
    refused = f"cannot read the MLflow tracking server at {tracking_uri}"
    try:
        if tracking_uri.startswith(("http://", "https://")):
            # Asked once, without the client's retries (seven, with backoff: minutes).
            answer = http_request(get_default_host_creds(tracking_uri),
                                  "/api/2.0/mlflow/experiments/search", "GET", max_retries=0,
                                  timeout=PROBE_SECONDS, raise_on_status=False,
                                  params={"max_results": 1})
            if answer.status_code in (401, 403):
                raise ImportRefused(
                    f"{refused}: it refused the credentials (HTTP {answer.status_code}); set "
                    "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and "
                    "MLFLOW_TRACKING_PASSWORD, as for any MLflow client")
            if answer.status_code != 200:
                raise ImportRefused(f"{refused}: it answered HTTP {answer.status_code} where an "
                                    "MLflow server lists its experiments")
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        client.search_experiments(max_results=1)
    except (MlflowException, OSError) as exc:  # requests' errors are OSErrors
        raise ImportRefused(f"{refused}: {_message(exc)}") from None
    return client


def _pages(search: Callable, **kwargs) -> Iterator:
    """Every item of a paged mlflow client search."""
    token = None
    while True:
        page = search(max_results=_PAGE, page_token=token, **kwargs)
        yield from page
        token = page.token
        if not token:
            return


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


class Importer:
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

    # --- Experiments -----------------------------------------------------------------------

    def source_experiments(self, names: list[str] | None) -> tuple[list, int]:
        """The MLflow experiments to import: those named (ImportRefused for a name the server
        does not know, or a deleted one without include_deleted), else all of them, deleted
        ones only with include_deleted; and how many deleted ones are left out."""
        everything = list(_pages(self.client.search_experiments, view_type=ViewType.ALL))
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
                    self.summary.skip("experiment", f"cannot be placed ({_message(exc)})")
                    self.progress("experiment", f"experiment {source.name!r}: skipped, "
                                                f"{_message(exc)}")
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
            deleted = sum(1 for _ in _pages(
                self.client.search_runs, experiment_ids=[source_experiment.experiment_id],
                run_view_type=ViewType.DELETED_ONLY))
            for _ in range(deleted):
                self.summary.skip("run", "deleted in MLflow (--include-deleted imports them)")
        logged_models = self._source_logged_models(source_experiment.experiment_id)
        for source in _pages(self.client.search_runs,
                             experiment_ids=[source_experiment.experiment_id],
                             run_view_type=view, order_by=["attributes.start_time ASC"]):
            self._run(source, experiment, logged_models.get(source.info.run_id, []))

    def _source_logged_models(self, experiment_id: str) -> dict[str, list]:
        """MLflow 3's logged models of an experiment, by the run that logged them (a server
        older than MLflow 3 has none)."""
        by_run = defaultdict(list)
        try:
            for model in _pages(self.client.search_logged_models, experiment_ids=[experiment_id]):
                if model.source_run_id:
                    by_run[model.source_run_id].append(model)
        except MlflowException:
            return {}
        return by_run

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
            self.summary.skip("run", f"failed ({_message(exc)})")
            self.progress("run", f"  {label}: failed, {_message(exc)}; nothing of it was kept")
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
        self.progress("run", f"  {label}: {points} points, {files} artifacts, {datasets} "
                             f"datasets, {models} logged models"
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

    def _store_files(self, run: Run, files: Iterator, *, prefix: str, fetch) -> int:
        """Download each of `files` ((path, size)) the run lacks under `prefix` (a path it
        has at the same size is there) with `fetch(path, folder)` -> local file, and store it
        through the artifact service, which records its SHA-256; how many were stored."""
        have = dict(run.artifacts.values_list("path", "size"))
        stored = 0
        for path, size in files:
            target = f"{prefix}{path}"
            if target in have and (size is None or have[target] == size):
                continue
            with (tempfile.TemporaryDirectory(prefix="targetline-import-") as folder,
                  Path(fetch(path, folder)).open("rb") as handle):
                artifact_services.store_artifact(
                    run=run, path=target, fileobj=handle,
                    content_type=mimetypes.guess_type(target)[0] or "")
            stored += 1
        return stored

    # --- MLflow 3's logged models -----------------------------------------------------------

    def _logged_model(self, run: Run, source) -> tuple[int, int]:
        """Keep an MLflow 3 logged model with its run as logged_models.create_logged_model
        keeps one logged live (its record in the run's context, its files among the run's
        artifacts in its folder), with its metrics; (1 when new, files stored)."""
        model_id = logged_model_id(run, source.model_id)
        status = str(getattr(source.status, "name", source.status) or "READY")
        record = {"name": source.name or "model", "model_type": source.model_type or "",
                  "status": status if status.startswith("LOGGED_MODEL_")
                  else f"LOGGED_MODEL_{status}",
                  "status_message": source.status_message or "",
                  "tags": dict(source.tags or {}), "params": dict(source.params or {}),
                  "created_ms": source.creation_timestamp,
                  "updated_ms": source.last_updated_timestamp,
                  "creator": self.owner.get_username()}
        new = model_id not in (run.context or {}).get(MODELS_KEY, {})

        def add(models):
            models = dict(models or {})
            if model_id not in models:
                taken = {m["path"] for m in models.values()}
                name = record["name"]
                record["path"] = name if name not in taken else f"{name}-{model_id[-8:]}"
                models[model_id] = record
            return models
        path = run_services.update_run_context(run=run, key=MODELS_KEY,
                                               update=add)[model_id]["path"]
        if new and source.metrics:
            record_model_metrics(run, [
                {"key": m.key, "value": m.value, "step": m.step, "timestamp": m.timestamp,
                 "model_id": model_id, "dataset_name": m.dataset_name,
                 "dataset_digest": m.dataset_digest} for m in source.metrics])
        files = self._store_files(
            run, self._model_files(source.model_id), prefix=f"{path}/",
            fetch=lambda rel, folder: mlflow_artifacts.download_artifacts(
                artifact_uri=f"{source.artifact_location.rstrip('/')}/{rel}",
                dst_path=folder, tracking_uri=self.tracking_uri))
        return int(new), files

    def _model_files(self, model_id: str, path: str = "") -> Iterator:
        """(path, size) of every file of a logged model, folders walked."""
        for info in self.client.list_logged_model_artifacts(model_id, path or None):
            if info.is_dir:
                yield from self._model_files(model_id, info.path)
            else:
                yield info.path, info.file_size

    def _model_outputs(self, run: Run, source) -> None:
        """The run's model outputs (the logged models it produced), under their new ids."""
        outputs = getattr(getattr(source, "outputs", None), "model_outputs", None) or []
        known = (run.context or {}).get(MODELS_KEY, {})
        mapped = [{"model_id": logged_model_id(run, o.model_id), "step": int(o.step or 0)}
                  for o in outputs if logged_model_id(run, o.model_id) in known]
        if not mapped:
            return

        def add(current):
            current = list(current or [])
            return current + [o for o in mapped if o not in current]
        run_services.update_run_context(run=run, key=OUTPUTS_KEY, update=add)

    # --- Registered models ------------------------------------------------------------------

    def _models(self, *, only_selected: bool) -> None:
        """The registered models (with their versions, stages and aliases). With experiments
        chosen, only models with a version made from one of their runs."""
        for source in _pages(self.client.search_registered_models):
            versions = sorted(_pages(self.client.search_model_versions,
                                     filter_string=f"name = '{_quoted(source.name)}'"),
                              key=lambda v: int(v.version))
            runs = {run_uuid(v.run_id) for v in versions if v.run_id}
            if only_selected and not runs & self.selected_runs:
                continue
            try:
                with transaction.atomic():
                    self._model(source, versions)
            except (MlflowError, TargetlineError, MlflowException, OSError) as exc:
                self.summary.skip("registered model", f"failed ({_message(exc)})")
                self.progress("model", f"model {source.name!r}: failed, {_message(exc)}")

    def _model(self, source, versions: list) -> None:
        model, created = self._target_model(source, versions)
        new_versions = 0
        for version in versions:
            number = int(version.version)
            if model.versions.filter(version=number).exists():
                self.summary.skip("model version", "already imported")
                continue
            run = None
            if version.run_id:
                run = Run.objects.filter(id=run_uuid(version.run_id)).select_related(
                    "project").first()
                if run is None:
                    self.summary.skip("model version", "its run was not imported")
                    continue
            try:
                source_path, model_id = self._version_source(version, run)
            except VersionLeftOut as why:
                self.summary.skip("model version", str(why))
                continue
            copied = registry_services.create_version(
                user=self.owner, model=model, source=source_path, run=run,
                logged_model_id=model_id,
                tags=dict(version.tags or {}), description=version.description or "",
                run_link=version.run_link or "", number=number)
            if version.current_stage and version.current_stage != ModelStage.NONE:
                registry_services.transition_stage(version=copied, stage=version.current_stage)
            new_versions += 1
        numbers = set(model.versions.values_list("version", flat=True))
        aliases = 0
        for alias, number in (source.aliases or {}).items():
            if int(number) in numbers and model.aliases.get(alias) != int(number):
                registry_services.set_alias(model=model, alias=alias, version=int(number))
                aliases += 1
        self.summary.models += created
        self.summary.versions += new_versions
        self.summary.aliases += aliases
        if not created and not new_versions and not aliases:
            self.summary.skip("registered model", "already imported")
        self.progress("model", f"model {source.name!r}: {new_versions} versions, {aliases} "
                               f"aliases{'' if created else ' (already there)'}")

    def _version_source(self, version, run: Run | None) -> tuple[str, str]:
        """(source, logged model id) of an imported version, as a client registering it here
        would give them: a logged model's `models:/m-…` names the imported logged model; a
        source inside its run's artifacts (`mlflow-artifacts:/1/<run>/artifacts/model`,
        `s3://…/<run>/artifacts/model`, a local path) becomes `runs:/<run>/model`, which
        points at the imported files. VersionLeftOut says why a version cannot come."""
        source_model = _source_model_id(version)
        if source_model:
            if run is None:
                raise VersionLeftOut("its logged model was logged by no run")
            model_id = logged_model_id(run, source_model)
            if model_id not in (run.context or {}).get(MODELS_KEY, {}):
                raise VersionLeftOut("its logged model was not imported")
            return f"models:/{model_id}", model_id
        source = version.source or ""
        if run is not None:
            root = self.client.get_run(version.run_id).info.artifact_uri.rstrip("/") + "/"
            if source.startswith(root):
                source = f"runs:/{version.run_id}/{source[len(root):].strip('/')}"
        try:
            check_source(source)
        except MlflowError as exc:
            raise VersionLeftOut(f"its source is refused here ({_message(exc)})") from None
        return source, ""

    def _target_model(self, source, versions: list) -> tuple[RegisteredModel, bool]:
        """The registered model an MLflow one becomes: the one an earlier import made (in the
        project of its versions' runs, or the chosen project), else a new one."""
        run_projects = list(Run.objects.filter(
            id__in=[run_uuid(v.run_id) for v in versions if v.run_id]).values_list(
            "project_id", flat=True).distinct())
        candidates = registry_selectors.visible_models(self.owner).filter(name=source.name)
        if self.project is not None:
            candidates = candidates.filter(project=self.project)
        elif run_projects:
            candidates = candidates.filter(project_id__in=run_projects)
        else:
            candidates = candidates.filter(project__isnull=True)
        model = candidates.order_by("created_at", "id").first()
        if model is not None:
            return model, False
        model = registry_services.create_model(
            user=self.owner, name=source.name, project=self.project,
            description=source.description or "", tags=dict(source.tags or {}))
        return model, True


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


def logged_model_id(run: Run, mlflow_model_id: str) -> str:
    """The id an imported logged model gets, as logged_models.py makes them (the run's id
    and 8 hex digits), the same at every import."""
    return f"m-{run.id.hex}-{hashlib.sha256(mlflow_model_id.encode()).hexdigest()[:8]}"


def _source_model_id(version) -> str:
    """The MLflow logged model a version was made from (its `models:/m-…` source), or ""."""
    model_id = getattr(version, "model_id", None) or ""
    if not model_id and (version.source or "").startswith("models:/m-"):
        model_id = version.source[len("models:/"):].split("/")[0]
    return model_id


def _without_credentials(uri: str) -> str:
    """The URI without a user and password it may carry (http://user:secret@host)."""
    parts = urllib.parse.urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


def _message(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return str(text).splitlines()[0][:300] if text else type(exc).__name__
