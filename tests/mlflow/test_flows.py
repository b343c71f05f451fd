"""The flows an MLflow script goes through, end to end with the real client."""

import math
import time

import mlflow
import pandas as pd
import pytest
import requests
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from mlflow.exceptions import MlflowException
from rest_framework.test import APIClient

from tracker.models import Experiment, MetricSummary, Project, Run, RunDataset


def test_set_experiment_creates_a_project_named_after_it_with_the_user_as_owner(alice):
    experiment = mlflow.set_experiment("Fraud model v2")
    assert experiment.name == "Fraud model v2"
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment.experiment_id}"
    assert experiment.tags["targetline.project"] == "fraud-model-v2"
    stored = Experiment.objects.get(pk=int(experiment.experiment_id))
    assert stored.project.slug == "fraud-model-v2"
    assert stored.project.memberships.get().user.username == "alice"
    assert stored.project.memberships.get().role == "owner"
    # set_experiment again finds it rather than creating another
    assert mlflow.set_experiment("Fraud model v2").experiment_id == experiment.experiment_id
    assert Experiment.objects.filter(name="Fraud model v2").count() == 1


def test_a_project_created_for_an_experiment_says_so_and_names_the_one_it_may_be_a_typo_of(
        alice):
    first = mlflow.set_experiment("Tumor screen")
    assert first.tags["targetline.project.new"] == "true"
    assert "targetline.project.similar" not in first.tags

    typo = mlflow.set_experiment("Tumour screen")  # created all the same, as MLflow would

    assert typo.tags["targetline.project"] == "tumour-screen"
    assert typo.tags["targetline.project.new"] == "true"
    assert typo.tags["targetline.project.similar"] == "tumor-screen"
    assert alice.get_experiment(typo.experiment_id).tags == typo.tags
    prefixed = alice.get_experiment(alice.create_experiment("tumor-screem/svm"))
    assert prefixed.tags["targetline.project"] == "tumor-screemsvm"
    assert prefixed.tags["targetline.project.similar"] == "tumor-screen, tumour-screen"
    placed = alice.create_experiment("lr", tags={"targetline.project": "tumor-screen"})
    assert "targetline.project.new" not in alice.get_experiment(placed).tags


def test_the_project_tag_puts_an_experiment_into_an_existing_project(shared_project, tracking):
    project, tokens = shared_project
    client = tracking(tokens["mark"])
    experiment_id = client.create_experiment("tfidf", tags={"targetline.project": "news"})
    assert Experiment.objects.get(pk=int(experiment_id)).project == project
    assert mlflow.set_experiment("tfidf").experiment_id == experiment_id
    # "project/experiment" names the project explicitly
    assert client.get_experiment_by_name("news/tfidf").experiment_id == experiment_id
    with pytest.raises(MlflowException) as caught:
        client.create_experiment("x", tags={"targetline.project": "no-such-project"})
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_experiment_reads_names_and_duplicates(alice):
    experiment_id = alice.create_experiment("lr", tags={"owner": "alice"})
    assert alice.get_experiment(experiment_id).tags["owner"] == "alice"
    assert alice.get_experiment_by_name("lr").experiment_id == experiment_id
    assert alice.get_experiment_by_name("nothing like it") is None
    with pytest.raises(MlflowException) as caught:
        alice.create_experiment("lr")
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert caught.value.get_http_status_code() == 400
    with pytest.raises(MlflowException) as caught:
        alice.get_experiment("987654")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_experiment_tags_rename_delete_and_restore(alice):
    experiment_id = alice.create_experiment("svm")
    alice.set_experiment_tag(experiment_id, "stage", "dev")
    alice.set_experiment_tag(experiment_id, "stage", "prod")
    assert alice.get_experiment(experiment_id).tags["stage"] == "prod"
    alice.delete_experiment_tag(experiment_id, "stage")
    assert "stage" not in alice.get_experiment(experiment_id).tags
    alice.rename_experiment(experiment_id, "svm-rbf")
    assert alice.get_experiment(experiment_id).name == "svm-rbf"
    with pytest.raises(MlflowException, match="new_name") as refused:
        alice.rename_experiment(experiment_id, "")
    assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    assert alice.get_experiment(experiment_id).name == "svm-rbf"

    kept = alice.create_run(experiment_id)
    deleted_before = alice.create_run(experiment_id)
    alice.delete_run(deleted_before.info.run_id)
    alice.delete_experiment(experiment_id)
    assert alice.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert alice.get_run(kept.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException, match="deleted experiment"):
        mlflow.set_experiment("svm-rbf")
    names = [e.name for e in alice.search_experiments(view_type=ViewType.DELETED_ONLY)]
    assert names == ["svm-rbf"]
    alice.restore_experiment(experiment_id)
    assert alice.get_run(kept.info.run_id).info.lifecycle_stage == "active"
    # a run deleted on its own before stays deleted
    assert alice.get_run(deleted_before.info.run_id).info.lifecycle_stage == "deleted"


