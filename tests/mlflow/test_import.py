"""`manage.py import_mlflow` against a real `mlflow server` 3.17 (the `mlflow_reference`
fixture): what a team keeps in MLflow arrives whole, once, however often it is imported."""

import hashlib
import io
import math
import time
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from mlflow import MlflowClient
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelOutput,
    Metric,
    Param,
    RunTag,
)

from api.management.commands import import_mlflow
from api.mlflow import import_client, importer
from tracker import points as points_module
from tracker.models import (
    Artifact,
    Experiment,
    LoggedModel,
    MetricSummary,
    ModelVersion,
    Project,
    RegisteredModel,
    Run,
    RunDataset,
    RunStatus,
)
from tracker.services import projects as project_services

EPOCHS = 6


@pytest.fixture
def owner(make_user):
    return make_user("mover")


@pytest.fixture(scope="module")
def source(mlflow_reference, tmp_path_factory):
    """A populated MLflow server, read by every test of the module (none writes to it): two
    experiments (unique names), a run with params, tags and histories on train / validation
    / test, a nested run, a failed run, a deleted run, a dataset input, a file and a folder
    of artifacts, an MLflow 3 logged model, and a registered model with two versions (one
    from the run's folder of files, one from the logged model) and an alias."""
    tmp_path = tmp_path_factory.mktemp("mlflow-source")
    client = MlflowClient(tracking_uri=mlflow_reference)
    unique = uuid.uuid4().hex[:8]
    vision = client.create_experiment(f"vision-{unique}", tags={"team": "cv"})
    text = client.create_experiment(f"text-{unique}")
    t0 = int(time.time() * 1000) - 100_000

    parent = client.create_run(vision, run_name="resnet", start_time=t0,
                               tags={"mlflow.source.git.commit": "abc123", "team": "cv"})
    pid = parent.info.run_id
    iris = Dataset(name="iris", digest="d1g3st", source_type="s3",
                   source='{"uri": "s3://bucket/iris.csv"}', schema="", profile="")
    client.log_inputs(pid, datasets=[DatasetInput(
        iris, tags=[InputTag("mlflow.data.context", "training")])])
    metrics = []
    for step in range(EPOCHS):
        metrics += [Metric("train_loss", 1.0 / (step + 1), t0 + 10 * step, step),
                    Metric("val_f1", 0.5 + step / 20, t0 + 10 * step + 1, step)]
    metrics.append(Metric("val_f1", float("nan"), t0 + 500, EPOCHS))
    metrics.append(Metric("test_f1", 0.81, t0 + 600, EPOCHS - 1))
    client.log_batch(pid, metrics=metrics,
                     params=[Param("lr", "0.01"), Param("layers", "50")],
                     tags=[RunTag("stage", "sweep")])
    folder = tmp_path / "outputs"
    (folder / "plots").mkdir(parents=True)
    (folder / "plots" / "roc.png").write_bytes(bytes(range(256)) * 40)
    (folder / "weights.bin").write_bytes(b"\x00\x01weights" * 1000)
    (tmp_path / "notes.txt").write_text("first try\n")
    client.log_artifact(pid, str(tmp_path / "notes.txt"))
    client.log_artifacts(pid, str(folder), "model")

    logged = client.create_logged_model(vision, name="clf", source_run_id=pid,
                                        params={"C": "1.0"}, model_type="sklearn")
    model_folder = tmp_path / "clf"
    model_folder.mkdir()
    (model_folder / "MLmodel").write_text("flavors: {}\n")
    (model_folder / "model.pkl").write_bytes(b"pickled" * 100)
    client.log_model_artifacts(logged.model_id, str(model_folder))
    client.finalize_logged_model(logged.model_id, "READY")
    client.log_outputs(pid, [LoggedModelOutput(logged.model_id, step=EPOCHS - 1)])
    client.set_terminated(pid, "FINISHED", end_time=t0 + 90_000)

    child = client.create_run(vision, run_name="resnet-fold-1", start_time=t0 + 1000,
                              tags={"mlflow.parentRunId": pid})
    client.log_metric(child.info.run_id, "val_f1", 0.7, timestamp=t0 + 2000, step=1)
    client.set_terminated(child.info.run_id, "FINISHED", end_time=t0 + 3000)

    failed = client.create_run(text, run_name="bert", start_time=t0 + 5000)
    client.log_metric(failed.info.run_id, "loss", 2.5, timestamp=t0 + 5001, step=0)
    client.set_terminated(failed.info.run_id, "FAILED", end_time=t0 + 6000)

    gone = client.create_run(text, run_name="mistake", start_time=t0 + 7000)
    client.set_terminated(gone.info.run_id, "KILLED")
    client.delete_run(gone.info.run_id)

    model = f"resnet-{unique}"
    client.create_registered_model(model, tags={"task": "vision"}, description="classifier")
    # Version 1 as MLflow 2's clients register one: by the artifact URI of the run's folder.
    client.create_model_version(model, f"{parent.info.artifact_uri}/model", run_id=pid)
    client.create_model_version(model, f"models:/{logged.model_id}", run_id=pid,
                                model_id=logged.model_id, description="retrained")
    client.set_registered_model_alias(model, "champion", "2")
    return {"client": client, "url": mlflow_reference, "vision": f"vision-{unique}",
            "text": f"text-{unique}", "parent": pid, "child": child.info.run_id,
            "failed": failed.info.run_id, "deleted": gone.info.run_id, "model": model,
            "folder": folder, "notes": tmp_path / "notes.txt", "model_folder": model_folder,
            "logged_model": logged.model_id}


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _import(src, *args, verbosity=1) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_mlflow", "--tracking-uri", src["url"], "--experiment", src["vision"],
                 src["text"], *args, stdout=out, stderr=err, verbosity=verbosity)
    return out.getvalue(), err.getvalue()


