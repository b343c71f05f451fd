"""The logging calls' bodies, read once (api/mlflow/batch.py).

One typed reading takes every body MLflow's clients send (int64 as numbers or strings,
"NaN" and "Infinity" as strings or bare, a missing step) to the values the domain's own
checks (services.clean_points) give them, and tells MLflow's error, in MLflow's order, for
every other one.
"""

import json
import math

import pytest
from django.test import RequestFactory

from api.mlflow import batch
from api.mlflow.errors import MlflowError
from api.mlflow.fields import DOCS
from tracker.errors import TargetlineError
from tracker.services import metrics as metric_services

RUN = "0" * 32


def metric(**fields):
    return {"key": "loss", "value": 0.5, "timestamp": "1700000000000", "step": "3", **fields}


def post(body, content_type="application/json"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RequestFactory().post("/api/2.0/mlflow/runs/log-batch", raw,
                                 content_type=content_type)


def log_batch(body) -> batch.LogBatch:
    return batch.log_batch_call(batch.read_log_batch(post(body)))


def same(a, b) -> bool:
    """Equal, of the same types, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


TAKEN = [
    # as MLflow's clients send them: int64 as numbers, or as strings (protobuf's JSON)
    {"run_id": RUN, "metrics": [metric(), metric(key="val_f1", step="3")]},
    {"run_id": RUN, "metrics": [metric(step=s) for s in ("4", "5.0", "1e3", 7, 8.0, -2, " 5",
                                                         "5_000", None)]},
    {"run_id": RUN, "metrics": [metric(value=v) for v in
                                ("NaN", "nan", "Infinity", "-Infinity", "inf", "Inf", "1e5",
                                 "1.5", 2, -0.0, 1e308, " 1.5", "+infinity")]},
    {"run_id": RUN, "metrics": [metric(timestamp=t) for t in ("1", 2, "3.0", 4.0,
                                                              -(2**63), 2**63 - 1)]},
    {"run_id": RUN, "metrics": [{"key": "loss", "value": 1, "timestamp": 5}]},  # no step
    {"run_id": RUN, "metrics": [metric(extra=[1, 2], dataset_digest="abc")]},  # ignored
    {"run_id": RUN, "metrics": [{"key": "a", "value": 0.5, "timestamp": 1, "step": 2}] * 3},
]


@pytest.mark.parametrize("body", TAKEN)
def test_a_batch_is_read_to_the_values_the_domain_gives_it(body):
    call = log_batch(body)
    assert same(call.points, metric_services.clean_points(body["metrics"], by_name=True,
                                                          timestamp_required=True))
    assert (call.params, call.tags, call.new_name, call.model_metrics, call.datasets) == (
        {}, {}, None, [], {})


def test_params_and_tags_are_read_as_mlflow_reads_them():
    call = log_batch({"run_id": RUN,
                      "params": [{"key": "lr", "value": "0.1"}, {"key": "none"},
                                 {"key": "n", "value": 0.1}, {"key": "b", "value": True}],
                      "tags": [{"key": "stage", "value": "dev"}, {"key": "empty", "value": None},
                               {"key": "mlflow.runName", "value": "renamed"}]})
    assert call.params == {"lr": "0.1", "none": "", "n": "0.1", "b": "True"}
    assert (call.tags, call.new_name) == ({"stage": "dev", "empty": ""}, "renamed")


def test_bare_nan_and_double_encoded_bodies_are_read_alike():
    for raw in (b'{"run_id": "x", "metrics": [{"key": "a", "value": NaN, "timestamp": 1}]}',
                json.dumps(json.dumps({"run_id": "x", "metrics": [
                    {"key": "a", "value": "NaN", "timestamp": 1}]})).encode()):
        ((steps, timestamps, values),) = log_batch(raw).points.values()
        assert (steps, timestamps) == ([0], [1]) and math.isnan(values[0])


def test_metrics_of_a_logged_model_and_of_datasets_are_kept_with_their_link():
    call = log_batch({"run_id": RUN, "metrics": [
        metric(model_id="m-1", step="1e3", value="NaN"),
        metric(key="acc", dataset_name="eval", dataset_digest="d"),
        metric(key="acc", dataset_name="other", step=4)]})
    assert call.datasets == {"acc": ("eval", "d")}  # the first dataset a key is logged with
    (model_metric,) = call.model_metrics
    assert (model_metric["model_id"], model_metric["step"], model_metric["timestamp"]) == (
        "m-1", 1000, 1_700_000_000_000)
    assert math.isnan(model_metric["value"])


def test_the_mlflow_clients_batches_are_taken_without_converting_a_point(monkeypatch):
    # mlflow 3 sends steps and timestamps as JSON integers and values as floats: they are
    # taken as they are (what the domain's checks would make of them), none is converted
    monkeypatch.setattr(batch, "_checked_points", None)
    body = {"run_id": RUN, "metrics": [
        {"key": k, "value": s / 7, "timestamp": 1_700_000_000_000 + s, "step": s}
        for s in range(200) for k in ("train_loss", "val_f1")]}
    assert sorted(log_batch(body).points) == ["train_loss", "val_f1"]
    assert log_batch({"run_id": RUN, "metrics": [{"key": "a", "value": 1.0, "timestamp": 1}]})


REFUSED = [
    # beyond 64 bits, or not integers
    ([metric(step=str(2**63))], "metrics[0].step 9223372036854775808 does not fit in 64 bits"),
    ([metric(step=2**63)], "metrics[0].step 9223372036854775808 does not fit in 64 bits"),
    ([metric(timestamp=-(2**63) - 1)],
     "metrics[0].timestamp -9223372036854775809 does not fit in 64 bits"),
    ([metric(step="5.5")], "metrics[0].step must be an integer, not '5.5'"),
    ([metric(), metric(step=5.5)], "metrics[1].step must be an integer, not 5.5"),
    ([metric(step=True)], "metrics[0].step must be an integer, not True"),
    ([metric(step=[1])], "metrics[0].step must be an integer, not [1]"),
    ([metric(timestamp=True)], "metrics[0].timestamp must be an integer, not True"),
    # values that are no numbers
    ([metric(value="abc")],
     "metrics[0].value must be a number (or NaN, Infinity, -Infinity), not 'abc'"),
    ([metric(value=True)], "metrics[0].value must be a number, not a boolean"),
    ([metric(value={"a": 1})],
     "metrics[0].value must be a number (or NaN, Infinity, -Infinity), not {'a': 1}"),
    # missing fields, metrics that are no objects, keys that are no names
    ([metric(value=None)], "Missing value for required parameter 'metrics[0].value'."),
    ([{"key": "loss", "value": 1, "step": 1}],
     "Missing value for required parameter 'metrics[0].timestamp'."),
    ([{"value": 1, "timestamp": 1}], "Missing value for required parameter 'metrics[0].key'."),
    ([metric(key=7)], "Missing value for required parameter 'metrics[0].name'."),
    ([metric(key="")], "Missing value for required parameter 'metrics[0].name'."),
    ([metric(key=["loss"])], "Missing value for required parameter 'metrics[0].name'."),
    ([metric(), "loss"], "Invalid value for parameter 'metrics[1]': expected an object"),
    ([metric(), None], "Invalid value for parameter 'metrics[1]': expected an object"),
    ([metric(key="bad*")], 'Invalid value "bad*" for parameter \'metrics[0].name\' supplied: '
     "Names may only"),
    ({"key": "loss"}, 'Invalid value {"key":"loss"} for parameter \'metrics\' supplied:  Hint'),
    ("x", 'Invalid value "x" for parameter \'metrics\' supplied:  Hint'),
    # in MLflow's order: the name of a metric first, when all have one; a missing field
    # before any value
    ([metric(key="../x", value=None)], 'Invalid value "../x" for parameter \'metrics[0].name\''),
    ([metric(key="bad*"), metric(key="fine", value=None)], 'Invalid value "bad*"'),
    ([metric(key=7), metric(value=None)],
     "Missing value for required parameter 'metrics[1].value'."),
    ([metric(step="x"), metric(value=None)],
     "Missing value for required parameter 'metrics[1].value'."),
    ([metric(step="x"), metric(key="bad*")],
     'Invalid value "bad*" for parameter \'metrics[1].name'),
]


@pytest.mark.parametrize(("metrics", "message"), REFUSED)
def test_a_wrong_metric_gets_mlflows_error(metrics, message):
    with pytest.raises((MlflowError, TargetlineError)) as caught:
        log_batch({"run_id": RUN, "metrics": metrics})
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(("body", "message"), [
    ({"params": [{"value": "x"}]}, "Missing value for required parameter 'params[0].key'."),
    ({"params": [{"key": 7, "value": "x"}]},
     "Missing value for required parameter 'params[0].key'."),
    ({"params": ["x"]}, "Invalid value for parameter 'params[0]': expected an object"),
    ({"params": "x"}, 'Invalid value "x" for parameter \'params\' supplied:  Hint'),
    ({"params": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]},
     "Duplicate parameter keys have been submitted: ['a']."),
    ({"tags": [{"key": "bad*", "value": "x"}]},
     'Invalid value "bad*" for parameter \'tags[0].key\''),
    ({"metrics": [metric(step="x")], "params": [{"key": "bad*", "value": 1}]},
     'Invalid value "bad*" for parameter \'params[0].key\''),
    ({"metrics": [metric(step=i) for i in range(1001)]},
     "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please "
     "split up metrics across multiple requests and try again."),
    ({"tags": [{"key": f"t{i}", "value": "1"} for i in range(101)]},
     "A batch logging request can contain at most 100 tags."),
    ({"metrics": [metric(step=i) for i in range(950)],
      "params": [{"key": f"p{i}", "value": "1"} for i in range(51)]},
     "A batch logging request can contain at most 1000 metrics, params, and tags."),
])
def test_wrong_params_tags_and_batches_over_the_limits_get_mlflows_error(body, message):
    with pytest.raises(MlflowError) as caught:
        log_batch({"run_id": RUN, **body})
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(("raw", "content_type", "message"), [
    (b"[]", "application/json", "the request body must be a JSON object"),
    (b"{", "application/json", "the request body is not valid JSON: Expecting property name"),
    (b'{"metrics": []} x', "application/json", "the request body is not valid JSON: Extra data"),
    (b'{"metrics": []}', "text/plain", "Bad Request. Content-Type must be 'application/json'."),
])
def test_a_body_that_is_no_json_object_gets_mlflows_error(raw, content_type, message):
    with pytest.raises(MlflowError) as caught:
        batch.read_log_batch(post(raw, content_type))
    assert caught.value.message.startswith(message)


def test_an_empty_body_is_an_empty_batch():
    body = batch.read_log_batch(post(b""))
    assert body.run_id is None and log_batch(b"  ").points == {}


def log_metric(body) -> batch.LogBatch:
    return batch.log_metric_call(batch.read(post(body), batch.LogMetricBody))


def test_log_metric_is_a_batch_of_one():
    call = log_metric({"run_uuid": RUN, "key": "loss", "value": "NaN", "timestamp": "1",
                       "model_id": "m-1"})
    ((steps, timestamps, values),) = call.points.values()
    assert (list(call.points), steps, timestamps, math.isnan(values[0])) == (
        ["loss"], [0], [1], True)
    assert [m["model_id"] for m in call.model_metrics] == ["m-1"]


@pytest.mark.parametrize(("body", "message"), [
    ({"value": 1, "timestamp": 1}, "Missing value for required parameter 'key'." + DOCS),
    ({"key": "", "value": 1, "timestamp": 1},
     "Missing value for required parameter 'key'." + DOCS),
    ({"key": "loss", "timestamp": 1}, "Missing value for required parameter 'value'." + DOCS),
    ({"key": "loss", "value": 1}, "Missing value for required parameter 'timestamp'." + DOCS),
    ({"key": 7, "value": 1, "timestamp": 1}, "Missing value for required parameter 'name'." + DOCS),
    ({"key": "loss", "value": "high", "timestamp": 1},
     "value must be a number (or NaN, Infinity, -Infinity), not 'high'"),
    ({"key": "loss", "value": 1, "timestamp": 1, "step": str(2**63)},
     "step 9223372036854775808 does not fit in 64 bits"),
])
def test_log_metric_names_its_fields_as_mlflow_does(body, message):
    with pytest.raises(MlflowError) as caught:
        log_metric(body)
    assert caught.value.message == message


def test_log_parameter_and_set_tag_are_batches_of_one():
    def read(body):
        return batch.read(post(body), batch.KeyValueBody)

    assert batch.log_param_call(read({"key": "lr", "value": 0.1})).params == {"lr": "0.1"}
    call = batch.set_tag_call(read({"key": "mlflow.runName", "value": "x"}))
    assert (call.tags, call.new_name) == ({}, "x")
    with pytest.raises(MlflowError, match="parameter 'key'"):
        batch.log_param_call(read({"key": 7, "value": "x"}))
