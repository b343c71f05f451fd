"""MLflow 3's logged models (what `mlflow.<flavor>.log_model` calls), kept with their run."""

import json
import re
from pathlib import Path

import mlflow
import numpy as np
import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from mlflow.entities import LoggedModelInput, LoggedModelOutput, LoggedModelStatus
from mlflow.exceptions import MlflowException
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split

from tracker.models import Artifact, Experiment, LoggedModel, MetricSummary, Run


def test_a_logged_model_is_stored_with_its_run(alice, tmp_path):
    mlflow.set_experiment("models")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    (model_dir / "model.pkl").write_bytes(b"\x80\x04weights")
    with mlflow.start_run() as run:
        mlflow.log_metric("val_f1", 0.8)
        model = alice.create_logged_model(
            experiment_id=run.info.experiment_id, name="model", source_run_id=run.info.run_id,
            params={"C": "1.0"}, tags={"flavor": "sklearn"}, model_type="classifier")
        assert model.status == LoggedModelStatus.PENDING
        alice.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, step=0)])
        alice.log_model_artifacts(model.model_id, str(model_dir))
        alice.finalize_logged_model(model.model_id, LoggedModelStatus.READY)

    got = mlflow.get_logged_model(model.model_id)
    assert (got.name, got.status, got.source_run_id, got.model_type) == (
        "model", LoggedModelStatus.READY, run.info.run_id, "classifier")
    assert got.params == {"C": "1.0"} and got.tags["flavor"] == "sklearn"
    assert got.artifact_location.endswith(f"/{run.info.run_id}/artifacts/model")
    # the files are the run's artifacts, under the model's name
    assert set(Artifact.objects.filter(run_id=run.info.run_id).values_list("path", flat=True)) \
        == {"model/MLmodel", "model/model.pkl"}
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{model.model_id}",
                                                     dst_path=str(tmp_path / "dl")))
    assert (local / "model.pkl").read_bytes() == b"\x80\x04weights"
    by_run = Path(mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/model",
                                                      dst_path=str(tmp_path / "dl2")))
    assert (by_run / "MLmodel").read_text() == "flavors: {}\n"
    outputs = alice.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(model.model_id, 0)]

    found = alice.search_logged_models([run.info.experiment_id], filter_string="name = 'model'")
    assert [m.model_id for m in found] == [model.model_id]
    alice.set_logged_model_tags(model.model_id, {"stage": "candidate"})
    alice.delete_logged_model_tag(model.model_id, "flavor")
    assert mlflow.get_logged_model(model.model_id).tags == {"stage": "candidate"}


def test_a_model_of_no_run_is_kept_and_unknown_ids_are_not_found(alice):
    experiment_id = alice.create_experiment("no-run-models")
    model = alice.create_logged_model(experiment_id=experiment_id, name="m")
    assert (model.name, model.source_run_id, model.experiment_id) == ("m", "", experiment_id)
    assert alice.get_logged_model(model.model_id).name == "m"
    for model_id in ("m-0123", f"m-{'0' * 32}-abcdef12", f"m-{'0' * 32}"):
        with pytest.raises(MlflowException) as caught:
            mlflow.get_logged_model(model_id)
        assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_viewer_cannot_log_a_model(shared_project, tracking):
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("model-roles", tags={"targetline.project": "news"})
    run_id = member.create_run(experiment_id).info.run_id
    model = member.create_logged_model(experiment_id=experiment_id, source_run_id=run_id)
    viewer = tracking(tokens["vera"])
    assert viewer.get_logged_model(model.model_id).model_id == model.model_id
    for write in (lambda: viewer.create_logged_model(experiment_id=experiment_id,
                                                     source_run_id=run_id),
                  lambda: viewer.finalize_logged_model(model.model_id, LoggedModelStatus.READY),
                  lambda: viewer.set_logged_model_tags(model.model_id, {"a": "b"})):
        with pytest.raises(MlflowException) as caught:
            write()
        assert caught.value.error_code == "PERMISSION_DENIED"


def test_sklearn_log_model_and_load_model_round_trip(alice):
    X, y = load_iris(return_X_y=True)
    mlflow.set_experiment("sklearn-models")
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y),
                                        name="model")
    assert mlflow.get_logged_model(info.model_id).status == LoggedModelStatus.READY
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/model"):
        assert list(mlflow.sklearn.load_model(uri).predict(X[:3])) == [0, 0, 0]


