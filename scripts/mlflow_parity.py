"""Record how a real `mlflow server` refuses hostile and malformed requests.

Sends each case of CASES to a running mlflow server and writes its answer (status,
error_code, message) to tests/mlflow/parity_cases.json, which tests/mlflow/test_parity.py
replays against Targetline. Re-record when MLflow is upgraded (docs/mlflow.md, "Parity with
mlflow server"):

    python3 -m venv /tmp/mlflow-ref && /tmp/mlflow-ref/bin/pip install 'mlflow==3.17.*'
    /tmp/mlflow-ref/bin/mlflow server --backend-store-uri sqlite:////tmp/mlflow-ref/db.sqlite \
        --artifacts-destination /tmp/mlflow-ref/artifacts --host 127.0.0.1 --port 5077
    /tmp/mlflow-ref/bin/python scripts/mlflow_parity.py --url http://127.0.0.1:5077

Requests name the fixtures SETUP creates with placeholders ({run}, {experiment},
{experiment_name}, {model}), filled in with each server's own ids; in the recorded
messages those ids are written back as the placeholders. Needs only `requests`.
"""

import argparse
import json
import re
import sys
import uuid
from pathlib import Path

import requests

OUT = Path(__file__).resolve().parent.parent / "tests" / "mlflow" / "parity_cases.json"
API = "/api/2.0/mlflow/"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
MISSING_RUN = "0123456789abcdef0123456789abcdef"
TS = 1_700_000_000_000

# What each server needs before the cases: (method, path, body, {placeholder: answer field}).
SETUP = [
    ("POST", API + "experiments/create", {"name": "{experiment_name}"},
     {"experiment": "experiment_id"}),
    ("POST", API + "runs/create", {"experiment_id": "{experiment}", "start_time": TS},
     {"run": "run.info.run_id"}),
    ("POST", API + "runs/log-parameter", {"run_id": "{run}", "key": "p", "value": "1"}, {}),
    ("POST", API + "runs/set-tag", {"run_id": "{run}", "key": "t", "value": "x"}, {}),
    ("POST", API + "runs/log-metric",
     {"run_id": "{run}", "key": "loss", "value": 0.5, "timestamp": TS, "step": 1}, {}),
    ("PUT", PROXY + "/{experiment}/{run}/artifacts/model/MLmodel", "flavors: {}\n", {}),
    ("POST", API + "registered-models/create", {"name": "{model}"}, {}),
]


def _post(route: str, body, name: str | None = None) -> dict:
    return {"name": name or f"{route} {json.dumps(body)}", "method": "POST",
            "path": API + route, "body": body}


def _get(route: str, query: dict, name: str | None = None, prefix: str = API) -> dict:
    return {"name": name or f"GET {route} {json.dumps(query)}", "method": "GET",
            "path": prefix + route, "query": query}


def _wrong_types(route: str, base: dict, field: str, values=(31, True, ["x"], {"a": 1})):
    return [_post(route, {**base, field: value}) for value in values]