def _counts(src) -> dict:
    runs = Run.objects.filter(experiment__name__in=[src["vision"], src["text"]])
    return {
        "experiments": Experiment.objects.filter(name__in=[src["vision"], src["text"]]).count(),
        "runs": runs.count(),
        "points": sum(MetricSummary.objects.filter(run__in=runs).values_list("count", flat=True)),
        "datasets": RunDataset.objects.filter(run__in=runs).count(),
        "artifacts": Artifact.objects.filter(run__in=runs).count(),
        "models": RegisteredModel.objects.filter(name=src["model"]).count(),
        "versions": ModelVersion.objects.filter(registered_model__name=src["model"]).count(),
    }


def _history(client, run_id, key) -> list[tuple]:
    return sorted((m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value)
                  for m in client.get_metric_history(run_id, key))


def _stored(run: Run, key: str, split: str) -> list[tuple]:
    summary = MetricSummary.objects.get(run=run, key=key, split=split)
    rows = points_module.series_points([summary.id])[summary.id]
    return sorted((s, t, "nan" if math.isnan(v) else v) for s, t, v in rows)


@pytest.mark.django_db
def test_an_mlflow_server_arrives_whole(source, owner):
    out, err = _import(source, "--owner", "mover")
    client = source["client"]

    # Each experiment becomes a project and an experiment, as an MLflow client's would.
    vision = Experiment.objects.get(name=source["vision"])
    assert vision.project.slug == source["vision"]
    assert vision.tags["team"] == "cv" and vision.tags["targetline.project"] == vision.project.slug
    assert vision.project.memberships.get(user=owner).role == "owner"

    parent = Run.objects.get(id=uuid.UUID(source["parent"]))
    assert (parent.name, parent.status, parent.git_commit) == ("resnet", RunStatus.FINISHED,
                                                               "abc123")
    original = client.get_run(source["parent"])
    assert int(parent.started_at.timestamp() * 1000) == original.info.start_time
    assert int(parent.ended_at.timestamp() * 1000) == original.info.end_time
    assert parent.params == {"lr": "0.01", "layers": "50"}
    assert parent.tags["stage"] == "sweep" and parent.tags["team"] == "cv"
    assert parent.created_by == owner
    assert parent.context["imported_from"] == f"MLflow run {source['parent']} on {source['url']}"

    # Histories, point by point, in the series the MLflow API maps their keys to.
    assert {(s.key, s.split, s.source_key) for s in parent.summaries.all()} == {
        ("loss", "train", "train_loss"), ("f1", "validation", "val_f1"),
        ("f1", "test", "test_f1")}
    assert _stored(parent, "loss", "train") == _history(client, source["parent"], "train_loss")
    assert _stored(parent, "f1", "validation") == _history(client, source["parent"], "val_f1")
    assert _stored(parent, "f1", "test") == _history(client, source["parent"], "test_f1")
    assert len(_stored(parent, "f1", "validation")) == EPOCHS + 1

    # The nested run keeps its parent; the failed run its status; the deleted one stays out.
    child = Run.objects.get(id=uuid.UUID(source["child"]))
    assert child.tags["mlflow.parentRunId"] == source["parent"]
    assert Run.objects.get(id=uuid.UUID(source["failed"])).status == RunStatus.FAILED
    assert Run.objects.get(id=uuid.UUID(source["failed"])).experiment.name == source["text"]
    assert not Run.objects.filter(id=uuid.UUID(source["deleted"])).exists()

    dataset = parent.datasets.get()
    assert (dataset.name, dataset.tags) == ("iris", {"mlflow.data.context": "training"})
    assert dataset.digest == original.inputs.dataset_inputs[0].dataset.digest

    # Files: every one, with the checksum of the original; the logged model's in its folder.
    expected = {"notes.txt": source["notes"],
                "model/weights.bin": source["folder"] / "weights.bin",
                "model/plots/roc.png": source["folder"] / "plots" / "roc.png",
                "clf/MLmodel": source["model_folder"] / "MLmodel",
                "clf/model.pkl": source["model_folder"] / "model.pkl"}
    assert {a.path for a in parent.artifacts.all()} == set(expected)
    for artifact in parent.artifacts.all():
        data = expected[artifact.path].read_bytes()
        assert artifact.sha256 == hashlib.sha256(data).hexdigest()
        assert artifact.size == len(data)
        with artifact.file.open("rb") as handle:
            assert handle.read() == data

    # The logged model, kept with its run as one logged live is; the run's output.
    [logged] = LoggedModel.objects.filter(run=parent)
    model_id = logged.model_id
    assert model_id == source["logged_model"]  # its MLflow id, as runs keep theirs
    assert (logged.name, logged.path, logged.status, logged.params, logged.model_type,
            logged.experiment) == ("clf", "clf", "LOGGED_MODEL_READY", {"C": "1.0"},
                                   "sklearn", parent.experiment)
    assert parent.context["mlflow_model_outputs"] == [{"model_id": model_id, "step": EPOCHS - 1}]

    # The registered model, its two versions (numbers kept) and its alias.
    model = RegisteredModel.objects.get(name=source["model"])
    assert model.project == vision.project
    assert (model.description, model.tags, model.aliases) == ("classifier", {"task": "vision"},
                                                              {"champion": 2})
    versions = list(model.versions.order_by("version"))
    assert [(v.version, v.run_id, v.source, v.logged_model_id) for v in versions] == [
        (1, parent.id, f"runs:/{source['parent']}/model", ""),
        (2, parent.id, f"models:/{model_id}", model_id)]
    assert versions[1].description == "retrained"

    assert "runs: 3 imported (1 nested)" in out
    assert f"metric points: {2 * EPOCHS + 2 + 1 + 1} imported" in out
    assert "artifacts: 5 files imported" in out
    assert "logged models: 1 imported" in out
    assert "registered models: 1 imported, 2 versions, 1 alias" in out
    assert "skipped 1 run: deleted in MLflow (--include-deleted imports them)" in out
    assert f"experiment {source['vision']!r} -> project {vision.project.slug}" in err
    assert "run 'resnet'" in err


