"""Hypothesis over the MLflow endpoints' JSON bodies (they have no OpenAPI schema): whatever a
client sends, the answer is never a 5xx, every refusal is a 4xx in MLflow's error shape
{"error_code", "message"}, and a refused call writes nothing."""

import json
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.mlflow.errors import HTTP_STATUS
from tests.fuzz.conftest import EXAMPLES, count
from tests.fuzz.strategies import (
    HOSTILE,
    KEY_VALUE,
    METRIC,
    NAME,
    NUMBER,
    RAW_BODY,
    TEXT,
    TIMESTAMP,
    batch_of,
    body,
    serialised,
)
from tracker.models import Experiment, MetricSummary, ModelVersion, PointBlock, RegisteredModel, Run
from tracker.services import tokens as token_services

pytestmark = pytest.mark.django_db

API = "/api/2.0/mlflow/"
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


class World:
    """The owner's client, an experiment, a run with a point and a registered model."""

    def __init__(self, owner):
        _, token = token_services.create_token(user=owner, name="fuzz")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        self.experiment_id = self.ok("experiments/create", {"name": "fuzz"})["experiment_id"]
        run = self.ok("runs/create", {"experiment_id": self.experiment_id, "run_name": "r1"})
        self.run_id = run["run"]["info"]["run_id"]
        self.ok("runs/log-metric", {"run_id": self.run_id, "key": "loss", "value": 0.5,
                                    "timestamp": 1_700_000_000_000, "step": 1})
        self.ok("registered-models/create", {"name": "topics"})
        # The default experiment "0" is made on first use: here, not by a refused call.
        assert self.send("GET", "experiments/get", query="experiment_id=0").status_code == 200

    def ok(self, route: str, data: dict) -> dict:
        response = self.send("POST", route, serialised(data))
        assert response.status_code == 200, response.content
        return response.json()

    def send(self, method: str, route: str, raw: bytes = b"", query: str = "",
             content_type: str = "application/json"):
        path = API + route + (f"?{query}" if query else "")
        return self.client.generic(method, path, raw, content_type=content_type)


@pytest.fixture
def world(owner):
    return World(owner)


def stored() -> list:
    """Everything the MLflow endpoints write (not the tokens' last use)."""
    return [
        list(Experiment.objects.order_by("pk").values_list("name", "tags", "deleted_at")),
        list(Run.objects.order_by("pk").values_list(
            "name", "status", "params", "tags", "notes", "ended_at", "deleted_at")),
        list(MetricSummary.objects.order_by("pk").values_list("key", "split", "count")),
        sum(PointBlock.objects.values_list("count", flat=True)),
        list(RegisteredModel.objects.order_by("pk").values_list("name", "description")),
        list(ModelVersion.objects.order_by("pk").values_list("version", "source", "stage")),
    ]


def _no_nan(constant):
    raise AssertionError(f"the answer is not strict JSON: it holds {constant}")


def assert_answered_well(response) -> dict:
    """No 5xx; strict JSON; a refusal is MLflow's error shape with its code's status."""
    status = response.status_code
    assert status < 500, (status, response.content[:2000])
    answer = json.loads(response.content, parse_constant=_no_nan)
    assert isinstance(answer, dict), answer
    if status >= 400:
        assert set(answer) == {"error_code", "message"}, answer
        assert isinstance(answer["message"], str) and answer["message"], answer
        assert HTTP_STATUS.get(answer["error_code"]) == status, (status, answer)
    return answer


def call_and_check(world, method: str, route: str, raw: bytes = b"", **kwargs):
    """Send one request in a savepoint rolled back after it (each example starts from the
    same world), and check its answer and that a refusal wrote nothing."""
    with transaction.atomic():
        before = stored()
        response = world.send(method, route, raw, **kwargs)
        count("mlflow", f"{method} {route}", response.status_code)
        answer = assert_answered_well(response)
        if response.status_code >= 400:
            assert stored() == before, f"{route} refused ({answer}) but wrote"
        transaction.set_rollback(True)
    return response


RUN = "run"  # stands for the world's run id in the bodies below
EXPERIMENT = "experiment"
STATUS = st.sampled_from(["RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED", "3", 3])