def _cases() -> list[dict]:
    run = {"run_id": "{run}"}
    metric = {**run, "key": "m", "value": 1.0, "timestamp": TS, "step": 0}
    cases = [
        # runs: wrong types and missing ids
        *_wrong_types("runs/update", {"status": "FINISHED"}, "run_id"),
        _post("runs/update", {"status": "FINISHED"}),
        _post("runs/update", {**run, "status": "BOGUS"}),
        _post("runs/update", {**run, "end_time": "soon"}),
        _post("runs/update", {**run, "run_name": 5}),
        _post("runs/update", {"run_id": MISSING_RUN, "status": "FINISHED"}),
        _get("runs/get", {}),
        _get("runs/get", {"run_id": "31"}),
        _get("runs/get", {"run_id": MISSING_RUN}),
        _get("runs/get", {"run_id": "../../etc"}),
        *_wrong_types("runs/delete", {}, "run_id", (31, None)),
        _post("runs/delete", {"run_id": MISSING_RUN}),
        *_wrong_types("runs/restore", {}, "run_id", (31,)),
        _post("runs/restore", {"run_id": MISSING_RUN}),
        _post("runs/create", {"experiment_id": 12345}),
        _post("runs/create", {"experiment_id": "999999"}),
        _post("runs/create", {"experiment_id": "abc"}),
        _post("runs/create", {"experiment_id": "{experiment}", "start_time": "soon"}),
        _post("runs/create", {"experiment_id": "{experiment}", "run_name": 5}),
        _post("runs/create", {"experiment_id": "{experiment}", "tags": "foo"}),
        _post("runs/create", {"experiment_id": "{experiment}", "user_id": 5}),
        # log-metric
        *_wrong_types("runs/log-metric", metric, "run_id", (31,)),
        *[_post("runs/log-metric", {k: v for k, v in metric.items() if k != field})
          for field in ("run_id", "key", "value", "timestamp")],
        *_wrong_types("runs/log-metric", metric, "key", (5,)),
        *_wrong_types("runs/log-metric", metric, "value", ("abc", ["x"])),
        *_wrong_types("runs/log-metric", metric, "timestamp", ("soon", 1.5)),
        *_wrong_types("runs/log-metric", metric, "step", ("abc",)),
        _post("runs/log-metric", {**metric, "key": "../up"}),
        _post("runs/log-metric", {**metric, "key": "/abs"}),
        _post("runs/log-metric", {**metric, "key": "a" * 251}),
        _post("runs/log-metric", {**metric, "run_id": MISSING_RUN}),
        # log-parameter, set-tag, delete-tag
        *_wrong_types("runs/log-parameter", {**run, "key": "q"}, "value", (5, 1.5, True)),
        *_wrong_types("runs/log-parameter", {**run, "value": "1"}, "key", (5,)),
        _post("runs/log-parameter", {**run, "value": "1"}),
        _post("runs/log-parameter", {**run, "key": "a/../b", "value": "1"}),
        _post("runs/log-parameter", {**run, "key": "p", "value": "2"}),
        *_wrong_types("runs/log-parameter", {"key": "q", "value": "1"}, "run_id", (31,)),
        *_wrong_types("runs/set-tag", {**run, "key": "k"}, "value", (5, 1.5, True, ["x"])),
        *_wrong_types("runs/set-tag", {**run, "value": "v"}, "key", (5,)),
        *_wrong_types("runs/set-tag", {"key": "k", "value": "v"}, "run_id", (31,)),
        _post("runs/set-tag", {**run, "value": "v"}),
        _post("runs/set-tag", {**run, "key": "..", "value": "v"}),
        _post("runs/delete-tag", {**run, "key": "nope"}),
        _post("runs/delete-tag", {**run, "key": 5}),
        _post("runs/delete-tag", {**run}),
        _post("runs/delete-tag", {"run_id": MISSING_RUN, "key": "t"}),
        _post("runs/delete-tag", {"run_id": 31, "key": "t"}),
        # log-batch
        *[_post("runs/log-batch", {**run, field: value})
          for field in ("metrics", "params", "tags") for value in ("foo", 5, {"a": 1})],
        _post("runs/log-batch", {**run, "metrics": [{"key": "a", "timestamp": TS}]}),
        _post("runs/log-batch", {**run, "metrics": [{"value": 1.0, "timestamp": TS}]}),
        _post("runs/log-batch", {**run, "metrics": [{"key": "a", "value": 1.0}]}),
        _post("runs/log-batch", {**run, "metrics": [{"key": "a", "value": "x",
                                                     "timestamp": TS}]}),
        _post("runs/log-batch", {**run, "params": [{"value": "1"}]}),
        _post("runs/log-batch", {**run, "tags": [{"value": "1"}]}),
        _post("runs/log-batch", {**run, "params": [{"key": "z", "value": 5}]}),
        _post("runs/log-batch", {**run, "tags": [{"key": "z", "value": 5}]}),
        _post("runs/log-batch", {**run, "params": [{"key": "../z", "value": "1"}]}),
        _post("runs/log-batch", {**run, "params": [{"key": "d", "value": "1"},
                                                   {"key": "d", "value": "2"}]}),
        _post("runs/log-batch", {**run, "metrics": [
            {"key": "n", "value": 1.0, "timestamp": TS, "step": i} for i in range(1001)]},
            name="runs/log-batch 1001 metrics"),
        _post("runs/log-batch", {**run, "params": [
            {"key": f"p{i}", "value": "1"} for i in range(101)]},
            name="runs/log-batch 101 params"),
        _post("runs/log-batch", {"run_id": 31, "metrics": []}),
        _post("runs/log-batch", {"metrics": []}),
        _post("runs/log-batch", {"run_id": MISSING_RUN, "metrics": []}),
        # search and history
        _post("runs/search", {"experiment_ids": ["{experiment}"], "max_results": 50001}),
        _post("runs/search", {"experiment_ids": ["{experiment}"], "max_results": "many"}),
        _post("runs/search", {"experiment_ids": "{experiment}"}),
        _post("runs/search", {"experiment_ids": ["{experiment}"], "filter": 5}),
        _post("runs/search", {"experiment_ids": ["{experiment}"], "order_by": "x"}),
        _post("runs/search", {"experiment_ids": ["{experiment}"], "order_by": [5]}),
        _get("metrics/get-history", {"run_id": "{run}"}),
        _get("metrics/get-history", {"metric_key": "loss"}),
        _get("metrics/get-history", {"run_id": MISSING_RUN, "metric_key": "loss"}),
        # experiments
        _post("experiments/create", {}),
        *_wrong_types("experiments/create", {}, "name", (5, ["x"])),
        _post("experiments/create", {"name": "parity-x-{experiment}", "artifact_location": 5}),
        _post("experiments/create", {"name": "parity-y-{experiment}", "tags": "foo"}),
        _post("experiments/create", {"name": "{experiment_name}"}),
        _get("experiments/get", {}),
        _get("experiments/get", {"experiment_id": "999999"}),
        _get("experiments/get", {"experiment_id": "abc"}),
        _get("experiments/get-by-name", {}),
        _get("experiments/get-by-name", {"experiment_name": "no-such-experiment-parity"}),
        _post("experiments/delete", {"experiment_id": 5}),
        _post("experiments/delete", {}),
        _post("experiments/delete", {"experiment_id": "999999"}),
        _post("experiments/restore", {"experiment_id": 5}),
        _post("experiments/update", {"experiment_id": "{experiment}"}),
        _post("experiments/update", {"experiment_id": "{experiment}", "new_name": 5}),
        _post("experiments/update", {"experiment_id": 5, "new_name": "x"}),
        _post("experiments/set-experiment-tag", {"experiment_id": "{experiment}", "key": "k",
                                                 "value": 5}),
        _post("experiments/set-experiment-tag", {"experiment_id": "{experiment}",
                                                 "value": "v"}),
        _post("experiments/set-experiment-tag", {"experiment_id": 5, "key": "k",
                                                 "value": "v"}),
        _post("experiments/delete-experiment-tag", {"experiment_id": "{experiment}"}),
        _post("experiments/search", {"max_results": "many"}),
        _post("experiments/search", {"filter": 5}),
        _post("experiments/search", {"view_type": "ACTIVE_ONLY", "max_results": 10}),
        _post("experiments/search", {"view_type": "BOGUS", "max_results": 10}),
        _post("experiments/search", {"view_type": 7, "max_results": 10}),
        # artifacts
        _get("artifacts/list", {"run_id": "{run}", "path": "../path"}),
        _get("artifacts/list", {"run_id": "{run}", "path": "a/../../b"}),
        _get("artifacts/list", {"run_id": "{run}", "path": "/etc"}),
        _get("artifacts/list", {"path": "model"}),
        _get("", {"path": "../x"}, name="GET proxy list ../x", prefix=PROXY),
        _get("", {"path": "{experiment}/{run}/artifacts/../../x"},
             name="GET proxy list run/../../x", prefix=PROXY),
        _get("", {"path": "{experiment}/{run}/artifacts/."},
             name="GET proxy list run/artifacts/.", prefix=PROXY),
        _get("", {"path": "{experiment}/{run}/artifacts/./model"},
             name="GET proxy list run/artifacts/./model", prefix=PROXY),
        _get("/{experiment}/{run}/artifacts/./model/MLmodel", {},
             name="GET proxy file ./model/MLmodel", prefix=PROXY),
        _get("/{experiment}/{run}/artifacts/model/%2e%2e/%2e%2e/x", {},
             name="GET proxy file %2e%2e", prefix=PROXY),
        # the model registry
        _post("registered-models/create", {}),
        _post("registered-models/create", {"name": 5}),
        _post("registered-models/create", {"name": "{model}"}),
        _post("registered-models/create", {"name": "parity-z-{experiment}", "tags": "foo"}),
        _get("registered-models/get", {}),
        _get("registered-models/get", {"name": "no-such-model-parity"}),
        _get("registered-models/search", {"max_results": "1001"}),
        _post("model-versions/create", {"name": "{model}"}),
        _post("model-versions/create", {"source": "runs:/{run}/model"}),
        _post("model-versions/create", {"name": 5, "source": "runs:/{run}/model"}),
        _post("model-versions/create", {"name": "{model}", "source": 5}),
        _post("model-versions/create", {"name": "{model}", "source": "runs:/{run}/model",
                                        "run_id": 31}),
        *[_post("model-versions/create", {"name": "{model}", "source": source,
                                          "run_id": "{run}"}, name=f"model-versions/create "
                                                                   f"source {source}")
          for source in ("mlflow-artifacts://host:9000/models/../../../", "/tmp", "file:///tmp",
                         "/tmp/%00", "runs:/{run}/..%2f..%2fx", "runs:/{run}/../x",
                         "mlflow-artifacts:/{experiment}/{run}/artifacts/../../x",
                         "s3://bucket/../x", "models:/{model}/1/../../x")],
        _get("model-versions/get", {"name": "{model}", "version": "abc"}),
        _get("model-versions/get", {"name": "{model}", "version": "999"}),
        _get("model-versions/get", {"version": "1"}),
    ]
    return cases


