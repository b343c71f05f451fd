"""A search that names a metric, param or tag no run of the project has still runs, and
says so with the closest name the runs do have."""

import pytest

from tests.factories import make_run
from tracker.services import runs as run_services

pytestmark = pytest.mark.django_db

P = "/api/v1/projects/news-topics"


@pytest.fixture
def runs(project, owner):
    make_run(project, owner, name="lr", params={"alpha": 0.01, "model": "lr"},
             tags={"stage": "dev"}, series={"validation.f1": 0.8, "train.loss": [0.9, 0.4]})
    make_run(project, owner, name="svm", params={"alpha": 0.1, "model": "svm"},
             series={"validation.f1": 0.85})


def test_a_misspelt_metric_still_runs_and_says_what_was_meant(api, runs):
    body = api.get(f"{P}/runs/", {"filter": "validation.F1 > 0.5"}).json()

    assert body["results"] == [] and body["count"] == 0
    assert body["warnings"] == [{
        "field": "validation.F1",
        "message": "No run in this project has logged F1 on validation; "
                   "did you mean validation.f1?",
        "suggestion": "validation.f1"}]


@pytest.mark.parametrize(("params", "expected"), [
    ({"filter": "params.alpa = 0.01"},
     [{"field": "params.alpa",
       "message": "No run in this project has a param named alpa; did you mean params.alpha?",
       "suggestion": "params.alpha"}]),
    ({"filter": 'tags.stge = "dev" or params.model = "svm"'},
     [{"field": "tags.stge",
       "message": "No run in this project has a tag named stge; did you mean tags.stage?",
       "suggestion": "tags.stage"}]),
    ({"filter": "params.stage = 1"},
     [{"field": "params.stage",
       "message": "No run in this project has a param named stage; did you mean tags.stage?",
       "suggestion": "tags.stage"}]),
    ({"order_by": "-validation.recall"},
     [{"field": "validation.recall",
       "message": "No run in this project has logged recall on validation.",
       "suggestion": None}]),
    ({"filter": "test.f1 > 0.5"},
     [{"field": "test.f1",
       "message": "No run in this project has logged f1 on test; did you mean "
                  "validation.f1?",
       "suggestion": "validation.f1"}]),
    ({"filter": "validation.f1 > 0.5 and params.alpha < 1", "order_by": "-train.loss"}, []),
    ({}, []),
])
def test_warnings_name_each_unknown_field(api, runs, params, expected):
    body = api.get(f"{P}/runs/", params).json()

    assert body["warnings"] == expected


def test_a_field_only_a_deleted_run_had_is_unknown(api, project, owner, runs):
    gone = make_run(project, owner, name="gone", params={"kernel": "rbf"})
    run_services.delete_run(run=gone)

    body = api.get(f"{P}/runs/", {"filter": 'params.kernel = "rbf"'}).json()

    assert [w["field"] for w in body["warnings"]] == ["params.kernel"]


def test_every_page_carries_the_warnings(api, runs):
    first = api.get(f"{P}/runs/", {"filter": "params.alpa != 1", "page_size": 1}).json()
    second = api.get(first["next"]).json()

    assert [w["field"] for w in first["warnings"]] == ["params.alpa"]
    assert second["warnings"] == first["warnings"]
