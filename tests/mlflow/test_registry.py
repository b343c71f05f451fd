"""MLflow's model registry through the real client: register, number, alias, stage, load."""

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from mlflow.exceptions import MlflowException, RestException

from tests.factories import make_run
from tracker.models import ModelVersion, RegisteredModel
from tracker.services import model_registry as registry_services
from tracker.services import projects as project_services

SCRIPT = Path(__file__).with_name("quickstart_script.py")


def _run_with_model(tmp_path: Path, weights: bytes, experiment: str = "churn") -> str:
    """A run whose artifacts hold a model folder `model/`; its id."""
    folder = tmp_path / f"model-{weights.hex()}"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    (folder / "model.pkl").write_bytes(weights)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_metric("val_f1", 0.8)
        mlflow.log_artifacts(str(folder), "model")
    return run.info.run_id


def _weights(uri: str, tmp_path: Path) -> bytes:
    local = mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / uri.replace("/", "_")
                                                                  .replace(":", "_")))
    return (Path(local) / "model.pkl").read_bytes()


def _error(call) -> dict:
    with pytest.raises(RestException) as caught:
        call()
    return caught.value.json


def test_mlflows_quickstart_registers_its_model_and_loads_it_back(live_server, make_token,
                                                                     tmp_path):
    token = make_token("quinn")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=live_server.url, MLFLOW_TRACKING_TOKEN=token)
    outputs = []
    for attempt in (1, 2):  # the second time, the model exists: it gets version 2
        done = subprocess.run([sys.executable, str(SCRIPT)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"registered version: {attempt}" in done.stdout, done.stdout + done.stderr
        assert "same predictions: True" in done.stdout
        outputs.append(done.stdout)
    assert "agreement: 1.0" in outputs[0]

    model = RegisteredModel.objects.get(name="tracking-quickstart")
    assert model.project.slug == "mlflow-quickstart"  # the project of the runs behind it
    versions = list(ModelVersion.objects.filter(registered_model=model).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].run != versions[1].run
    assert all(v.run.project == model.project and v.logged_model_id for v in versions)
    assert all(v.source == f"models:/{v.logged_model_id}" for v in versions)


def test_versions_are_numbered_aliased_staged_and_loaded_by_each_name(alice, tmp_path):
    first = _run_with_model(tmp_path, b"weights-1")
    one = mlflow.register_model(f"runs:/{first}/model", "churn")
    second = _run_with_model(tmp_path, b"weights-2")
    two = mlflow.register_model(f"runs:/{second}/model", "churn")
    assert (one.version, one.run_id, one.status) == ("1", first, "READY")
    assert (two.version, two.run_id) == ("2", second)

    assert _weights("models:/churn/1", tmp_path) == b"weights-1"
    assert _weights("models:/churn/latest", tmp_path) == b"weights-2"
    alice.set_registered_model_alias("churn", "champion", "1")
    assert alice.get_model_version_by_alias("churn", "champion").version == "1"
    assert _weights("models:/churn@champion", tmp_path) == b"weights-1"
    assert alice.get_model_version("churn", "1").aliases == ["champion"]

    alice.transition_model_version_stage("churn", "1", "Production")
    alice.transition_model_version_stage("churn", "2", "Production",
                                         archive_existing_versions=True)
    assert alice.get_model_version("churn", "1").current_stage == "Archived"
    assert _weights("models:/churn/Production", tmp_path) == b"weights-2"
    latest = alice.get_latest_versions("churn")
    assert sorted((v.current_stage, v.version) for v in latest) == [
        ("Archived", "1"), ("Production", "2")]

    alice.update_registered_model("churn", description="Who leaves next month")
    alice.set_registered_model_tag("churn", "team", "growth")
    alice.update_model_version("churn", "2", description="retrained on November")
    alice.set_model_version_tag("churn", "2", "validated", "yes")
    model = alice.get_registered_model("churn")
    assert (model.description, model.tags, model.aliases) == (
        "Who leaves next month", {"team": "growth"}, {"champion": "1"})
    version = alice.get_model_version("churn", "2")
    assert (version.description, version.tags) == ("retrained on November", {"validated": "yes"})
    alice.delete_model_version_tag("churn", "2", "validated")
    alice.delete_registered_model_tag("churn", "team")
    assert alice.get_model_version("churn", "2").tags == {}
    assert alice.get_registered_model("churn").tags == {}

    # deleting version 1 takes its alias with it; numbers are not reused while 2 stands
    alice.delete_model_version("churn", "1")
    assert alice.get_registered_model("churn").aliases == {}
    third = mlflow.register_model(f"runs:/{first}/model", "churn")
    assert third.version == "3"

    copy = alice.copy_model_version("models:/churn/Production", "churn-shadow")
    assert (copy.version, copy.run_id, copy.source) == ("1", second, "models:/churn/2")
    assert _weights("models:/churn-shadow/1", tmp_path) == b"weights-2"
    assert _error(lambda: alice.create_model_version("churn-shadow", "models:/churn/Staging"))[
        "error_code"] == "RESOURCE_DOES_NOT_EXIST"
    alice.delete_registered_model("churn-shadow")

    alice.rename_registered_model("churn", "churn-v2")
    assert _weights("models:/churn-v2/3", tmp_path) == b"weights-1"
    assert _error(lambda: alice.get_registered_model("churn"))["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"
    alice.delete_registered_model("churn-v2")
    assert not RegisteredModel.objects.exists() and not ModelVersion.objects.exists()
    assert alice.get_run(first).info.run_id == first  # the runs and their files stay


def test_search_filters_orders_and_pages(alice, tmp_path):
    run_id = _run_with_model(tmp_path, b"w")
    for name in ("alpha", "beta", "gamma"):
        alice.create_registered_model(name, tags={"kind": "tree" if name != "beta" else "linear"})
        alice.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    alice.create_model_version("gamma", f"runs:/{run_id}/model", run_id=run_id)

    first = alice.search_registered_models(max_results=2)
    assert [m.name for m in first] == ["alpha", "beta"] and first.token
    rest = alice.search_registered_models(max_results=2, page_token=first.token)
    assert [m.name for m in rest] == ["gamma"] and not rest.token
    assert [m.name for m in alice.search_registered_models("tags.kind = 'tree'")] == [
        "alpha", "gamma"]
    assert [m.name for m in alice.search_registered_models("name LIKE '%ta'",
                                                           order_by=["name DESC"])] == ["beta"]
    assert [m.name for m in alice.search_registered_models(order_by=["name DESC"])] == [
        "gamma", "beta", "alpha"]

    versions = alice.search_model_versions(f"run_id = '{run_id}'")
    assert [(v.name, v.version) for v in versions] == [
        ("alpha", "1"), ("beta", "1"), ("gamma", "2"), ("gamma", "1")]
    assert [v.version for v in alice.search_model_versions("name = 'gamma'",
                                                           order_by=["version_number"])] == \
        ["1", "2"]
    paged = alice.search_model_versions(max_results=3)
    assert len(paged) == 3 and paged.token
    assert len(alice.search_model_versions(max_results=3, page_token=paged.token)) == 1
    with pytest.raises(MlflowException, match="Invalid attribute key"):
        alice.search_registered_models("run_id = 'x'")
    with pytest.raises(MlflowException, match="order by key"):
        alice.search_model_versions(order_by=["size"])


def test_bad_requests_get_mlflows_errors(alice, tmp_path):
    alice.create_registered_model("churn")
    assert _error(lambda: alice.create_registered_model("churn")) == {
        "error_code": "RESOURCE_ALREADY_EXISTS",
        "message": "Registered Model (name=churn) already exists."}
    assert _error(lambda: alice.create_registered_model("a/b"))["error_code"] == \
        "INVALID_PARAMETER_VALUE"
    assert _error(lambda: alice.get_registered_model("nope"))["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"
    assert _error(lambda: alice.get_model_version("churn", "7"))["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"
    assert "version" in _error(lambda: alice.get_model_version("churn", "seven"))["message"]
    run_id = _run_with_model(tmp_path, b"w")
    alice.create_model_version("churn", f"runs:/{run_id}/model", run_id=run_id)
    for alias in ("latest", "v3"):
        error = _error(lambda a=alias: alice.set_registered_model_alias("churn", a, "1"))
        assert error["error_code"] == "INVALID_PARAMETER_VALUE", alias
    spaced = requests.post(f"{mlflow.get_tracking_uri()}/api/2.0/mlflow/registered-models/alias",
                           json={"name": "churn", "alias": "not ok", "version": "1"},
                           headers={"Authorization": f"Bearer {alice.token}"}, timeout=30)
    assert spaced.status_code == 400 and "alias" in spaced.json()["message"]
    assert _error(lambda: alice.set_registered_model_alias("churn", "best", "9"))[
        "error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "stage" in _error(
        lambda: alice.transition_model_version_stage("churn", "1", "Prod"))["message"]
    assert _error(lambda: alice.create_model_version("churn", "models:/m-nope"))[
        "error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert _error(lambda: alice.get_model_version_by_alias("churn", "gone")) == {
        "error_code": "INVALID_PARAMETER_VALUE",  # as mlflow server answers
        "message": "Registered model alias gone not found."}
    for key, value in (("../up", "x"), ("", "x"), ("k" * 251, "x"), ("big", "v" * 100_001)):
        answer = requests.post(
            f"{mlflow.get_tracking_uri()}/api/2.0/mlflow/registered-models/set-tag",
            json={"name": "churn", "key": key, "value": value},
            headers={"Authorization": f"Bearer {alice.token}"}, timeout=30)
        assert answer.status_code == 400, key[:10]
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert _error(lambda: alice.create_model_version("churn", f"runs:/{run_id}/model",
                                                     run_id=run_id, tags={"a/../b": "x"}))[
        "error_code"] == "INVALID_PARAMETER_VALUE"
    assert alice.get_registered_model("churn").tags == {}
    assert _error(lambda: alice.delete_registered_model_tag("churn", "never-set"))[
        "error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert _error(lambda: alice.delete_model_version_tag("churn", "1", "never-set"))[
        "error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # nothing was lost along the way
    assert [v.version for v in alice.search_model_versions("name = 'churn'")] == ["1"]


def test_a_model_belongs_to_a_project_and_its_roles_apply(shared_project, tracking, tmp_path):
    project, tokens = shared_project
    mark = tracking(tokens["mark"])  # a member of "news"
    news_run = _run_with_model(tmp_path, b"news", experiment="news/ranker")
    mark.create_registered_model("ranker", tags={"targetline.project": "news"})
    assert mark.create_model_version("ranker", f"runs:/{news_run}/model",
                                     run_id=news_run).version == "1"
    # a run of another project cannot become a version of news's model
    mlflow.set_experiment("mark-sandbox")
    with mlflow.start_run() as elsewhere:
        pass
    error = _error(lambda: mark.create_model_version("ranker", "runs:/x/model",
                                                     run_id=elsewhere.info.run_id))
    assert error["error_code"] == "INVALID_PARAMETER_VALUE" and "news" in error["message"]
    assert "create_registered_model" in error["message"]
    # as the message says: a "ranker" of the run's own project takes that run's versions
    mark.create_registered_model("ranker", tags={"targetline.project": "mark-sandbox"})
    sandbox = mark.create_model_version("ranker", "runs:/x/model", run_id=elsewhere.info.run_id)
    assert (sandbox.version, sandbox.run_id) == ("1", elsewhere.info.run_id)
    news_ranker = RegisteredModel.objects.get(name="ranker", project__slug="news")
    assert [v.run_id.hex for v in news_ranker.versions.all()] == [news_run]
    assert mark.get_registered_model("ranker").latest_versions[0].run_id == news_run  # oldest

    vera = tracking(tokens["vera"])  # a viewer reads, and cannot change
    assert vera.get_registered_model("ranker").latest_versions[0].run_id == news_run
    assert _weights("models:/ranker/1", tmp_path) == b"news"
    for write in (lambda: vera.set_registered_model_alias("ranker", "prod", "1"),
                  lambda: vera.delete_registered_model("ranker"),
                  lambda: vera.transition_model_version_stage("ranker", "1", "Staging"),
                  lambda: vera.create_model_version("ranker", f"runs:/{news_run}/model",
                                                    run_id=news_run)):
        assert _error(write)["error_code"] == "PERMISSION_DENIED"

    otto = tracking(tokens["otto"])  # not a member: the model does not exist for him
    assert _error(lambda: otto.get_registered_model("ranker"))["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"
    assert [m.name for m in otto.search_registered_models()] == []
    otto.create_registered_model("ranker")  # his own, in no project yet: no clash
    assert RegisteredModel.objects.filter(name="ranker").count() == 3  # news, sandbox, otto
    assert _error(lambda: tracking(tokens["mark"]).create_registered_model("ranker"))[
        "error_code"] == "RESOURCE_ALREADY_EXISTS"


def test_a_viewer_cannot_place_a_new_model_in_a_project(shared_project, tracking, tmp_path):
    project, tokens = shared_project
    owner = tracking(tokens["olivia"])
    run_id = _run_with_model(tmp_path, b"w", experiment="news/ranker")
    vera = tracking(tokens["vera"])
    vera.create_registered_model("mine")  # hers alone so far
    error = _error(lambda: vera.create_model_version("mine", f"runs:/{run_id}/model",
                                                     run_id=run_id))
    assert error["error_code"] == "PERMISSION_DENIED"
    assert RegisteredModel.objects.get(name="mine").project is None
    assert _error(lambda: vera.create_registered_model(
        "x", tags={"targetline.project": "news"}))["error_code"] == "PERMISSION_DENIED"
    assert not ModelVersion.objects.exists()
    assert owner.get_run(run_id).info.run_id == run_id


def test_the_run_page_says_where_its_model_is_registered(alice, tmp_path):
    mlflow.set_experiment("pages")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: {}\n")
    with mlflow.start_run() as run:
        logged = alice.create_logged_model(experiment_id=run.info.experiment_id, name="model",
                                           source_run_id=run.info.run_id)
        alice.log_model_artifacts(logged.model_id, str(folder))
        alice.finalize_logged_model(logged.model_id, "READY")
    # registered through the run's folder, the version still knows its logged model
    mlflow.register_model(f"runs:/{run.info.run_id}/model", "scorer")
    alice.set_registered_model_alias("scorer", "champion", "1")
    version = ModelVersion.objects.get()
    assert version.logged_model_id == logged.model_id

    browser = Client()
    browser.force_login(get_user_model().objects.get(username="alice"))
    page = browser.get(reverse("web:run", args=[version.run_id])).content.decode()
    models_card = page.partition('id="models-title"')[2].partition("</section>")[0]
    assert logged.model_id in models_card
    assert "Registered as <strong>scorer</strong> version 1" in models_card
    assert "@champion" in models_card and "models:/scorer/1" in models_card


def test_mlflows_printed_links_open_the_experiment_and_the_run(alice):
    mlflow.set_experiment("linked")
    with mlflow.start_run() as run:
        pass
    browser = Client()
    browser.force_login(get_user_model().objects.get(username="alice"))
    experiment_id = run.info.experiment_id
    answer = browser.get(reverse("web:experiment", args=[experiment_id]))
    assert answer.status_code == 302
    assert answer["Location"] == "/p/linked/runs/?filter=experiment+%3D+%22linked%22"
    assert browser.get(answer["Location"]).status_code == 200
    outsider = Client()
    outsider.force_login(get_user_model().objects.create_user(username="nosy"))
    assert outsider.get(reverse("web:experiment", args=[experiment_id])).status_code == 404


def test_searching_many_models_reads_them_in_a_few_queries(make_token,
                                                           django_assert_max_num_queries):
    """registered-models/search answers each model with its latest versions: read together,
    not a query per model."""
    token = make_token("searcher")
    user = get_user_model().objects.get(username="searcher")
    project = project_services.create_project(user=user, slug="many-models", name="Many models")
    run = make_run(project, user, name="source")
    for i in range(25):
        model = registry_services.create_model(user=user, name=f"model-{i:02}", project=project)
        for _ in range(2):
            registry_services.create_version(user=user, model=model, source="runs:/x/model",
                                             run=run)
    browser = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    with django_assert_max_num_queries(6):
        answer = browser.get("/api/2.0/mlflow/registered-models/search",
                             {"max_results": 100}).json()
    assert len(answer["registered_models"]) == 25
    assert [v["version"] for v in answer["registered_models"][0]["latest_versions"]] == ["2"]
