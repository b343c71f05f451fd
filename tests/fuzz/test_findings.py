"""What the fuzz tests found, each pinned by a plain test: the request that broke the server
(a 500, or a refused call that wrote) and the answer it gets now."""

import json

import pytest
from django.test import Client

from tracker.models import Experiment, Run
from tracker.services import tokens as token_services

pytestmark = pytest.mark.django_db

P = "/api/v1/projects/news-topics"
API = "/api/2.0/mlflow/"
DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000


# --- v1 --------------------------------------------------------------------------------

def test_a_run_named_after_an_experiment_of_250_characters_gets_a_name_that_fits(api,
                                                                                 project):
    response = api.post(f"{P}/runs/", {"experiment": "x" * 250}, format="json")

    assert response.status_code == 201, response.content
    name = response.json()["name"]
    assert len(name) == 250 and name.startswith("x" * 241 + "-")


@pytest.mark.parametrize(("body", "field", "problem"), [
    ({"experiment": "lr", "context": {"os\u0000": 1}}, "context.os\\x00", "NUL"),
    ({"experiment": "lr", "notes": "line\u0000"}, "notes", "NUL"),
    ({"experiment": "lr", "tags": {"stage": ["ok", "\ud800"]}}, "tags.stage[1]",
     "lone surrogate"),
])
def test_text_the_database_cannot_store_is_a_400_naming_the_field(api, project, body, field,
                                                                   problem):
    raw = json.dumps(body)  # escaped, as every JSON client writes them
    response = api.post(f"{P}/runs/", raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert problem in response.json()["error"]
    assert not Run.objects.exists()


def test_text_the_database_cannot_store_is_refused_in_forms_and_urls(api, project):
    form = api.post(f"{P}/experiments/", {"name": "lr\x00"}, format="multipart")
    query = api.get(f"{P}/runs/?filter=%00")
    path = api.get(f"{P}/experiments/lr%00")

    assert (form.status_code, form.json()["field"]) == (400, "name")
    assert (query.status_code, query.json()["field"]) == (400, "filter")
    assert (path.status_code, path.json()["field"]) == (400, "name")


def test_a_body_nested_too_deeply_is_a_400(api, project):
    response = api.post(f"{P}/runs/", DEEP, content_type="application/json")

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


# --- MLflow ----------------------------------------------------------------------------

@pytest.fixture
def mlflow(owner):
    _, token = token_services.create_token(user=owner, name="findings")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def post(route, body):
        raw = body if isinstance(body, bytes) else json.dumps(body)
        response = client.post(API + route, raw, content_type="application/json")
        return response.status_code, response.json()
    post.get = lambda route, query: client.get(f"{API}{route}?{query}")
    return post


@pytest.fixture
def mlflow_run(mlflow):
    _, experiment = mlflow("experiments/create", {"name": "findings"})
    _, run = mlflow("runs/create", {"experiment_id": experiment["experiment_id"],
                                    "run_name": "r1"})
    return run["run"]["info"]["run_id"]


def test_an_update_refused_for_its_status_does_not_rename_the_run(mlflow, mlflow_run):
    status, answer = mlflow("runs/update", {"run_id": mlflow_run, "run_name": "renamed",
                                            "status": []})

    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert Run.objects.get().name == "r1"


@pytest.mark.parametrize(("route", "field"), [("runs/update", "end_time"),
                                              ("runs/create", "start_time")])
def test_a_time_past_the_year_9999_is_refused(mlflow, mlflow_run, route, field):
    status, answer = mlflow(route, {"run_id": mlflow_run, "status": "FINISHED",
                                    field: 2**62})

    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert f"'{field}'" in answer["message"]
    assert Run.objects.get().status == "running"


@pytest.mark.parametrize("route", ["runs/log-batch", "runs/log-metric", "runs/set-tag",
                                   "experiments/update", "registered-models/rename"])
def test_a_body_nested_too_deeply_is_refused_in_mlflows_shape(mlflow, route):
    status, answer = mlflow(route, DEEP)

    assert status == 400
    assert answer == {"error_code": "INVALID_PARAMETER_VALUE",
                      "message": "the request body is not valid JSON: it is nested too deeply"}


@pytest.mark.parametrize("source", [["runs:/x/model"], {"uri": "runs:/x"}, 3.5])
def test_a_model_version_whose_source_is_no_string_is_refused(mlflow, source):
    mlflow("registered-models/create", {"name": "topics"})

    status, answer = mlflow("model-versions/create", {"name": "topics", "source": source})

    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    # mlflow server's own words (tests/mlflow/test_parity.py)
    assert "for parameter 'source' supplied" in answer["message"]


@pytest.mark.parametrize(("route", "body", "field"), [
    ("registered-models/create", {"name": "topics\u0000"}, "name"),
    ("experiments/create", {"name": "x", "tags": [{"key": "k", "value": "\ud800"}]},
     "tags[0].value"),
])
def test_text_the_database_cannot_store_is_refused_in_mlflows_shape(mlflow, route, body,
                                                                    field):
    status, answer = mlflow(route, body)

    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert f"parameter '{field}'" in answer["message"]


def test_the_logging_calls_refuse_nul_and_store_nothing(mlflow, mlflow_run):
    status, answer = mlflow("runs/log-batch", {"run_id": mlflow_run, "params": [
        {"key": "C", "value": "1"}, {"key": "kernel", "value": "rbf\u0000"}]})

    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "'params[1].value'" in answer["message"]
    assert Run.objects.get().params == {}


def test_a_query_with_nul_is_refused_in_mlflows_shape(mlflow, mlflow_run):
    response = mlflow.get("experiments/get-by-name", "experiment_name=a%00b")

    assert response.status_code == 400
    assert "'experiment_name'" in response.json()["message"]


@pytest.mark.parametrize("route", ["runs/search", "experiments/search"])
@pytest.mark.parametrize(("field", "value", "words"), [
    ("filter", ["metrics.loss < 1"], "for parameter 'filter' supplied"),
    ("filter", {"metrics.loss": 1}, "for parameter 'filter' supplied"),
    ("order_by", [3], "for parameter 'order_by' supplied"),
])
def test_a_search_whose_filter_or_order_is_no_text_is_refused(mlflow, route, field, value,
                                                               words):
    status, answer = mlflow(route, {field: value})

    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert words in answer["message"]


@pytest.mark.parametrize("key", [[], {"a": 1}])
def test_a_tag_key_that_is_no_text_is_refused_and_creates_nothing(mlflow, key):
    before = Experiment.objects.count()
    status, answer = mlflow("experiments/create", {"name": "tagged", "tags": [{"key": key}]})

    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "parameter 'tags[0].key'" in answer["message"]
    assert Experiment.objects.count() == before


def test_a_path_with_a_newline_gets_the_apis_json_404(api, project):
    v1 = api.get(f"{P}/experiments/a%0Ab")
    mlflow = api.get(f"{API}experiments/a%0Ab")

    assert (v1.status_code, v1["Content-Type"]) == (404, "application/json")
    assert (mlflow.status_code, mlflow.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")


def test_an_artifacts_url_is_percent_encoded(api, project, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    run = api.post(f"{P}/runs/", {"experiment": "lr"}, format="json").json()
    # Django's build_absolute_uri leaves [ and ] alone, which no URI path may hold.
    response = api.put(f"/api/v1/runs/{run['id']}/artifacts/plots/roc%5B1%5D.png", b"png",
                       content_type="application/octet-stream")

    assert response.status_code == 201, response.content
    assert response.json()["url"].endswith("/artifacts/plots/roc%5B1%5D.png")