def test_sklearn_autolog_logs_a_run_targetline_reads_with_its_splits(alice):
    """What MLflow's tutorials do: autolog a fit on a DataFrame, then search and read back."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    mlflow.set_experiment("diabetes")
    mlflow.sklearn.autolog(log_models=True, silent=True)
    try:
        with mlflow.start_run(run_name="ridge") as run:
            model = Ridge(alpha=0.5).fit(X_train, y_train)
            mlflow.log_metric("test_r2", model.score(X_test, y_test))
    finally:
        mlflow.sklearn.autolog(disable=True)
    found = mlflow.search_runs(experiment_names=["diabetes"], order_by=["metrics.test_r2 DESC"])
    assert list(found["tags.mlflow.runName"]) == ["ridge"]
    assert found["params.alpha"][0] == "0.5"
    logged = mlflow.get_run(run.info.run_id)
    assert {"training_score", "training_r2_score", "test_r2"} <= set(logged.data.metrics)
    assert logged.inputs.dataset_inputs  # the training DataFrame, as a dataset input
    assert mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model").predict(
        X_test.iloc[:2]).shape == (2,)
    stored = Run.objects.get(pk=run.info.run_id)
    series = set(MetricSummary.objects.filter(run=stored).values_list("split", "key"))
    assert {("train", "score"), ("train", "r2_score"), ("test", "r2")} <= series

    # The run page lists the model and the training data, not their raw records.
    web = Client()
    web.force_login(stored.created_by)
    page = web.get(reverse("web:run", args=[stored.pk]))
    [model] = page.context["models"]
    assert (model["name"], model["status"], model["main_file"].path) == (
        "model", "ready", "model/MLmodel")
    assert [d["used_for"] for d in page.context["datasets"]] == ["train"]
    text = page.content.decode()
    assert 'id="models-title"' in text and 'id="datasets-title"' in text
    assert "mlflow_logged_models" not in text


def test_metrics_logged_for_checkpoints_rank_them(alice):
    """MLflow 3's pattern: a model per epoch, its metrics logged for it, the best one found
    by search_logged_models ordered on a metric."""
    mlflow.set_experiment("checkpoints")
    held_out = mlflow.data.from_numpy(np.arange(6).reshape(3, 2), name="held-out")
    with mlflow.start_run() as run:
        for epoch, accuracy in enumerate([0.7, 0.9, 0.8]):
            model = alice.create_logged_model(experiment_id=run.info.experiment_id,
                                              name=f"checkpoint-{epoch}",
                                              source_run_id=run.info.run_id)
            mlflow.log_metric("accuracy", accuracy, step=epoch, model_id=model.model_id)
            mlflow.log_metrics({"loss": 1 - accuracy, "val_accuracy": accuracy - 0.05},
                               step=epoch, model_id=model.model_id, dataset=held_out)
            mlflow.log_metric("accuracy", accuracy / 2, step=epoch + 10)  # for no model
    experiment_ids = [run.info.experiment_id]
    ranked = mlflow.search_logged_models(
        experiment_ids=experiment_ids, filter_string=f"source_run_id = '{run.info.run_id}'",
        order_by=[{"field_name": "metrics.accuracy", "ascending": False}], output_format="list")
    assert [m.name for m in ranked] == ["checkpoint-1", "checkpoint-2", "checkpoint-0"]
    best = {m.key: m for m in ranked[0].metrics}
    assert (best["accuracy"].value, best["accuracy"].step, best["accuracy"].run_id) == (
        0.9, 1, run.info.run_id)
    assert (best["val_accuracy"].dataset_name, best["val_accuracy"].dataset_digest) == (
        "held-out", held_out.digest)
    good = mlflow.search_logged_models(experiment_ids=experiment_ids,
                                       filter_string="metrics.accuracy > 0.75",
                                       output_format="list")
    assert sorted(m.name for m in good) == ["checkpoint-1", "checkpoint-2"]
    on_held_out = mlflow.search_logged_models(
        experiment_ids=experiment_ids, filter_string="metrics.val_accuracy >= 0.8",
        datasets=[{"dataset_name": "held-out"}], output_format="list")
    assert [m.name for m in on_held_out] == ["checkpoint-1"]
    # the run's own series hold every point, for every model and none
    assert [p.value for p in alice.get_metric_history(run.info.run_id, "accuracy")] == [
        0.7, 0.9, 0.8, 0.35, 0.45, 0.4]
    with pytest.raises(MlflowException, match="order by field"):
        mlflow.search_logged_models(experiment_ids=experiment_ids,
                                    order_by=[{"field_name": "colour"}])


def test_logged_model_search_pages_and_refuses_a_bad_page_size(alice):
    mlflow.set_experiment("paged-models")
    with mlflow.start_run() as run:
        for i in range(3):
            alice.create_logged_model(experiment_id=run.info.experiment_id, name=f"m{i}",
                                      source_run_id=run.info.run_id)
    ids = [run.info.experiment_id]
    first = alice.search_logged_models(ids, max_results=2)
    assert len(first) == 2 and first.token
    rest = alice.search_logged_models(ids, max_results=2, page_token=first.token)
    assert len(rest) == 1 and not rest.token
    assert {m.name for m in [*first, *rest]} == {"m0", "m1", "m2"}
    for bad in ({"max_results": "lots"}, {"max_results": 0}, {"page_token": "nonsense"}):
        answer = requests.post(f"{mlflow.get_tracking_uri()}/api/2.0/mlflow/logged-models/search",
                               json={"experiment_ids": ids, **bad},
                               headers={"Authorization": f"Bearer {alice.token}"}, timeout=30)
        assert answer.status_code == 400, bad
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_models_of_no_run_keep_to_their_project_roles(shared_project, tracking):
    """GenAI code's models (set_active_model, initialize_logged_model) live in the
    experiment's project: its members write them, its viewers read them, nobody else sees
    them."""
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("agents", tags={"targetline.project": "news"})
    mlflow.set_experiment(experiment_id=experiment_id)
    mlflow.set_active_model(name="support-agent")
    model_id = mlflow.get_active_model_id()
    mlflow.clear_active_model()
    draft = mlflow.initialize_logged_model()
    stored = LoggedModel.objects.get(model_id=model_id)
    assert (stored.experiment.project, stored.run, stored.status, stored.created_by.username) \
        == (project, None, "LOGGED_MODEL_READY", "mark")
    assert [a.path for a in stored.files.all()] == ["MLmodel"]  # the client's stand-in file

    viewer = tracking(tokens["vera"])
    assert viewer.get_logged_model(model_id).name == "support-agent"
    assert {m.model_id for m in viewer.search_logged_models([experiment_id])} == {
        model_id, draft.model_id}
    for write in (lambda: viewer.create_logged_model(experiment_id=experiment_id),
                  lambda: viewer.set_logged_model_tags(model_id, {"a": "b"}),
                  lambda: viewer.finalize_logged_model(draft.model_id, LoggedModelStatus.READY),
                  lambda: viewer.delete_logged_model(model_id)):
        with pytest.raises(MlflowException) as caught:
            write()
        assert caught.value.error_code == "PERMISSION_DENIED"

    outsider = tracking(tokens["otto"])
    with pytest.raises(MlflowException) as caught:
        outsider.get_logged_model(model_id)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert list(outsider.search_logged_models([experiment_id])) == []
    with pytest.raises(MlflowException) as caught:
        outsider.create_logged_model(experiment_id=experiment_id)
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    member = tracking(tokens["mark"])
    member.delete_logged_model(model_id)
    assert not LoggedModel.objects.filter(model_id=model_id).exists()
    assert not Artifact.objects.filter(logged_model_id=stored.pk).exists()


def test_a_model_logged_outside_a_run_is_registered_in_its_project(alice, client_for):
    """A flavor's log_model with no run: the model keeps its files, loads back, and the
    version registered from it joins the model's project, where the v1 API and the Models
    page list it; the logged model lists the version (mlflow.modelVersions)."""
    X, y = load_iris(return_X_y=True)
    experiment_id = mlflow.set_experiment("iris-no-run").experiment_id
    info = mlflow.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), name="iris")
    assert info.run_id is None
    stored = LoggedModel.objects.get(model_id=info.model_id)
    assert stored.run is None and "MLmodel" in {a.path for a in stored.files.all()}
    assert list(mlflow.sklearn.load_model(info.model_uri).predict(X[:3])) == [0, 0, 0]

    version = mlflow.register_model(info.model_uri, "iris-clf")
    assert list(mlflow.sklearn.load_model("models:/iris-clf/1").predict(X[:3])) == [0, 0, 0]
    tag = mlflow.get_logged_model(info.model_id).tags["mlflow.modelVersions"]
    assert json.loads(tag) == [{"name": "iris-clf", "version": 1},
                               {"name": "iris-clf", "version": "1"}]  # the client's own
    project = Experiment.objects.get(pk=experiment_id).project
    owner = get_user_model().objects.get(username="alice")
    listed = client_for(owner).get(f"/api/v1/projects/{project.slug}/models/").json()
    [model] = listed["results"]
    assert (model["name"], [(v["version"], v["logged_model_id"], v["run_id"])
                            for v in model["versions"]]) == (
        "iris-clf", [(int(version.version), info.model_id, None)])
    web = Client()
    web.force_login(owner)
    page = web.get(reverse("web:models", args=[project.slug]))
    assert page.status_code == 200 and "iris-clf" in page.content.decode()


def test_a_run_records_the_models_it_used(alice):
    """runs/log-inputs with models: MLflow's model inputs, each once, back from get_run."""
    mlflow.set_experiment("inputs")
    judged = mlflow.initialize_logged_model(name="judged")
    with mlflow.start_run() as run:
        mlflow.log_metric("faithfulness", 0.9, model_id=judged.model_id)
        alice.log_inputs(run.info.run_id, models=[LoggedModelInput(judged.model_id)])
    got = alice.get_run(run.info.run_id)
    assert [i.model_id for i in got.inputs.model_inputs] == [judged.model_id]
    assert [(m.key, m.value) for m in mlflow.get_logged_model(judged.model_id).metrics] == [
        ("faithfulness", 0.9)]
    answer = requests.get(f"{mlflow.get_tracking_uri()}/api/2.0/mlflow/runs/get",
                          params={"run_id": run.info.run_id},
                          headers={"Authorization": f"Bearer {alice.token}"}, timeout=30)
    assert answer.json()["run"]["inputs"]["model_inputs"] == [{"model_id": judged.model_id}]
    for bad in ([{"step": 1}], "m-1", [5]):
        refused = requests.post(f"{mlflow.get_tracking_uri()}/api/2.0/mlflow/runs/log-inputs",
                                json={"run_id": run.info.run_id, "models": bad},
                                headers={"Authorization": f"Bearer {alice.token}"}, timeout=30)
        assert refused.status_code == 400, bad

    # The run page says which models the run used.
    stored = Run.objects.get(pk=run.info.run_id)
    web = Client()
    web.force_login(stored.created_by)
    page = web.get(reverse("web:run", args=[stored.pk]))
    assert [m.name for m in page.context["used_models"]] == ["judged"]
    text = page.content.decode()
    assert "Models this run used" in text and "(logged outside any run)" in text