def test_search_experiments_filters_orders_and_pages(alice):
    for name in ("alpha", "beta", "gamma"):
        alice.create_experiment(name, tags={"team": "nlp" if name != "beta" else "cv"})
    names = [e.name for e in alice.search_experiments(filter_string="tags.team = 'nlp'",
                                                      order_by=["name DESC"])]
    assert names == ["gamma", "alpha"]
    assert [e.name for e in alice.search_experiments(filter_string="name LIKE 'b%'")] == ["beta"]
    first = alice.search_experiments(max_results=2, order_by=["name"])
    assert [e.name for e in first] == ["alpha", "beta"] and first.token
    second = alice.search_experiments(max_results=2, order_by=["name"], page_token=first.token)
    assert [e.name for e in second] == ["gamma"] and not second.token


def test_start_run_without_an_experiment_uses_the_users_own_default(alice, make_token, tracking):
    with mlflow.start_run() as run:
        mlflow.log_metric("loss", 0.5)
    assert run.info.experiment_id == "0"
    assert alice.get_experiment("0").name == "Default"
    stored = Run.objects.get(pk=run.info.run_id)
    assert stored.project.slug == "default-alice"
    assert stored.experiment.name == "Default"
    # another user's "0" is their own
    bob = tracking(make_token("bob"))
    assert bob.search_runs(["0"]) == []
    with mlflow.start_run() as bobs:
        pass
    assert Run.objects.get(pk=bobs.info.run_id).project.slug == "default-bob"
    with pytest.raises(MlflowException):
        bob.delete_experiment("0")


def test_a_training_run_end_to_end(alice):
    mlflow.set_experiment("flows")
    with mlflow.start_run(run_name="lr-c1", tags={"stage": "dev"}) as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_params({"penalty": "l2", "solver": "lbfgs"})
        for step in range(3):
            mlflow.log_metrics({"train_loss": 1.0 / (step + 1), "val_f1": 0.5 + step / 10},
                               step=step)
        mlflow.log_metric("test_f1", 0.71, timestamp=1_700_000_000_000)
        mlflow.set_tags({"model": "logreg", "stage": "candidate"})
    assert len(run.info.run_id) == 32
    got = mlflow.get_run(run.info.run_id)
    assert got.info.run_name == "lr-c1"
    assert got.info.status == "FINISHED"
    assert got.info.end_time >= got.info.start_time
    assert got.info.user_id == "alice"
    assert got.info.artifact_uri == (f"mlflow-artifacts:/{got.info.experiment_id}/"
                                     f"{run.info.run_id}/artifacts")
    assert got.data.params == {"C": "1.0", "penalty": "l2", "solver": "lbfgs"}
    assert got.data.metrics == {"train_loss": 1 / 3, "val_f1": pytest.approx(0.7),
                                "test_f1": 0.71}
    assert got.data.tags["stage"] == "candidate"
    assert got.data.tags["mlflow.runName"] == "lr-c1"
    assert got.data.tags["mlflow.user"]  # what the client sent is kept
    stored = Run.objects.get(pk=run.info.run_id)
    assert stored.status == "finished" and stored.name == "lr-c1"
    series = set(MetricSummary.objects.filter(run=stored).values_list("key", "split",
                                                                        "source_key"))
    assert series == {("loss", "train", "train_loss"), ("f1", "validation", "val_f1"),
                      ("f1", "test", "test_f1")}
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "val_f1")
    assert [(m.step, round(m.value, 3)) for m in history] == [(0, 0.5), (1, 0.6), (2, 0.7)]
    assert mlflow.MlflowClient().get_metric_history(run.info.run_id, "nothing") == []