@pytest.mark.django_db
def test_importing_again_adds_nothing(source, owner):
    _import(source, "--owner", "mover")
    before = _counts(source)
    out, _ = _import(source, "--owner", "mover")
    assert _counts(source) == before
    assert "runs: 0 imported (0 nested), 0 brought up to date" in out
    assert "metric points: 0 imported" in out
    assert "skipped 3 runs: already imported" in out
    assert "skipped 2 model versions: already imported" in out
    assert "experiments: 0 imported, 2 already there" in out


@pytest.mark.django_db
def test_an_interrupted_import_finishes_on_the_next_run(source, owner, monkeypatch):
    # Ctrl-C while the first run's files download: that run is not kept at all.
    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(importer.Importer, "_store_files", interrupt)
    with pytest.raises(CommandError, match="interrupted.*run the same command again"):
        _import(source, "--owner", "mover")
    assert not Run.objects.filter(id=uuid.UUID(source["parent"])).exists()
    assert not MetricSummary.objects.filter(run_id=uuid.UUID(source["parent"])).exists()
    monkeypatch.undo()

    # Ctrl-C between runs: the runs done so far are kept whole.
    seen = []

    def interrupt_after_first_run(self, kind, text):
        if kind == "run":
            seen.append(text)
            if len(seen) == 2:
                raise KeyboardInterrupt
    monkeypatch.setattr(import_mlflow.Command, "progress", interrupt_after_first_run)
    with pytest.raises(CommandError, match="interrupted"):
        _import(source, "--owner", "mover")
    assert Run.objects.filter(experiment__name=source["vision"]).count() == 2
    monkeypatch.undo()

    out, _ = _import(source, "--owner", "mover")
    assert _counts(source) == {"experiments": 2, "runs": 3, "points": 2 * EPOCHS + 4,
                               "datasets": 1, "artifacts": 5, "models": 1, "versions": 2}
    assert "runs: 1 imported (0 nested)" in out and "skipped 2 runs: already imported" in out
    parent = Run.objects.get(id=uuid.UUID(source["parent"]))
    assert _stored(parent, "f1", "validation") == _history(source["client"], source["parent"],
                                                           "val_f1")