def test_unnamed_models_get_names_of_mlflows_shape_none_twice(alice):
    mlflow.set_experiment("unnamed")
    names = [mlflow.initialize_logged_model().name for _ in range(5)]
    assert all(re.fullmatch(r"[a-z]+-[a-z]+-\d{1,4}", n) and len(n) <= 20 for n in names)
    assert len(set(names)) == 5
    [found] = mlflow.search_logged_models(filter_string=f"name = '{names[2]}'",
                                          output_format="list")
    assert found.name == names[2]


def test_a_bad_logged_model_is_refused_naming_its_field(alice):
    experiment_id = alice.create_experiment("bad-models")
    for bad, field in (({"name": "a/b"}, "name"), ({"name": 5}, "name"),
                       ({"model_type": ["x"]}, "model_type"),
                       ({"model_type": "x" * 251}, "model_type"),
                       ({"experiment_id": None}, "experiment_id")):
        answer = requests.post(f"{mlflow.get_tracking_uri()}/api/2.0/mlflow/logged-models",
                               json={"experiment_id": experiment_id, **bad},
                               headers={"Authorization": f"Bearer {alice.token}"}, timeout=30)
        assert answer.status_code == 400, bad
        assert (answer.json()["error_code"], field in answer.json()["message"]) == (
            "INVALID_PARAMETER_VALUE", True), answer.json()
    assert not LoggedModel.objects.exists()