def test_a_test_metric_logged_after_training_goes_to_the_runs_last_step(alice):
    # The client sends step 0 when the script gives none: on the judged split (test, with no
    # target agreed) that reads as "no step", as the SDK's step-less call does.
    mlflow.set_experiment("steps")
    with mlflow.start_run() as run:
        for step in range(5):
            mlflow.log_metrics({"train_loss": 1.0 / (step + 1), "val_f1": 0.8}, step=step)
        mlflow.log_metric("test_f1", 0.71)
        mlflow.log_metrics({"test_accuracy": 0.75, "val_loss": 0.3})
        ts = int(time.time() * 1000)
        alice.log_batch(run.info.run_id, metrics=[Metric("test_recall", 0.5 + step / 10, ts, step)
                                                  for step in range(3)])
    run_id = run.info.run_id
    assert [(m.step, m.value) for m in alice.get_metric_history(run_id, "test_f1")] == [(4, 0.71)]
    assert [m.step for m in alice.get_metric_history(run_id, "test_accuracy")] == [4]
    assert [m.step for m in alice.get_metric_history(run_id, "val_loss")] == [0]  # not judged
    # a curve logged at once keeps its steps, 0 included
    assert [m.step for m in alice.get_metric_history(run_id, "test_recall")] == [0, 1, 2]


@pytest.mark.parametrize(("status", "ours"), [("FAILED", "failed"), ("KILLED", "killed")])
def test_end_run_statuses(alice, status, ours):
    with mlflow.start_run() as run:
        pass
    mlflow.start_run(run_id=run.info.run_id)  # resumed, then ended otherwise
    assert alice.get_run(run.info.run_id).info.status == "RUNNING"
    mlflow.end_run(status=status)
    assert alice.get_run(run.info.run_id).info.status == status
    assert Run.objects.get(pk=run.info.run_id).status == ours


def test_nested_runs_carry_their_parent(alice):
    mlflow.set_experiment("sweep")
    with mlflow.start_run(run_name="parent") as parent:
        for c in (0.1, 1.0):
            with mlflow.start_run(run_name=f"child-{c}", nested=True):
                mlflow.log_param("C", c)
    children = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        order_by=["params.C DESC"], output_format="list")
    assert [r.info.run_name for r in children] == ["child-1.0", "child-0.1"]
    assert all(r.info.status == "FINISHED" for r in children)


def test_client_create_update_delete_restore(alice):
    experiment_id = alice.create_experiment("client-api")
    run = alice.create_run(experiment_id, run_name="first", start_time=1_700_000_000_000,
                           tags={"source": "client"})
    assert run.info.start_time == 1_700_000_000_000
    assert run.info.status == "RUNNING" and run.info.end_time is None
    alice.update_run(run.info.run_id, name="renamed")
    assert alice.get_run(run.info.run_id).info.run_name == "renamed"
    alice.set_tag(run.info.run_id, "mlflow.runName", "by-tag")
    assert alice.get_run(run.info.run_id).info.run_name == "by-tag"
    alice.set_terminated(run.info.run_id, status="FINISHED", end_time=1_700_000_360_000)
    info = alice.get_run(run.info.run_id).info
    assert (info.status, info.end_time) == ("FINISHED", 1_700_000_360_000)
    alice.delete_run(run.info.run_id)
    assert alice.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert alice.search_runs([experiment_id]) == []
    assert len(alice.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)) == 1
    with pytest.raises(MlflowException) as caught:
        alice.log_param(run.info.run_id, "late", "1")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    alice.restore_run(run.info.run_id)
    assert len(alice.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY)) == 1


