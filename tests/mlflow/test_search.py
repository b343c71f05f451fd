"""search_runs with MLflow filter strings, order_by, paging and view types; history paging."""

import mlflow
import numpy as np
import pytest
import requests
from django.contrib.auth import get_user_model
from mlflow.entities import Metric, ViewType

from tracker.models import Project
from tracker.services import targets as target_services


@pytest.fixture
def sweep(alice):
    """Seven finished runs: C, model and stage vary; val_f1 = 0.5 + C / 10."""
    experiment_id = alice.create_experiment("search")
    runs = {}
    for i, (model, stage) in enumerate([("svm", "dev"), ("svm", "prod"), ("lr", "dev"),
                                        ("svm", "dev"), ("lr", "prod"), ("svm", "dev"),
                                        ("lr", "dev")]):
        run = alice.create_run(experiment_id, run_name=f"run-{i}",
                               start_time=1_700_000_000_000 + i * 1000)
        run_id = run.info.run_id
        alice.log_batch(run_id, metrics=[Metric("val_f1", 0.5 + i / 10, 1, 0),
                                         Metric("train_loss", 1 - i / 10, 1, 0)])
        alice.log_param(run_id, "model", model)
        alice.log_param(run_id, "C", str(i))
        alice.set_tag(run_id, "stage", stage)
        alice.set_terminated(run_id, "FAILED" if i == 6 else "FINISHED")
        runs[i] = run_id
    return experiment_id, runs


def names(runs):
    return [r.info.run_name for r in runs]


def test_the_issue_example_filter(alice, sweep):
    experiment_id, _ = sweep
    found = alice.search_runs(
        [experiment_id], "metrics.val_f1 > 0.8 and params.model = 'svm' and tags.stage = 'dev' "
        "and attributes.status = 'FINISHED'")
    assert names(found) == ["run-5"]


@pytest.mark.parametrize(("filter_string", "expected"), [
    ("metrics.val_f1 >= 1.0", ["run-6", "run-5"]),
    ("metrics.train_loss < 0.55", ["run-6", "run-5"]),
    ("metrics.val_f1 != 0.5", ["run-6", "run-5", "run-4", "run-3", "run-2", "run-1"]),
    ("params.model = 'lr' and tags.stage != 'prod'", ["run-6", "run-2"]),
    ("params.model LIKE 's%' and params.C IN ('1', '3')", None),
    ("attributes.run_name ILIKE 'RUN-1'", ["run-1"]),
    ("run_name IN ('run-0', 'run-4')", ["run-4", "run-0"]),
    ("status = 'FAILED'", ["run-6"]),
    ("attributes.status IN ('FAILED', 'KILLED')", ["run-6"]),
    ("status = 'SCHEDULED'", []),
    ("tags.stage = 'prod' or metrics.val_f1 > 1.05", ["run-6", "run-4", "run-1"]),
    ("params.missing IS NULL and tags.stage IS NOT NULL and metrics.val_f1 < 0.65",
     ["run-1", "run-0"]),
    ("start_time >= 1700000005000", ["run-6", "run-5"]),
    ("tags.mlflow.runName = 'run-3'", ["run-3"]),
])
def test_filters(alice, sweep, filter_string, expected):
    experiment_id, _ = sweep
    if expected is None:  # IN is only for attributes in MLflow: refused for params
        with pytest.raises(mlflow.exceptions.MlflowException):
            alice.search_runs([experiment_id], filter_string)
        return
    assert names(alice.search_runs([experiment_id], filter_string)) == expected


def test_run_id_filters(alice, sweep):
    experiment_id, runs = sweep
    found = alice.search_runs([experiment_id], f"attributes.run_id = '{runs[3]}'")
    assert names(found) == ["run-3"]
    found = alice.search_runs([experiment_id], f"run_id IN ('{runs[1]}', '{runs[2]}')")
    assert names(found) == ["run-2", "run-1"]


def test_order_by(alice, sweep):
    experiment_id, _ = sweep
    assert names(alice.search_runs([experiment_id])) == [f"run-{i}" for i in range(6, -1, -1)]
    by_loss = alice.search_runs([experiment_id], order_by=["metrics.train_loss ASC"])
    assert names(by_loss)[:2] == ["run-6", "run-5"]
    by_model = alice.search_runs([experiment_id], order_by=["params.model DESC",
                                                            "metrics.val_f1 DESC"])
    assert names(by_model) == ["run-5", "run-3", "run-1", "run-0", "run-6", "run-4", "run-2"]
    by_start = alice.search_runs([experiment_id], order_by=["attributes.start_time"])
    assert names(by_start) == [f"run-{i}" for i in range(7)]