# Each POST endpoint with the fields of its body (name: a valid-looking value).
POST_BODIES = {
    "runs/log-batch": {"run_id": st.just(RUN),
                       "metrics": batch_of(METRIC, oversized=1001),
                       "params": batch_of(KEY_VALUE, oversized=101),
                       "tags": batch_of(KEY_VALUE, oversized=101)},
    "runs/log-metric": {"run_id": st.just(RUN), "key": NAME, "value": NUMBER,
                        "timestamp": TIMESTAMP, "step": NUMBER},
    "runs/log-parameter": {"run_id": st.just(RUN), "key": NAME, "value": TEXT},
    "runs/set-tag": {"run_id": st.just(RUN), "key": NAME, "value": TEXT},
    "runs/delete-tag": {"run_id": st.just(RUN), "key": NAME},
    "runs/update": {"run_id": st.just(RUN), "status": STATUS, "end_time": TIMESTAMP,
                    "run_name": NAME},
    "runs/create": {"experiment_id": st.just(EXPERIMENT), "start_time": TIMESTAMP,
                    "run_name": NAME, "tags": batch_of(KEY_VALUE, oversized=101)},
    "runs/search": {"experiment_ids": st.lists(st.just(EXPERIMENT), max_size=2),
                    "filter": st.sampled_from(["", "metrics.loss < 1", "params.C = '1'",
                                               "attributes.status = 'RUNNING'"]),
                    "max_results": NUMBER, "order_by": st.lists(TEXT, max_size=2),
                    "page_token": TEXT, "run_view_type": st.sampled_from(
                        ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"])},
    "experiments/create": {"name": NAME, "artifact_location": TEXT,
                           "tags": batch_of(KEY_VALUE, oversized=101)},
    "experiments/search": {"max_results": NUMBER, "filter": TEXT,
                           "order_by": st.lists(TEXT, max_size=2), "page_token": TEXT},
    "experiments/update": {"experiment_id": st.just(EXPERIMENT), "new_name": NAME},
    "experiments/set-experiment-tag": {"experiment_id": st.just(EXPERIMENT), "key": NAME,
                                       "value": TEXT},
    "registered-models/create": {"name": NAME, "description": TEXT,
                                 "tags": batch_of(KEY_VALUE, oversized=101)},
    "registered-models/update": {"name": st.just("topics"), "description": TEXT},
    "registered-models/rename": {"name": st.just("topics"), "new_name": NAME},
    "model-versions/create": {"name": st.just("topics"), "run_id": st.just(RUN),
                              "source": st.one_of(st.just("runs:/run/model"), TEXT),
                              "description": TEXT},
}

GET_QUERIES = {
    "runs/get": ("run_id",),
    "metrics/get-history": ("run_id", "metric_key", "max_results", "page_token"),
    "experiments/get": ("experiment_id",),
    "experiments/get-by-name": ("experiment_name",),
    "registered-models/get": ("name",),
    "registered-models/search": ("filter", "max_results", "order_by", "page_token"),
    "model-versions/search": ("filter", "max_results", "order_by", "page_token"),
    "artifacts/list": ("run_id", "path", "page_token"),
}


def _filled(world, value):
    """`value` with the stand-ins for the world's run and experiment replaced by their ids."""
    if value == RUN:
        return world.run_id
    if value == EXPERIMENT:
        return world.experiment_id
    if isinstance(value, list):
        return [_filled(world, item) for item in value]
    if isinstance(value, dict):
        return {key: _filled(world, item) for key, item in value.items()}
    return value


@pytest.mark.parametrize("route", list(POST_BODIES))
@FUZZ
@given(data=st.data())
def test_a_hostile_body_is_refused_in_mlflows_shape_and_writes_nothing(world, route, data):
    sent = _filled(world, data.draw(body(POST_BODIES[route]), label="body"))
    call_and_check(world, "POST", route, serialised(sent))


@pytest.mark.parametrize("route", [*POST_BODIES, "runs/log-inputs", "logged-models"])
@FUZZ
@given(raw=RAW_BODY, content_type=st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "text/plain", ""]))
def test_a_body_that_is_no_json_object_is_refused_in_mlflows_shape(world, route, raw,
                                                                    content_type):
    call_and_check(world, "POST", route, raw, content_type=content_type)


def _query_text(value) -> str:
    """A query value as a client would encode it, invalid UTF-8 included."""
    text = value if isinstance(value, str) else json.dumps(value, allow_nan=True)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


@pytest.mark.parametrize("route", list(GET_QUERIES))
@FUZZ
@given(data=st.data())
def test_a_hostile_query_is_refused_in_mlflows_shape(world, route, data):
    fields = {name: st.one_of(st.just(RUN), TEXT, NUMBER) for name in GET_QUERIES[route]}
    sent = _filled(world, data.draw(body(fields), label="query"))
    query = "&".join(f"{_query_text(k)}={_query_text(v)}" for k, v in sent.items())
    call_and_check(world, "GET", route, query=query)


@FUZZ
@given(good=st.lists(METRIC.filter(lambda m: len(m) == 4), min_size=1, max_size=20),
       poison=HOSTILE, where=st.integers(min_value=0, max_value=20))
def test_a_batch_with_one_bad_metric_stores_none_of_it(world, good, poison, where):
    metrics = [*good]
    metrics.insert(where, poison)
    with transaction.atomic():
        before = sum(PointBlock.objects.values_list("count", flat=True))
        response = world.send("POST", "runs/log-batch",
                              serialised({"run_id": world.run_id, "metrics": metrics}))
        count("mlflow", "POST runs/log-batch", response.status_code)
        assert_answered_well(response)
        after = sum(PointBlock.objects.values_list("count", flat=True))
        if response.status_code == 200:
            assert 0 <= after - before <= len(metrics)
        else:
            assert after == before
        transaction.set_rollback(True)


def test_the_fuzz_targets_answer_a_valid_call(world):
    """The world the properties start from is served: their 4xx are about the bodies."""
    for route, fields in (("runs/log-batch", {"metrics": [{"key": "acc", "value": 1,
                                                           "timestamp": 1, "step": 0}]}),
                          ("runs/set-tag", {"key": "stage", "value": "dev"})):
        response = call_and_check(world, "POST", route,
                                  serialised({"run_id": world.run_id, **fields}))
        assert response.status_code == 200, response.content