# --- Sending -------------------------------------------------------------------------

def fill(value, names: dict):
    """`value` with the placeholders in its strings replaced."""
    if isinstance(value, str):
        for name, text in names.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, list):
        return [fill(item, names) for item in value]
    if isinstance(value, dict):
        return {fill(k, names): fill(v, names) for k, v in value.items()}
    return value


def answer_field(data: dict, dotted: str) -> str:
    for part in dotted.split("."):
        data = data[part]
    return str(data)


def send(session, base: str, case: dict, names: dict) -> requests.Response:
    url = base + fill(case["path"], names)
    if case["method"] == "GET":
        return session.get(url, params=fill(case.get("query", {}), names), timeout=60)
    body = fill(case.get("body"), names)
    if isinstance(body, str):
        return session.request(case["method"], url, data=body.encode(), timeout=60)
    return session.request(case["method"], url, json=body, timeout=60)


def normalise(message: str, names: dict, case: dict) -> str | None:
    """The message with this server's ids written as placeholders; None when it shows
    something of this server only (a file system path)."""
    if "/tmp/" in message or "sqlite" in message.lower() or "Traceback" in message:
        return None
    for name in ("run", "model", "experiment_name"):
        message = message.replace(names[name], "{" + name + "}")
    if "{experiment}" in json.dumps(case):  # where ids are told: id=1, /1/, '1', experiment 1
        number = re.escape(names["experiment"])
        message = re.sub(rf"((?<=id=)|(?<=/)|(?<=')|(?<=\")|(?<=experiment )){number}(?![\w.])",
                         "{experiment}", message)
    return message