def test_paging_over_several_pages(alice, sweep):
    experiment_id, _ = sweep
    seen, token, pages = [], None, 0
    while True:
        page = alice.search_runs([experiment_id], max_results=3, page_token=token,
                                 order_by=["metrics.val_f1 DESC"])
        seen += names(page)
        pages += 1
        token = page.token
        if not token:
            break
    assert pages == 3
    assert seen == [f"run-{i}" for i in range(6, -1, -1)]
    # the fluent API follows the tokens itself
    everything = mlflow.search_runs([experiment_id], max_results=5, output_format="list")
    assert len(everything) == 5


def test_view_types_and_several_experiments(alice, sweep):
    experiment_id, runs = sweep
    other = alice.create_experiment("search-2")
    alice.create_run(other, run_name="elsewhere")
    alice.delete_run(runs[0])
    assert len(alice.search_runs([experiment_id, other])) == 7
    deleted = alice.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert names(deleted) == ["run-0"]
    assert len(alice.search_runs([experiment_id], run_view_type=ViewType.ALL)) == 7
    found = mlflow.search_runs(experiment_names=["search", "search-2"],
                               filter_string="attributes.run_name LIKE 'else%'",
                               output_format="list")
    assert names(found) == ["elsewhere"]


def test_metric_history_pages_and_reads_back_the_logged_key(live_server, alice):
    run_id = alice.create_run(alice.create_experiment("history")).info.run_id
    alice.log_batch(run_id, metrics=[Metric("val_loss", 1 / (i + 1), 1_700_000_000_000 + i, i)
                                     for i in range(30)])
    headers = {"Authorization": f"Bearer {alice.token}"}
    url = f"{live_server.url}/api/2.0/mlflow/metrics/get-history"
    steps, token = [], None
    while True:
        params = {"run_id": run_id, "metric_key": "val_loss", "max_results": 12}
        if token:
            params["page_token"] = token
        body = requests.get(url, params=params, headers=headers, timeout=10).json()
        assert {m["key"] for m in body["metrics"]} == {"val_loss"}
        steps += [m["step"] for m in body["metrics"]]
        token = body.get("next_page_token")
        if not token:
            break
    assert steps == list(range(30))
    assert len(alice.get_metric_history(run_id, "val_loss")) == 30
    bad = requests.get(url, params={"run_id": run_id, "metric_key": "val_loss",
                                    "max_results": 0}, headers=headers, timeout=10)
    assert bad.status_code == 400


def test_filters_on_the_datasets_runs_used(alice):
    """MLflow's datasets.name / datasets.digest / datasets.context, on the runs' inputs."""
    mlflow.set_experiment("with-data")
    train = mlflow.data.from_numpy(np.arange(8).reshape(4, 2), name="tickets-2026-11")
    other = mlflow.data.from_numpy(np.arange(6).reshape(3, 2), name="tickets-2026-10")
    ids = {}
    for name, inputs in (("both", [(train, "training"), (other, "eval")]),
                         ("november", [(train, "training")]),
                         ("october-eval", [(other, "eval")]),
                         ("no-data", [])):
        with mlflow.start_run(run_name=name) as run:
            for dataset, context in inputs:
                mlflow.log_input(dataset, context=context)
        ids[name] = run.info.run_id
    experiment_id = alice.get_experiment_by_name("with-data").experiment_id

    def found(filter_string):
        return sorted(r.info.run_name for r in alice.search_runs([experiment_id], filter_string))

    assert found("datasets.name = 'tickets-2026-11'") == ["both", "november"]
    assert found(f"datasets.digest = '{other.digest}'") == ["both", "october-eval"]
    assert found("datasets.context = 'eval'") == ["both", "october-eval"]
    assert found("datasets.name LIKE '%-10' and datasets.context = 'training'") == ["both"]
    assert found("datasets.name IN ('tickets-2026-10', 'nope')") == ["both", "october-eval"]
    assert found("datasets.name != 'tickets-2026-11'") == ["october-eval"]
    assert found("datasets.name NOT IN ('tickets-2026-11')") == ["no-data", "october-eval"]
    with pytest.raises(mlflow.exceptions.MlflowException, match="dataset key"):
        alice.search_runs([experiment_id], "datasets.rows > 3")
    with pytest.raises(mlflow.exceptions.MlflowException, match="order_by"):
        alice.search_runs([experiment_id], order_by=["datasets.name"])