@pytest.mark.django_db
def test_a_running_run_is_brought_up_to_date(source, owner):
    client = source["client"]
    name = f"live-{uuid.uuid4().hex[:8]}"
    live = client.create_run(client.create_experiment(name), run_name="still-training")
    client.log_metric(live.info.run_id, "val_acc", 0.5, timestamp=1000, step=0)
    args = ["--tracking-uri", source["url"], "--experiment", name, "--owner", "mover",
            "--project", "moved-in"]
    call_command("import_mlflow", *args, stdout=io.StringIO(), stderr=io.StringIO())
    client.log_metric(live.info.run_id, "val_acc", 0.6, timestamp=2000, step=1)
    client.set_terminated(live.info.run_id, "FINISHED")

    out = io.StringIO()
    call_command("import_mlflow", *args, stdout=out, stderr=io.StringIO())
    out = out.getvalue()
    run = Run.objects.get(id=uuid.UUID(live.info.run_id))
    assert run.project.slug == "moved-in" and run.status == RunStatus.FINISHED
    assert _stored(run, "acc", "validation") == [(0, 1000, 0.5), (1, 2000, 0.6)]
    assert "1 brought up to date" in out and "metric points: 1 imported" in out


@pytest.mark.django_db
def test_one_project_for_everything_and_deleted_runs_on_request(source, owner):
    out, _ = _import(source, "--owner", "mover", "--project", "moved-in", "--include-deleted",
                     verbosity=0)
    project = Project.objects.get(slug="moved-in")
    assert set(project.experiments.values_list("name", flat=True)) == {source["vision"],
                                                                       source["text"]}
    gone = Run.objects.get(id=uuid.UUID(source["deleted"]))
    assert gone.deleted_at is not None and gone.status == RunStatus.KILLED
    assert RegisteredModel.objects.get(name=source["model"]).project == project
    assert "runs: 4 imported" in out


@pytest.mark.django_db
def test_quiet_with_verbosity_zero(source, owner):
    out, err = _import(source, "--owner", "mover", verbosity=0)
    assert err == ""
    assert "runs: 3 imported" in out


@pytest.mark.django_db
def test_an_unknown_experiment_is_refused_before_anything_is_copied(source, owner):
    with pytest.raises(CommandError, match=r"no experiment named 'nope' on http://127\.0\.0\.1"):
        call_command("import_mlflow", "--tracking-uri", source["url"], "--experiment",
                     source["vision"], "nope", "--owner", "mover")
    assert not Run.objects.filter(id=uuid.UUID(source["parent"])).exists()