def record(base: str) -> list[dict]:
    session = requests.Session()
    nonce = uuid.uuid4().hex[:8]
    names = {"experiment_name": f"parity-{nonce}", "model": f"parity-model-{nonce}"}
    for method, path, body, captures in SETUP:
        response = send(session, base, {"method": method, "path": path, "body": body}, names)
        response.raise_for_status()
        for name, dotted in captures.items():
            names[name] = answer_field(response.json(), dotted)
    recorded = []
    for case in _cases():
        response = send(session, base, case, names)
        try:
            data = response.json()
        except ValueError:
            data = {}
        message = data.get("message")
        recorded.append({**case, "mlflow": {
            "status": response.status_code, "error_code": data.get("error_code"),
            "message": None if message is None else normalise(message, names, case)}})
    return recorded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5077",
                        help="a running mlflow server")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    version = requests.get(args.url + "/version", timeout=10).text.strip()
    cases = record(args.url.rstrip("/"))
    names = [case["name"] for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        print(f"duplicate case names: {sorted(duplicates)}", file=sys.stderr)
        return 1
    args.out.write_text(json.dumps({
        "mlflow_version": version, "setup": [
            {"method": m, "path": p, "body": b, "captures": c} for m, p, b, c in SETUP],
        "cases": cases}, indent=1) + "\n")
    refused = sum(case["mlflow"]["status"] >= 400 for case in cases)
    print(f"mlflow {version}: {len(cases)} cases, {refused} refused -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
