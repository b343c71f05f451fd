"""POST /runs/{id}/log-batch and GET /runs/{id}/history over HTTP."""

import gzip
import json

import pytest

from tests.factories import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(project, owner):
    return make_run(project, owner, name="lr", finish=None)


def post_batch(api, run, body, **extra):
    return api.post(f"/api/v1/runs/{run.id}/log-batch", body, format="json", **extra)


def history(api, run, key="loss", split="train", **params):
    query = "&".join(f"{k}={v}" for k, v in {"key": key, "split": split, **params}.items())
    return api.get(f"/api/v1/runs/{run.id}/history?{query}")


def points(n, key="loss", split="train", start_ts=1_700_000_000_000):
    return [{"key": key, "split": split, "step": i, "value": 1 / (i + 1),
             "timestamp": start_ts + i} for i in range(n)]


def test_a_replayed_batch_leaves_the_history_unchanged(api, run):
    batch = {"metrics": points(500), "params": {"lr": 0.1}, "tags": {"stage": "dev"}}
    first = post_batch(api, run, batch)
    assert first.status_code == 200
    assert first.json() == {"points_received": 500, "points_stored": 500, "params": 1, "tags": 1}
    before = history(api, run).json()
    again = post_batch(api, run, batch)
    assert again.status_code == 200
    assert again.json()["points_stored"] == 0
    assert history(api, run).json() == before
    assert len(before["points"]) == 500


def test_bare_nan_and_infinity_are_accepted_and_returned_as_strings(api, run):
    body = ('{"metrics": [{"key": "loss", "split": "train", "step": 0, "value": NaN, '
            '"timestamp": 1}, {"key": "loss", "split": "train", "step": 1, "value": Infinity, '
            '"timestamp": 2}, {"key": "loss", "split": "train", "step": 2, '
            '"value": "-Infinity", "timestamp": 3}]}')
    response = api.post(f"/api/v1/runs/{run.id}/log-batch", body,
                        content_type="application/json")
    assert response.status_code == 200, response.json()
    raw = history(api, run).content.decode()
    json.loads(raw, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert [p["value"] for p in json.loads(raw)["points"]] == ["NaN", "Infinity", "-Infinity"]


def test_a_gzip_compressed_batch_is_accepted(api, run):
    body = gzip.compress(json.dumps({"metrics": points(100)}).encode())
    response = api.post(f"/api/v1/runs/{run.id}/log-batch", body,
                        content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200
    assert response.json()["points_stored"] == 100


def test_a_corrupt_gzip_body_is_a_400(api, run):
    response = api.post(f"/api/v1/runs/{run.id}/log-batch", b"not gzip",
                        content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert "gzip" in response.json()["error"]


def test_ten_thousand_points_fit_in_one_batch_and_one_more_is_refused(api, run):
    assert post_batch(api, run, {"metrics": points(10_000)}).json()["points_stored"] == 10_000
    response = post_batch(api, run, {"metrics": points(10_001, key="other")})
    assert response.status_code == 413
    assert response.json() == {
        "error": "10001 metric points in one request; the limit is 10000: split the batch",
        "field": "metrics"}


def test_too_many_params_or_tags_are_refused(api, run):
    many = {f"p{i}": i for i in range(101)}
    assert post_batch(api, run, {"params": many}).status_code == 413
    assert post_batch(api, run, {"tags": many}).json()["field"] == "tags"


def test_changing_a_param_is_a_409_naming_it(api, run):
    post_batch(api, run, {"params": {"C": 1.0, "kernel": "rbf"}})
    assert post_batch(api, run, {"params": {"C": 1.0}}).status_code == 200
    response = post_batch(api, run, {"params": {"kernel": "linear"}})
    assert response.status_code == 409
    assert response.json()["field"] == "params.kernel"
    assert "param 'kernel' is already 'rbf'" in response.json()["error"]


def test_a_bad_point_names_its_position_in_the_batch(api, run):
    batch = points(3)
    batch[2]["split"] = "valid"
    response = post_batch(api, run, {"metrics": batch})
    assert response.status_code == 400
    assert response.json()["field"] == "metrics[2].split"
    assert history(api, run).status_code == 404  # nothing of the bad batch was stored


def test_unknown_fields_in_the_body_are_refused(api, run):
    response = post_batch(api, run, {"metric": points(1)})
    assert response.status_code == 400
    assert response.json()["field"] == "metric"


def test_points_without_timestamp_or_step_get_defaults(api, run):
    response = post_batch(api, run, {"metrics": [{"key": "acc", "split": "validation",
                                                  "value": 0.5}]})
    assert response.status_code == 200
    point = history(api, run, key="acc", split="validation").json()["points"][0]
    assert point["step"] == 0 and point["timestamp"] > 1_700_000_000_000


def test_history_downsampled_keeps_a_spike(api, run):
    metrics = points(5_000)
    metrics[1234]["value"] = 1_000.0
    post_batch(api, run, {"metrics": metrics})
    buckets = history(api, run, buckets=50).json()["buckets"]
    assert len(buckets) == 50
    assert max(b["max"] for b in buckets) == 1_000.0
    assert set(buckets[0]) == {"step_min", "step_max", "min", "max", "last", "count"}


@pytest.mark.parametrize("params, status, field", [
    ({"buckets": 0}, 400, "buckets"),
    ({"buckets": "many"}, 400, "buckets"),
    ({"key": "nope"}, 404, "key"),
    ({"split": "valid"}, 400, "split"),
])
def test_history_errors(api, run, params, status, field):
    post_batch(api, run, {"metrics": points(3)})
    response = history(api, run, **params)
    assert response.status_code == status
    assert response.json()["field"] == field


def test_history_needs_a_key(api, run):
    response = api.get(f"/api/v1/runs/{run.id}/history")
    assert response.status_code == 400
    assert response.json()["field"] == "key"


def test_a_summary_gives_its_value_at_the_best_step_under_at_best_step(api, project, owner):
    # Validation peaks at step 1: train loss there is 0.5, though it went down to 0.25.
    run = make_run(project, owner, name="peaked", series={
        "validation.f1": [0.7, 0.9, 0.8], "train.loss": [1.0, 0.5, 0.25]})
    summaries = api.get(f"/api/v1/runs/{run.id}/metrics").json()["results"]
    loss = next(s for s in summaries if s["key"] == "loss")
    assert (loss["at_best_step"], loss["best_step"], loss["min"]) == (0.5, 1, 0.25)
    assert loss["best"] == loss["at_best_step"]  # the deprecated alias, for one release
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    fields = schema["components"]["schemas"]["MetricSummary"]["properties"]
    assert fields["best"].get("deprecated") is True
    assert "deprecated" not in fields["at_best_step"]