def test_log_batch_params_are_write_once_and_tags_last_write_wins(alice):
    run = alice.create_run(alice.create_experiment("batches"))
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    alice.log_batch(run_id, metrics=[Metric("val_f1", 0.8, now, 3), Metric("loss", 0.2, now, 3)],
                    params=[Param("lr", "0.1")], tags=[RunTag("stage", "dev")])
    alice.log_batch(run_id, params=[Param("lr", "0.1")], tags=[RunTag("stage", "prod")])
    with pytest.raises(MlflowException) as caught:
        alice.log_param(run_id, "lr", "0.2")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "lr" in caught.value.message
    # a replayed point is stored once
    alice.log_batch(run_id, metrics=[Metric("val_f1", 0.8, now, 3)])
    assert len(alice.get_metric_history(run_id, "val_f1")) == 1
    alice.set_tag(run_id, "temp", "x")
    alice.delete_tag(run_id, "temp")
    data = alice.get_run(run_id).data
    assert data.params == {"lr": "0.1"}
    assert data.tags["stage"] == "prod" and "temp" not in data.tags
    with pytest.raises(MlflowException) as caught:
        alice.delete_tag(run_id, "never-set")
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_nan_and_infinity_round_trip(alice):
    run = alice.create_run(alice.create_experiment("nan"))
    alice.log_metric(run.info.run_id, "loss", float("nan"), step=0)
    alice.log_metric(run.info.run_id, "loss", float("inf"), step=1)
    values = [m.value for m in alice.get_metric_history(run.info.run_id, "loss")]
    assert math.isnan(values[0]) and values[1] == float("inf")


def test_two_mlflow_keys_for_one_series_never_merge(alice):
    run = alice.create_run(alice.create_experiment("collide"))
    run_id = run.info.run_id
    alice.log_metric(run_id, "val_f1", 0.5, step=0)
    alice.log_metric(run_id, "validation_f1", 0.9, step=0)
    assert [m.value for m in alice.get_metric_history(run_id, "val_f1")] == [0.5]
    assert [m.value for m in alice.get_metric_history(run_id, "validation_f1")] == [0.9]
    assert alice.get_run(run_id).data.metrics == {"val_f1": 0.5, "validation_f1": 0.9}
    stored = set(MetricSummary.objects.filter(run_id=run_id).values_list("key", "split"))
    assert stored == {("f1", "validation"), ("validation_f1", "train")}


def test_log_inputs_are_stored_as_run_datasets(alice):
    run = alice.create_run(alice.create_experiment("inputs"))
    dataset = Dataset(name="iris", digest="abc123", source_type="local",
                      source='{"uri": "/data/iris.csv"}', schema="{}", profile='{"rows": 150}')
    tags = [InputTag("mlflow.data.context", "train")]
    alice.log_inputs(run.info.run_id, [DatasetInput(dataset, tags)])
    alice.log_inputs(run.info.run_id, [DatasetInput(dataset, tags)])  # same one: kept once
    stored = RunDataset.objects.get(run_id=run.info.run_id)
    assert (stored.name, stored.digest, stored.tags) == ("iris", "abc123",
                                                         {"mlflow.data.context": "train"})
    inputs = alice.get_run(run.info.run_id).inputs.dataset_inputs
    assert [(i.dataset.name, i.dataset.profile, i.tags[0].value) for i in inputs] == [
        ("iris", '{"rows": 150}', "train")]


def test_metrics_on_a_dataset_take_its_split_when_their_key_names_none(alice):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0.0, 1.0, 0.0]})
    features = mlflow.data.from_pandas(frame, name="features", targets="label")
    customers = mlflow.data.from_pandas(frame, name="customers", targets="label")
    holdout = mlflow.data.from_pandas(frame, name="holdout-2026", targets="label")
    mlflow.set_experiment("datasets")
    with mlflow.start_run() as run:
        mlflow.log_input(features, context="training")
        mlflow.log_input(customers, context="validation")
        mlflow.log_metrics({"loss": 0.4}, dataset=features)  # its context: training
        mlflow.log_metrics({"f1": 0.8}, dataset=customers)  # its context, not its name
        mlflow.log_metric("accuracy", 0.9, dataset=holdout)  # no context: its name
        mlflow.log_metrics({"val_loss": 0.5}, dataset=holdout)  # the key's prefix first
        mlflow.log_metric("accuracy", 0.92, step=1)  # no dataset now: the same series
    run_id = run.info.run_id
    stored = set(MetricSummary.objects.filter(run_id=run_id).values_list("key", "split"))
    assert stored == {("loss", "train"), ("f1", "validation"), ("accuracy", "test"),
                      ("loss", "validation")}
    # the client reads back exactly what it logged
    assert alice.get_run(run_id).data.metrics == {"loss": 0.4, "f1": 0.8, "accuracy": 0.92,
                                                  "val_loss": 0.5}
    assert [m.value for m in alice.get_metric_history(run_id, "accuracy")] == [0.9, 0.92]
    found = alice.search_runs([run.info.experiment_id], "metrics.accuracy > 0.91")
    assert [r.info.run_id for r in found] == [run_id]


