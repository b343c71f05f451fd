"""MLflow's limits, error codes and statuses; roles; Bearer and Basic authentication."""

import mlflow
import pytest
import requests
from django.contrib.auth import get_user_model
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from api.auth import _uses_noted
from api.mlflow import authorization
from tracker.models import ApiToken, Run

API = "/api/2.0/mlflow"


def call(live_server, method, route, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{live_server.url}{route}", headers=headers, timeout=30,
                            **kwargs)


@pytest.fixture
def run_id(alice):
    return alice.create_run(alice.create_experiment("limits")).info.run_id


def metrics(n, key="loss"):
    return [{"key": key, "value": 0.5, "timestamp": 1_700_000_000_000 + i, "step": i}
            for i in range(n)]


@pytest.mark.parametrize(("body", "words"), [
    ({"metrics": metrics(1001)}, "at most 1000 metrics"),
    ({"params": [{"key": f"p{i}", "value": "1"} for i in range(101)]}, "at most 100 params"),
    ({"tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]}, "at most 100 tags"),
    ({"metrics": metrics(950), "params": [{"key": f"p{i}", "value": "1"} for i in range(51)]},
     "at most 1000 metrics, params, and tags"),
])
def test_batches_over_mlflows_limits_are_refused(live_server, alice, run_id, body, words):
    response = call(live_server, "POST", f"{API}/runs/log-batch", alice.token,
                    json={"run_id": run_id, **body})
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert words in response.json()["message"]
    assert "split up" in response.json()["message"]
    assert alice.get_run(run_id).data.metrics == {}


def test_a_batch_at_the_limits_is_stored(live_server, alice, run_id):
    response = call(live_server, "POST", f"{API}/runs/log-batch", alice.token,
                    json={"run_id": run_id, "metrics": metrics(1000)})
    assert response.status_code == 200 and response.json() == {}
    assert len(alice.get_metric_history(run_id, "loss")) == 1000
    alice.log_batch(run_id, params=[Param(f"p{i}", "1") for i in range(100)],
                    tags=[RunTag(f"t{i}", "1") for i in range(100)])
    # the client splits larger calls by itself
    alice.log_batch(run_id, metrics=[Metric("acc", 0.5, 1_700_000_000_000 + i, i)
                                     for i in range(2500)])
    assert len(alice.get_metric_history(run_id, "acc")) == 2500


@pytest.mark.parametrize(("body", "message"), [
    ({"metrics": [{"key": "loss", "value": 1}]}, "metrics[0].timestamp"),
    ({"metrics": [{"key": "loss", "timestamp": 1}]}, "metrics[0].value"),
    ({"metrics": [{"key": "../x", "value": 1, "timestamp": 1}]}, "../x"),
    ({"metrics": [{"key": "loss", "value": "high", "timestamp": 1}]}, "value"),
    # int64s arrive as strings (protobuf's JSON): a string that is no integer is named
    ({"metrics": [{"key": "loss", "value": 1, "timestamp": "1", "step": "2.5"}]},
     "metrics[0].step must be an integer, not '2.5'"),
    ({"metrics": metrics(3)[:2] + [{"key": "loss", "value": 1, "timestamp": "soon"}]},
     "metrics[2].timestamp must be an integer, not 'soon'"),
    ({"metrics": [{"key": "loss", "value": 1, "timestamp": "1", "step": str(2**63)}]},
     "metrics[0].step 9223372036854775808 does not fit in 64 bits"),
    ({"params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}, "Duplicate"),
    ({"params": [{"value": "1"}]}, "params[0].key"),
])
def test_invalid_batches_name_what_is_wrong(live_server, alice, run_id, body, message):
    response = call(live_server, "POST", f"{API}/runs/log-batch", alice.token,
                    json={"run_id": run_id, **body})
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in response.json()["message"]


def test_no_credentials_is_unauthenticated(live_server):
    response = call(live_server, "GET", f"{API}/experiments/get", params={"experiment_id": "0"})
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"
    bad = call(live_server, "GET", f"{API}/experiments/get", "tl_not-a-token",
               params={"experiment_id": "0"})
    assert bad.status_code == 401 and bad.json()["error_code"] == "UNAUTHENTICATED"


def test_basic_auth_with_the_token_as_password_works(make_token, tracking):
    token = make_token("basil")
    client = tracking(username="basil", password=token)
    experiment_id = client.create_experiment("basic")
    assert client.get_experiment(experiment_id).name == "basic"
    wrong = tracking(username="basil", password="wrong")
    with pytest.raises(MlflowException) as caught:
        wrong.get_experiment(experiment_id)
    assert caught.value.error_code == "UNAUTHENTICATED"


def test_a_viewer_reads_but_every_write_is_permission_denied(shared_project, tracking):
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("roles", tags={"targetline.project": "news"})
    run_id = member.create_run(experiment_id).info.run_id
    member.log_metric(run_id, "val_f1", 0.8)

    viewer = tracking(tokens["vera"])
    assert viewer.get_run(run_id).data.metrics == {"val_f1": 0.8}
    assert len(viewer.search_runs([experiment_id])) == 1
    writes = [
        lambda: viewer.log_metric(run_id, "val_f1", 0.9),
        lambda: viewer.log_param(run_id, "lr", "1"),
        lambda: viewer.set_tag(run_id, "stage", "x"),
        lambda: viewer.log_batch(run_id, metrics=[Metric("a", 1.0, 1, 0)]),
        lambda: viewer.set_terminated(run_id),
        lambda: viewer.delete_run(run_id),
        lambda: viewer.create_run(experiment_id),
        lambda: viewer.set_experiment_tag(experiment_id, "k", "v"),
        lambda: viewer.delete_experiment(experiment_id),
        lambda: viewer.create_experiment("viewer-exp", tags={"targetline.project": "news"}),
    ]
    for write in writes:
        with pytest.raises(MlflowException) as caught:
            write()
        assert caught.value.error_code == "PERMISSION_DENIED"
        assert caught.value.get_http_status_code() == 403
    with pytest.raises(MlflowException) as caught:
        mlflow.start_run(experiment_id=experiment_id)
    assert caught.value.error_code == "PERMISSION_DENIED"

    outsider = tracking(tokens["otto"])
    for read in (lambda: outsider.get_run(run_id), lambda: outsider.get_experiment(experiment_id),
                 lambda: outsider.log_metric(run_id, "x", 1.0)):
        with pytest.raises(MlflowException) as caught:
            read()
        assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert caught.value.get_http_status_code() == 404
    assert outsider.search_runs([experiment_id]) == []
    assert outsider.get_experiment_by_name("roles") is None


def test_the_viewer_error_has_mlflows_shape_on_the_wire(live_server, shared_project, tracking):
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("wire", tags={"targetline.project": "news"})
    run_id = member.create_run(experiment_id).info.run_id
    response = call(live_server, "POST", f"{API}/runs/log-metric", tokens["vera"],
                    json={"run_id": run_id, "key": "a", "value": 1, "timestamp": 1})
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.json()) == {"error_code", "message"}
    assert response.json()["error_code"] == "PERMISSION_DENIED"


def test_unsupported_endpoints_answer_endpoint_not_found_as_json(live_server, alice):
    for method, route in (("GET", f"{API}/webhooks"),
                          ("POST", f"{API}/traces"),
                          ("GET", "/api/2.0/mlflow-artifacts/nope"),
                          ("GET", f"{API}/runs/log-batch")):
        response = call(live_server, method, route, alice.token)
        assert response.status_code == 404, route
        assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_posts_must_be_json(live_server, alice):
    response = requests.post(f"{live_server.url}{API}/experiments/create", data="name=x",
                             headers={"Authorization": f"Bearer {alice.token}",
                                      "Content-Type": "application/x-www-form-urlencoded"},
                             timeout=10)
    assert response.status_code == 400
    assert response.json()["error_code"] == "BAD_REQUEST"


def test_bad_filters_and_page_tokens_are_invalid_parameter_values(alice):
    experiment_id = alice.create_experiment("bad-search")
    for kwargs in ({"filter_string": "metrics.acc >> 1"},
                   {"filter_string": "params.lr > 1"},
                   {"page_token": "not-a-token"},
                   {"order_by": ["colour DESC"]}):
        with pytest.raises(MlflowException) as caught:
            alice.search_runs([experiment_id], **kwargs)
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE", kwargs


def test_server_info_says_no_multipart(live_server):
    response = call(live_server, "GET", "/api/3.0/mlflow/server-info")
    assert response.status_code == 200
    assert response.json()["multipart_uploads_enabled"] is False


def test_logging_calls_check_the_token_and_the_run_together(live_server, shared_project,
                                                            tracking):
    # The logging calls read the token's user and the run in one query: each refusal must
    # still be the one MLflow gives, and nothing may be stored by a refused call.
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("together", tags={"targetline.project": "news"})
    run_id = member.create_run(experiment_id).info.run_id
    batch = {"run_id": run_id, "metrics": metrics(3)}

    def log(token, body=batch):
        return call(live_server, "POST", f"{API}/runs/log-batch", token, json=body)

    assert log(tokens["mark"]).status_code == 200
    assert log(tokens["vera"]).json()["error_code"] == "PERMISSION_DENIED"  # viewer
    assert log(tokens["otto"]).json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"  # outsider
    assert log(None).status_code == 401
    unknown = log(tokens["mark"], {**batch, "run_id": "0" * 32})
    assert unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    not_a_uuid = log(tokens["mark"], {**batch, "run_id": "nope"})
    assert not_a_uuid.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    ApiToken.objects.filter(user__username="mark").update(revoked_at="2026-01-01T00:00:00Z")
    revoked = log(tokens["mark"], {**batch, "metrics": metrics(3, key="other")})
    assert revoked.status_code == 401 and revoked.json()["error_code"] == "UNAUTHENTICATED"
    # every call reads the run or experiment it names with the token: a revoked token is
    # refused there too, before anything is read or written
    for method, route, fields in (("GET", "runs/get", {"params": {"run_id": run_id}}),
                                  ("POST", "runs/create",
                                   {"json": {"experiment_id": experiment_id}}),
                                  ("GET", "experiments/get",
                                   {"params": {"experiment_id": experiment_id}})):
        refused = call(live_server, method, f"{API}/{route}", tokens["mark"], **fields)
        assert refused.status_code == 401, route
    assert Run.objects.filter(experiment_id=experiment_id).count() == 1
    run = Run.objects.get(pk=run_id)
    assert [(s.key, s.count) for s in run.summaries.all()] == [("loss", 3)]


def test_every_logging_call_is_checked_by_the_runs_lock(live_server, shared_project,
                                                        tracking, monkeypatch):
    # A training loop's calls skip the query for the token and run: the lock of the batch's
    # transaction checks that the token's user may write. Only a refused call reads them, to
    # tell MLflow's error; a refused call writes nothing, not even the run's heartbeat.
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("locked", tags={"targetline.project": "news"})
    run_id = member.create_run(experiment_id).info.run_id
    queried = []
    usual = authorization.authenticate
    monkeypatch.setattr(authorization, "authenticate",
                        lambda request, **kw: queried.append(request.path) or usual(request, **kw))

    def log(token, route="runs/log-batch", **body):
        return call(live_server, "POST", f"{API}/{route}", token, json={"run_id": run_id, **body})

    ApiToken.objects.update(last_used_at=None)
    _uses_noted.clear()
    assert log(tokens["mark"], metrics=metrics(3)).json() == {}
    assert log(tokens["mark"], "runs/log-metric", key="lr", value=0.1, timestamp=1, step=0
               ).json() == {}
    assert log(tokens["mark"], "runs/log-parameter", key="seed", value="7").json() == {}
    assert log(tokens["mark"], "runs/set-tag", key="stage", value="dev").json() == {}
    # a rename too, done with its batch
    assert log(tokens["mark"], tags=[{"key": "mlflow.runName", "value": "renamed"}],
               metrics=metrics(3, key="y")).json() == {}
    assert queried == []
    assert ApiToken.objects.get(user__username="mark").last_used_at is not None
    assert member.get_run(run_id).info.run_name == "renamed"

    heartbeat = Run.objects.get(pk=run_id).last_heartbeat
    assert log(tokens["vera"], metrics=metrics(3, key="x")).json()["error_code"] == \
        "PERMISSION_DENIED"
    assert log(tokens["otto"], metrics=metrics(3, key="x")).json()["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"
    assert Run.objects.get(pk=run_id).last_heartbeat == heartbeat
    assert queried == [f"{API}/runs/log-batch"] * 2

    # a user switched off: the lock refuses their token, and the refusal says why
    get_user_model().objects.filter(username="mark").update(is_active=False)
    refused = log(tokens["mark"], metrics=metrics(3, key="z"))
    assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"
    stored = Run.objects.get(pk=run_id)
    assert sorted((s.key, s.split, s.count) for s in stored.summaries.all()) == [
        ("loss", "train", 3), ("lr", "train", 1), ("y", "train", 3)]
    assert stored.params == {"seed": "7"} and stored.tags["stage"] == "dev"


def test_a_refused_call_is_told_the_token_first_then_the_run_then_the_values(
        live_server, shared_project, tracking):
    # As before the lock checked the token: a body's shape and MLflow's limits are told
    # after the token, the values of its metrics after the run too.
    project, tokens = shared_project
    member = tracking(tokens["mark"])
    experiment_id = member.create_experiment("order", tags={"targetline.project": "news"})
    run_id = member.create_run(experiment_id).info.run_id
    bad_step = [{"key": "loss", "value": 1, "timestamp": 1, "step": "x"}]

    def log(token, route="runs/log-batch", **body):
        answer = call(live_server, "POST", f"{API}/{route}", token, json={"run_id": run_id,
                                                                          **body})
        return answer.status_code, answer.json()["error_code"]

    assert log("tl_nope", metrics=bad_step) == (401, "UNAUTHENTICATED")
    assert log(None, metrics=metrics(1001)) == (401, "UNAUTHENTICATED")
    assert log(tokens["vera"], metrics=bad_step) == (403, "PERMISSION_DENIED")
    assert log(tokens["otto"], metrics=bad_step) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert log(tokens["vera"], metrics=metrics(1001)) == (400, "INVALID_PARAMETER_VALUE")
    assert log(tokens["vera"], "runs/log-metric", key="loss", timestamp=1) == (
        403, "PERMISSION_DENIED")
    assert log(tokens["mark"], metrics=bad_step, run_id="0" * 32) == (
        404, "RESOURCE_DOES_NOT_EXIST")
    assert log(tokens["mark"], metrics=bad_step) == (400, "INVALID_PARAMETER_VALUE")
    member.delete_run(run_id)
    answer = call(live_server, "POST", f"{API}/runs/log-batch", tokens["mark"],
                  json={"run_id": run_id, "metrics": bad_step})
    assert answer.json()["message"].endswith("must be in the 'active' state. Current state "
                                             "is deleted.")
    assert member.get_run(run_id).data.metrics == {}


@pytest.mark.parametrize("metric", [
    {"value": 1, "timestamp": 1},  # no key
    {"key": ["loss"], "value": 1, "timestamp": 1},  # a key that is no name
    {"key": 7, "value": 1, "timestamp": 1},
    "loss",  # not an object
])
def test_malformed_metrics_get_mlflows_error_not_a_500(live_server, alice, run_id, metric):
    for route, body in (("runs/log-batch", {"metrics": [metric]}),
                        ("runs/log-metric", metric if isinstance(metric, dict) else {})):
        response = call(live_server, "POST", f"{API}/{route}", alice.token,
                        json={"run_id": run_id, **body})
        assert response.status_code == 400, (route, response.text)
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert alice.get_run(run_id).data.metrics == {}


def test_integral_steps_written_as_floats_are_read_as_mlflow_reads_them(live_server, alice,
                                                                         run_id):
    # MLflow's server (protobuf's JSON reading) takes "3.0" and "1e3" for an int64
    response = call(live_server, "POST", f"{API}/runs/log-batch", alice.token, json={
        "run_id": run_id, "metrics": [
            {"key": "loss", "value": 0.5, "timestamp": "1.7e12", "step": "3.0"},
            {"key": "loss", "value": 0.4, "timestamp": 1_700_000_000_001, "step": "1e3"}]})
    assert response.json() == {}
    history = alice.get_metric_history(run_id, "loss")
    assert [(m.step, m.timestamp) for m in history] == [(3, 1_700_000_000_000),
                                                         (1000, 1_700_000_000_001)]
