"""The filter language compiled to ORM queries, against the real database."""

import pytest

from tests.factories import make_run
from tracker.errors import InvalidInput
from tracker.run_search import search_runs
from tracker.services import projects as project_services
from tracker.services import runs as run_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(project, owner):
    make_run(project, owner, name="lr-c1", experiment="tfidf-logreg", baseline=True,
             params={"model": "lr", "C": 1.0}, tags={"stage": "dev"},
             series={"validation.f1": 0.78, "test.f1": 0.77, "test/long_texts.f1": 0.65})
    make_run(project, owner, name="lr-c10", experiment="tfidf-logreg",
             params={"model": "lr", "C": "10"}, tags={"stage": "prod"},
             series={"validation.f1": 0.83, "test.f1": 0.82, "test/long_texts.f1": 0.74})
    make_run(project, owner, name="svm-rbf", experiment="svm", finish="failed",
             params={"model": "svm", "C": 0.5},
             series={"validation.f1": 0.86, "test/long_texts.f1": 0.71})
    make_run(project, owner, name="rf", experiment="forest", finish=None,
             params={"model": "rf"}, series={"train.loss": [0.9, 0.3]})


def names(project, text, order_by="name"):
    return [r.name for r in search_runs(project=project, filter_text=text, order_by=order_by)]


@pytest.mark.parametrize("text, expected", [
    ("", ["lr-c1", "lr-c10", "rf", "svm-rbf"]),
    ("validation.f1 > 0.8", ["lr-c10", "svm-rbf"]),
    ("validation.f1 >= 0.78 and validation.f1 < 0.84", ["lr-c1", "lr-c10"]),
    ('params.model = "svm"', ["svm-rbf"]),
    ('validation.f1 > 0.8 and params.model = "svm"', ["svm-rbf"]),
    ('tags.stage != "dev"', ["lr-c10", "rf", "svm-rbf"]),
    ('status = "finished"', ["lr-c1", "lr-c10"]),
    ("baseline = true", ["lr-c1"]),
    ("baseline = false", ["lr-c10", "rf", "svm-rbf"]),
    ('name ~ "lr-%"', ["lr-c1", "lr-c10"]),
    ('name ~ "lr-c_"', ["lr-c1"]),
    ('name ~* "LR-%"', ["lr-c1", "lr-c10"]),
    ("test/long_texts.f1 >= 0.7", ["lr-c10", "svm-rbf"]),
    ('not (params.model = "lr")', ["rf", "svm-rbf"]),
    ('(status = "failed" or baseline = true) and validation.f1 > 0.5', ["lr-c1", "svm-rbf"]),
    ("test.f1 = null", ["rf", "svm-rbf"]),
    ("test.f1 != null", ["lr-c1", "lr-c10"]),
    ('experiment = "svm"', ["svm-rbf"]),
    # "10" was sent as text (as the MLflow client does): it still compares as a number.
    ("params.C > 0.9", ["lr-c1", "lr-c10"]),
    ("params.C = 10", ["lr-c10"]),
    ("train.loss < 0.5", ["rf"]),
    ('created_by = "olivia"', ["lr-c1", "lr-c10", "rf", "svm-rbf"]),
    ("duration >= 0", ["lr-c1", "lr-c10", "svm-rbf"]),
])
def test_filters(project, runs, text, expected):
    assert names(project, text) == expected


def test_sorting_by_a_metric_puts_missing_values_last(project, runs):
    assert names(project, "", "-validation.f1") == ["svm-rbf", "lr-c10", "lr-c1", "rf"]
    assert names(project, "", "validation.f1") == ["lr-c1", "lr-c10", "svm-rbf", "rf"]


def test_sorting_by_several_fields(project, runs):
    assert names(project, "", "experiment,-name") == ["rf", "svm-rbf", "lr-c10", "lr-c1"]


def test_a_deleted_run_is_not_found(project, owner, runs):
    run = make_run(project, owner, name="deleted", series={"validation.f1": 0.99})
    run_services.delete_run(run=run)
    assert "deleted" not in names(project, "validation.f1 > 0.5")


def test_another_projects_runs_never_leak_in(project, owner, runs):
    other = project_services.create_project(user=owner, slug="other")
    make_run(other, owner, name="elsewhere", series={"validation.f1": 0.99})
    assert "elsewhere" not in names(project, "validation.f1 > 0.5")


@pytest.mark.parametrize("text, position", [
    ("validation.f1 >", 15),
    ("validation.f1 > 0.8 and", 23),
    ('params.model = "svm', 15),
    ("statuz = 1", 0),
    ("(validation.f1 > 1", 18),
])
def test_a_bad_filter_names_the_position(project, text, position):
    with pytest.raises(InvalidInput) as exc:
        search_runs(project=project, filter_text=text)
    assert exc.value.field == "filter"
    assert exc.value.extra["position"] == position
    assert f"at position {position}" in exc.value.message


@pytest.mark.parametrize("text, expected", [
    ('not (tags.stage = "dev")', ["lr-c10", "rf", "svm-rbf"]),
    ("not (params.C > 0.9)", ["rf", "svm-rbf"]),
    ('not (params.kernel = "rbf")', ["lr-c1", "lr-c10", "rf", "svm-rbf"]),
    ("not (duration > 1000)", ["lr-c1", "lr-c10", "rf", "svm-rbf"]),
    ("not (validation.f1 > 0.8)", ["lr-c1", "rf"]),
])
def test_not_includes_runs_that_lack_the_field(project, runs, text, expected):
    assert names(project, text) == expected


def test_datasets_filter_on_the_runs_inputs(project, owner, runs):
    """datasets.name / digest / context: the run used such a dataset (any of its inputs)."""
    from tracker.models import Run

    by_name = {r.name: r for r in Run.objects.filter(project=project)}
    run_services.log_run_datasets(run=by_name["lr-c1"], datasets=[
        {"name": "tickets", "digest": "aa11", "tags": {"mlflow.data.context": "training"}},
        {"name": "tickets-eval", "digest": "bb22", "tags": {"mlflow.data.context": "eval"}}])
    run_services.log_run_datasets(run=by_name["svm-rbf"], datasets=[
        {"name": "tickets", "digest": "cc33", "tags": {"mlflow.data.context": "training"}}])
    assert names(project, 'datasets.name = "tickets"') == ["lr-c1", "svm-rbf"]
    assert names(project, 'datasets.context = "eval"') == ["lr-c1"]
    assert names(project, 'datasets.digest ~ "c%"') == ["svm-rbf"]
    assert names(project, 'datasets.name != "tickets-eval"') == ["svm-rbf"]
    assert names(project, 'not datasets.name = "tickets-eval"') == ["lr-c10", "rf", "svm-rbf"]
    assert names(project, "datasets.name = null") == ["lr-c10", "rf"]
    with pytest.raises(InvalidInput, match="unknown dataset field 'rows'"):
        names(project, "datasets.rows > 3")
    with pytest.raises(InvalidInput, match="cannot be sorted by datasets.name"):
        names(project, "", order_by="datasets.name")