def test_the_ajax_api_routes_answer_the_same(alice, live_server):
    experiment_id = alice.create_experiment("ajax")
    response = requests.get(f"{live_server.url}/ajax-api/2.0/mlflow/experiments/get",
                            params={"experiment_id": experiment_id},
                            headers={"Authorization": f"Bearer {alice.token}"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["experiment"]["name"] == "ajax"
    assert response.json()["experiment"]["workspace"] == "default"  # as mlflow server 3.17


def test_runs_show_in_targetline_with_their_splits(alice):
    mlflow.set_experiment("visible")
    with mlflow.start_run(run_name="seen") as run:
        mlflow.log_metrics({"train_loss": 0.3, "val_f1": 0.81, "test_f1": 0.79})
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.token}")
    body = api.get(f"/api/v1/runs/{run.info.run_id}").json()
    assert body["project"] == "visible" and body["experiment"] == "visible"
    assert {(m["split"], m["key"]) for m in body["metrics"]} == {
        ("train", "loss"), ("validation", "f1"), ("test", "f1")}
    assert Project.objects.filter(slug="visible").exists()
    assert RunStatus.to_string(RunStatus.FINISHED) == "FINISHED"


def test_a_refused_batch_claims_no_series(alice):
    run_id = alice.create_run(alice.create_experiment("refused")).info.run_id
    alice.log_param(run_id, "p", "a")
    with pytest.raises(MlflowException):
        alice.log_batch(run_id, metrics=[Metric("val_f1", 0.1, 1, 0)], params=[Param("p", "b")])
    alice.log_metric(run_id, "validation_f1", 0.2, step=0)
    alice.log_metric(run_id, "val_f1", 0.3, step=0)
    alice.log_metric(run_id, "val_f1", 0.4, step=1)  # resolved again: the same series
    assert [m.value for m in alice.get_metric_history(run_id, "validation_f1")] == [0.2]
    assert [m.value for m in alice.get_metric_history(run_id, "val_f1")] == [0.3, 0.4]
    assert set(MetricSummary.objects.filter(run_id=run_id).values_list("key", "split")) == {
        ("f1", "validation"), ("val_f1", "train")}


def test_a_refused_batch_that_renames_the_run_changes_nothing(alice):
    experiment_id = alice.create_experiment("rename-refused")
    run_id = alice.create_run(experiment_id, run_name="before").info.run_id
    alice.log_param(run_id, "p", "a")
    rename = RunTag("mlflow.runName", "after")
    with pytest.raises(MlflowException) as caught:
        alice.log_batch(run_id, metrics=[Metric("loss", 0.1, 1, 0)], params=[Param("p", "b")],
                        tags=[rename])
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    run = alice.get_run(run_id)
    assert run.info.run_name == "before" and run.data.metrics == {}
    alice.log_batch(run_id, metrics=[Metric("loss", 0.1, 1, 0)], tags=[rename])
    for step in (1, 2):
        alice.log_metric(run_id, "loss", 0.1 / step, step=step)
    run = alice.get_run(run_id)
    assert run.info.run_name == "after" and run.data.params == {"p": "a"}
    assert [m.step for m in alice.get_metric_history(run_id, "loss")] == [0, 1, 2]


def test_long_params_and_tags_are_kept_whole_where_mlflow_server_cuts_them(alice):
    """mlflow server cuts params to 6,000 and tags to 8,000 characters without a word; a
    script that logs a feature list or notes keeps them whole here (up to 100,000)."""
    features = ",".join(f"f{i}" for i in range(2000))  # 7,889 characters
    notes = "Retrained after the label fix. " * 300  # 9,300 characters
    mlflow.set_experiment("wide-inputs")
    with mlflow.start_run() as run:
        mlflow.log_param("features", features)
        mlflow.set_tag("mlflow.note.content", notes)
        mlflow.log_metric("val_f1", 0.8)
        with pytest.raises(MlflowException, match="100000") as refused:
            mlflow.log_params({"huge": "x" * 100_001, "fine": "1"})
        assert refused.value.error_code == "INVALID_PARAMETER_VALUE"
    stored = alice.get_run(run.info.run_id).data
    assert stored.params == {"features": features}  # the refused batch stored nothing
    assert stored.tags["mlflow.note.content"] == notes