def test_a_metric_in_a_search_is_the_key_the_client_logged_at_its_latest_value(alice):
    """As mlflow server reads `metrics.val_f1`: only runs that logged that very key (not
    val/f1 or validation_f1, which Targetline also files under f1 on validation), compared
    and sorted by its latest value, the one get_run shows, even once the project's target
    makes another step the run's best."""
    nan = float("nan")
    experiment_id = alice.create_experiment("metric-meaning")
    logged = {"falling": [0.9, 0.8], "aliases": None, "nan": [nan], "none": [],
              "tie": [0.8], "inf": [float("inf")]}
    for i, (name, values) in enumerate(logged.items()):
        run_id = alice.create_run(experiment_id, run_name=name,
                                  start_time=1_700_000_000_000 + i * 1000).info.run_id
        if values is None:
            metrics = [Metric("val/f1", 0.7, 1, 0), Metric("validation_f1", 0.6, 1, 0)]
        else:
            metrics = [Metric("val_f1", v, 1 + step, step) for step, v in enumerate(values)]
        alice.log_batch(run_id, metrics=metrics + [Metric("train_loss", 0.5, 1, 0)])
    project = Project.objects.get(slug="metric-meaning")
    target_services.set_target(project=project, user=get_user_model().objects.get(username="alice"),
                               target={"metric": "f1", "direction": "maximize", "threshold": 0.85})

    def found(filter_string="", order_by=None, **kwargs):
        return names(alice.search_runs([experiment_id], filter_string, order_by=order_by,
                                       **kwargs))

    assert alice.get_run(alice.search_runs(
        [experiment_id], "attributes.run_name = 'falling'")[0].info.run_id
    ).data.metrics["val_f1"] == 0.8
    assert found("metrics.val_f1 > 0.85") == ["inf"]  # falling's best 0.9 is not its latest
    assert found("metrics.val_f1 = 0.8") == ["tie", "falling"]
    assert found("metrics.val_f1 != 0.8") == ["inf", "nan"]  # NaN differs from every number
    assert found("metrics.`val/f1` > 0") == ["aliases"]
    assert found("metrics.validation_f1 < 1") == ["aliases"]
    assert found("metrics.val_f1 <= 1") == ["tie", "falling"]
    # numbers (ties newest first), then NaN, then runs without the key, either way
    assert found(order_by=["metrics.val_f1 DESC"]) == [
        "inf", "tie", "falling", "nan", "none", "aliases"]
    assert found(order_by=["metrics.val_f1"]) == ["tie", "falling", "inf", "nan", "none",
                                                  "aliases"]
    # every run has train_loss 0.5: the second key decides, then the start time
    assert found(order_by=["metrics.train_loss", "metrics.`val/f1` DESC"]) == [
        "aliases", "inf", "tie", "none", "nan", "falling"]
    pages, token = [], None
    while True:
        page = alice.search_runs([experiment_id], order_by=["metrics.val_f1 DESC"],
                                 max_results=2, page_token=token)
        pages.append(names(page))
        token = page.token
        if not token:
            break
    assert pages == [["inf", "tie"], ["falling", "nan"], ["none", "aliases"]]


def test_ties_in_a_sort_go_newest_first(alice, sweep):
    experiment_id, _ = sweep
    by_model = alice.search_runs([experiment_id], order_by=["params.model"])
    assert names(by_model) == ["run-6", "run-4", "run-2", "run-5", "run-3", "run-1", "run-0"]
    by_stage = alice.search_runs([experiment_id], order_by=["tags.stage DESC"], max_results=3)
    assert names(by_stage) == ["run-4", "run-1", "run-6"]


def test_like_patterns_can_match_a_plain_percent_or_underscore(alice):
    experiment_id = alice.create_experiment("like-escapes")
    for name, model in (("percent", "rf%x"), ("underscore", "rf_1"), ("plain", "rfa1")):
        run_id = alice.create_run(experiment_id, run_name=name).info.run_id
        alice.log_param(run_id, "model", model)

    def found(filter_string):
        return sorted(names(alice.search_runs([experiment_id], filter_string)))

    assert found("params.model LIKE 'rf_1'") == ["plain", "underscore"]
    assert found(r"params.model LIKE 'rf\_1'") == ["underscore"]
    assert found(r"params.model LIKE '%\%%'") == ["percent"]
    assert found("params.model ILIKE 'RF%'") == ["percent", "plain", "underscore"]
