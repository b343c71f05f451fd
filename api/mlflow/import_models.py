"""MLflow 3's logged models and the model registry, for the MLflow importer (importer.py):
kept as api/mlflow/logged_models.py and model_registry.py keep what a client logs live."""

from collections import defaultdict
from collections.abc import Iterator

from django.db import transaction

from api.mlflow.errors import MlflowError
from api.mlflow.import_client import (
    MlflowException,
    counted,
    message,
    mlflow_artifacts,
    pages,
    run_uuid,
)
from api.mlflow.sources import check_source
from tracker.errors import TargetlineError
from tracker.models import Experiment, LoggedModel, ModelStage, RegisteredModel, Run
from tracker.selectors import model_registry as registry_selectors
from tracker.services import logged_models as logged_model_services
from tracker.services import model_registry as registry_services


class VersionLeftOut(Exception):
    """Why a model version is not imported."""


class ModelsImport:
    """The importer's part for logged models and registered models. Mixed into
    importer.Importer, whose attributes it reads (client, tracking_uri, owner, project,
    summary, progress, selected_runs) and whose _store_files stores a model's files."""

    def _source_logged_models(self, experiment_id: str) -> dict[str | None, list]:
        """MLflow 3's logged models of an experiment, by the run that logged them, those of
        no run under None (a server older than MLflow 3 has none)."""
        by_run = defaultdict(list)
        try:
            for model in pages(self.client.search_logged_models, experiment_ids=[experiment_id]):
                by_run[model.source_run_id or None].append(model)
        except MlflowException:
            return {}
        return by_run

    def _kept_logged_model(self, experiment: Experiment, run: Run | None,
                           source) -> tuple[LoggedModel, bool]:
        """The LoggedModel an MLflow one becomes, under its MLflow id, in `experiment` (and
        `run`), as one logged live; (it, whether it is new)."""
        model = LoggedModel.objects.filter(model_id=source.model_id).first()
        if model is not None:
            return model, False
        status = str(getattr(source.status, "name", source.status) or "READY")
        model = logged_model_services.create_logged_model(
            user=self.owner, experiment=experiment, run=run, name=source.name or None,
            model_type=source.model_type or "", tags=dict(source.tags or {}),
            params=dict(source.params or {}), model_id=source.model_id)
        model = logged_model_services.finalize_logged_model(
            model=model, status=status if status.startswith("LOGGED_MODEL_")
            else f"LOGGED_MODEL_{status}")
        return model, True

    def _fetch_model_file(self, source):
        """How a logged model's file (its path inside the model) is downloaded to a folder."""
        return lambda rel, folder: mlflow_artifacts.download_artifacts(
            artifact_uri=f"{source.artifact_location.rstrip('/')}/{rel}", dst_path=folder,
            tracking_uri=self.tracking_uri)

    def _model_of_no_run(self, experiment: Experiment, source) -> None:
        """Keep an MLflow 3 logged model made outside any run (initialize_logged_model,
        set_active_model, GenAI code) in `experiment`, with its own files, in one
        transaction; counted in the summary."""
        self.selected_models.add(source.model_id)
        with transaction.atomic():
            model, new = self._kept_logged_model(experiment, None, source)
            files = self._store_files(model, self._model_files(source.model_id), prefix="",
                                      fetch=self._fetch_model_file(source))
        self.summary.logged_models += int(new)
        self.summary.artifacts += files
        self.progress("run", f"  logged model {model.name} ({model.model_id}, of no run): "
                             f"{'imported' if new else 'already there'}, "
                             f"{counted(files, 'file')}")

    def _logged_model(self, run: Run, source) -> tuple[int, int]:
        """Keep an MLflow 3 logged model with its run as one logged live is kept (a
        LoggedModel of the run's experiment, its files among the run's artifacts in its
        folder), under its MLflow id, with its metrics; (1 when new, files stored)."""
        model, new = self._kept_logged_model(run.experiment, run, source)
        if new and source.metrics:
            logged_model_services.record_model_metrics(run=run, metrics=[
                {"key": m.key, "value": m.value, "step": m.step, "timestamp": m.timestamp,
                 "model_id": model.model_id, "dataset_name": m.dataset_name,
                 "dataset_digest": m.dataset_digest} for m in source.metrics])
        files = self._store_files(run, self._model_files(source.model_id),
                                  prefix=f"{model.path}/", fetch=self._fetch_model_file(source))
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
        known = set(run.logged_models.values_list("model_id", flat=True))
        mapped = [{"model_id": o.model_id, "step": int(o.step or 0)}
                  for o in outputs if o.model_id in known]
        if mapped:
            logged_model_services.record_model_outputs(run=run, outputs=mapped)

    # --- Registered models ------------------------------------------------------------------

    def _models(self, *, only_selected: bool) -> None:
        """The registered models (with their versions, stages and aliases). With experiments
        chosen, only models with a version made from one of their runs or of their logged
        models of no run."""
        for source in pages(self.client.search_registered_models):
            versions = sorted(pages(self.client.search_model_versions,
                                    filter_string=f"name = '{_quoted(source.name)}'"),
                              key=lambda v: int(v.version))
            runs = {run_uuid(v.run_id) for v in versions if v.run_id}
            models = {_source_model_id(v) for v in versions if not v.run_id} - {""}
            if only_selected and not (runs & self.selected_runs
                                      or models & self.selected_models):
                continue
            try:
                with transaction.atomic():
                    self._model(source, versions)
            except (MlflowError, TargetlineError, MlflowException, OSError) as exc:
                self.summary.skip("registered model", f"failed ({message(exc)})")
                self.progress("model", f"model {source.name!r}: failed, {message(exc)}")

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
            # A version of a logged model of no run belongs to that model's project.
            home = (LoggedModel.objects.get(model_id=model_id).experiment.project
                    if run is None and model_id else None)
            copied = registry_services.create_version(
                user=self.owner, model=model, source=source_path, run=run,
                logged_model_id=model_id, project=home,
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
        self.progress("model", f"model {source.name!r}: {counted(new_versions, 'version')}, "
                               f"{counted(aliases, 'alias', 'aliases')}"
                               f"{'' if created else ' (already there)'}")

    def _version_source(self, version, run: Run | None) -> tuple[str, str]:
        """(source, logged model id) of an imported version, as a client registering it here
        would give them: a logged model's `models:/m-…` names the imported logged model; a
        source inside its run's artifacts (`mlflow-artifacts:/1/<run>/artifacts/model`,
        `s3://…/<run>/artifacts/model`, a local path) becomes `runs:/<run>/model`, which
        points at the imported files. VersionLeftOut says why a version cannot come."""
        source_model = _source_model_id(version)
        if source_model:
            if not LoggedModel.objects.filter(model_id=source_model, run=run).exists():
                raise VersionLeftOut("its logged model was not imported")
            return f"models:/{source_model}", source_model
        source = version.source or ""
        if run is not None:
            root = self.client.get_run(version.run_id).info.artifact_uri.rstrip("/") + "/"
            if source.startswith(root):
                source = f"runs:/{version.run_id}/{source[len(root):].strip('/')}"
        try:
            check_source(source)
        except MlflowError as exc:
            raise VersionLeftOut(f"its source is refused here ({message(exc)})") from None
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


def _source_model_id(version) -> str:
    """The MLflow logged model a version was made from (its `models:/m-…` source), or ""."""
    model_id = getattr(version, "model_id", None) or ""
    if not model_id and (version.source or "").startswith("models:/m-"):
        model_id = version.source[len("models:/"):].split("/")[0]
    return model_id


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")