@pytest.mark.django_db
def test_a_server_that_does_not_answer_is_a_clear_error(owner):
    with pytest.raises(CommandError, match="cannot read the MLflow tracking server at "
                                           "http://127.0.0.1:9"):
        call_command("import_mlflow", "--tracking-uri", "http://127.0.0.1:9", "--owner", "mover")


@pytest.mark.django_db
def test_the_owner_must_exist(source):
    with pytest.raises(CommandError, match="no user 'ghost'"):
        call_command("import_mlflow", "--tracking-uri", source["url"], "--owner", "ghost")


def test_what_was_imported_reads_back_through_the_mlflow_api(source, alice):
    """An MLflow client pointed at Targetline afterwards finds what it would have found on
    the old server: the runs, their histories under the keys it logged, the files, and the
    registered model's files by alias."""
    call_command("import_mlflow", "--tracking-uri", source["url"], "--experiment",
                 source["vision"], "--owner", "alice", stdout=io.StringIO(),
                 stderr=io.StringIO())
    old = source["client"]
    experiment = alice.get_experiment_by_name(source["vision"])
    runs = alice.search_runs([experiment.experiment_id])
    assert {r.info.run_id for r in runs} == {source["parent"], source["child"]}
    run = alice.get_run(source["parent"])
    assert run.data.params == {"lr": "0.01", "layers": "50"}
    assert run.data.tags["mlflow.runName"] == "resnet"
    for key in ("train_loss", "val_f1", "test_f1"):
        assert _history(alice, source["parent"], key) == _history(old, source["parent"], key)
    assert run.inputs.dataset_inputs[0].dataset.digest == "d1g3st"
    local = alice.download_artifacts(source["parent"], "model/weights.bin", ".")
    assert Path(local).read_bytes() == (source["folder"] / "weights.bin").read_bytes()
    uri = alice.get_model_version_download_uri(source["model"], "1")
    assert uri.endswith(f"/{source['parent']}/artifacts/model")
    uri = alice.get_model_version_download_uri(source["model"], "2")
    assert uri.endswith(f"/{source['parent']}/artifacts/clf")
    champion = alice.get_model_version_by_alias(source["model"], "champion")
    assert champion.version == "2" and champion.run_id == source["parent"]


@pytest.mark.django_db
def test_a_deleted_experiment_comes_only_when_asked_and_stays_deleted(source, owner):
    client = source["client"]
    name = f"abandoned-{uuid.uuid4().hex[:8]}"
    experiment_id = client.create_experiment(name)
    run = client.create_run(experiment_id, run_name="tried")
    client.set_terminated(run.info.run_id, "FINISHED")
    client.delete_experiment(experiment_id)
    args = ["--tracking-uri", source["url"], "--experiment", name, "--owner", "mover"]
    with pytest.raises(CommandError, match=f"the experiment '{name}' is deleted in MLflow: "
                                           "add --include-deleted"):
        call_command("import_mlflow", *args)

    call_command("import_mlflow", *args, "--include-deleted", stdout=io.StringIO(),
                 stderr=io.StringIO())
    experiment = Experiment.objects.get(name=name)
    assert experiment.deleted_at is not None
    assert Run.objects.get(id=uuid.UUID(run.info.run_id)).deleted_at is not None
    out = io.StringIO()
    call_command("import_mlflow", *args, "--include-deleted", stdout=out, stderr=io.StringIO())
    assert "skipped 1 experiment: already imported" in out.getvalue()


def test_without_the_mlflow_client_the_error_names_the_pip_command(monkeypatch, db, owner):
    monkeypatch.setattr(import_client, "MlflowClient", None)  # as on a server without the extra
    with pytest.raises(CommandError, match=r"pip install '\.\[import\]' in Targetline's folder"):
        call_command("import_mlflow", "--tracking-uri", "http://127.0.0.1:9", "--owner", "mover")


@pytest.mark.django_db
def test_long_histories_arrive_whole_across_batches(source, owner):
    """12,000 points come in several log-batch calls; a test result logged at step 0 after
    training lands at the run's last step, as when the script logged it live."""
    client = source["client"]
    name = f"long-{uuid.uuid4().hex[:8]}"
    run = client.create_run(client.create_experiment(name), run_name="long")
    t0 = 1_700_000_000_000
    steps = 6000
    metrics = [Metric(key, value, t0 + step, step)
               for step in range(steps)
               for key, value in (("loss", 1 / (step + 1)), ("val_acc", step / steps))]
    for i in range(0, len(metrics), 1000):
        client.log_batch(run.info.run_id, metrics=metrics[i:i + 1000])
    client.log_metric(run.info.run_id, "test_acc", 0.9, timestamp=t0 + 2 * steps, step=0)
    client.set_terminated(run.info.run_id)

    out = io.StringIO()
    call_command("import_mlflow", "--tracking-uri", source["url"], "--experiment", name,
                 "--owner", "mover", stdout=out, stderr=io.StringIO())
    imported = Run.objects.get(id=uuid.UUID(run.info.run_id))
    assert _stored(imported, "loss", "train") == _history(client, run.info.run_id, "loss")
    assert _stored(imported, "acc", "validation") == _history(client, run.info.run_id, "val_acc")
    assert _stored(imported, "acc", "test") == [(steps - 1, t0 + 2 * steps, 0.9)]
    assert f"metric points: {2 * steps + 1} imported" in out.getvalue()


def test_a_logged_model_of_no_run_arrives_with_its_files_once(source, owner, tmp_path):
    """MLflow 3's models made outside any run (initialize_logged_model, GenAI code) come
    into their experiment with files of their own, and a second import adds nothing."""
    client = source["client"]
    name = f"agents-{uuid.uuid4().hex[:8]}"
    experiment = client.create_experiment(name)
    agent = client.create_logged_model(experiment, name="support-agent", model_type="agent",
                                       params={"temperature": "0.2"})
    folder = tmp_path / "agent"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {python_function: {}}\n")
    (folder / "prompt.txt").write_text("Answer the customer kindly.\n" * 50)
    client.log_model_artifacts(agent.model_id, str(folder))
    client.finalize_logged_model(agent.model_id, "READY")
    registered = f"agent-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(registered)
    client.create_model_version(registered, f"models:/{agent.model_id}",
                                model_id=agent.model_id)
    args = ("import_mlflow", "--tracking-uri", source["url"], "--experiment", name,
            "--owner", "mover")

    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())

    kept = LoggedModel.objects.get(model_id=agent.model_id)
    assert (kept.run, kept.experiment.name, kept.name, kept.model_type, kept.params,
            kept.status) == (None, name, "support-agent", "agent", {"temperature": "0.2"},
                             "LOGGED_MODEL_READY")
    files = {a.path: a.sha256 for a in Artifact.objects.filter(logged_model=kept)}
    assert files == {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
                     for path in folder.iterdir()}
    assert "logged models: 1 imported" in out.getvalue()
    [version] = RegisteredModel.objects.get(name=registered).versions.all()
    assert (version.version, version.run, version.source, version.logged_model_id,
            version.registered_model.project) == (
        1, None, f"models:/{agent.model_id}", agent.model_id, kept.experiment.project)
    again = io.StringIO()
    call_command(*args, stdout=again, stderr=io.StringIO())
    assert "logged models: 0 imported" in again.getvalue()
    assert Artifact.objects.filter(logged_model=kept).count() == 2


@pytest.mark.django_db
def test_the_default_experiment_goes_to_the_owners_default_project(source, owner):
    client = source["client"]
    run = client.create_run("0", run_name=f"no-experiment-{uuid.uuid4().hex[:8]}")
    client.set_terminated(run.info.run_id)
    call_command("import_mlflow", "--tracking-uri", source["url"], "--experiment", "Default",
                 "--owner", "mover", stdout=io.StringIO(), stderr=io.StringIO())
    imported = Run.objects.get(id=uuid.UUID(run.info.run_id))
    assert (imported.project.slug, imported.experiment.name) == ("default-mover", "Default")


@pytest.mark.django_db
def test_a_project_the_owner_may_not_write_to_is_refused(source, owner, make_user):
    project_services.create_project(user=make_user("someone"), slug="theirs", name="Theirs")
    with pytest.raises(CommandError, match="mover may not write to project 'theirs'"):
        call_command("import_mlflow", "--tracking-uri", source["url"], "--project", "theirs",
                     "--owner", "mover")
