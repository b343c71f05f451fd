"""Every answer of the v1 API has the shape its OpenAPI schema documents, and every body a
client sends fits the documented request: no key the docs leave out, none they promise
missing, each value of its documented type."""

import math
import re

import pytest
from django.test import Client
from django.urls import resolve
from jsonschema import Draft202012Validator

from reports import webhooks
from reports.models import Report
from reports.webhook_sending import send_webhook
from reports.workflow import send_now
from tests.api.operations import (
    BODIES,
    MATRIX,
    P,
    make_served_run,
    prepare_operation,
    request_operation,
    url_of,
)
from tests.factories import make_run
from tracker.services import model_registry as registry_services
from tracker.services import projects as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return response.json()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a null alternative, and an
    object takes no key its properties leave out."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def _validate(schema: dict, documented: dict, value) -> None:
    root = {**_json_schema(documented), "components": _json_schema(schema["components"])}
    Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        value)


ERROR = {"description": "a method the URL does not answer", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _operation(schema: dict, url: str, method: str) -> dict:
    """The documented operation a request to `url` reaches (through a twin URL too)."""
    route = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", resolve(url.split("?")[0]).route)
    if route not in schema["paths"]:
        route = route.rstrip("/") if route.endswith("/") else route + "/"
    return schema["paths"][route].get(method.lower(), {"responses": {"default": ERROR}})


def assert_documented(schema: dict, response) -> None:
    """The answer's status and body are the ones its operation documents."""
    request = response.wsgi_request
    responses = _operation(schema, request.get_full_path(), request.method)["responses"]
    status = str(response.status_code)
    if response.status_code < 400:
        assert status in responses, f"{request.method} {request.path}: {status} undocumented"
    documented = responses.get(status) or responses["default"]
    if "content" not in documented:
        assert response.status_code == 204
        return
    [(media_type, body)] = documented["content"].items()
    assert response["Content-Type"].startswith(media_type)
    if media_type == "application/json":
        _validate(schema, body["schema"], response.json())


def assert_request_documented(schema: dict, url: str, method: str, sent: dict) -> None:
    """What a client sent fits the operation's documented request."""
    content = _operation(schema, url, method)["requestBody"]["content"]
    if sent.get("format") == "json":
        _validate(schema, content["application/json"]["schema"], sent["data"])
    else:
        assert "multipart/form-data" in content or "application/octet-stream" in content


@pytest.mark.parametrize(("operation", "method", "path"),
                         [pytest.param(op, method, path, id=op)
                          for op, method, path, *_ in MATRIX])
def test_every_operation_answers_as_documented(schema, roles, project, owner, make_user,
                                               operation, method, path):
    run = make_served_run(project, owner, make_user)
    prepare_operation(operation, project, run)
    if operation in BODIES:
        assert_request_documented(schema, url_of(path, run), method, BODIES[operation]())

    response = request_operation(roles["owner"], method, path, operation, run)

    assert response.status_code < 300
    assert_documented(schema, response)


@pytest.mark.parametrize(("role", "method", "url"), [
    ("anonymous", "get", f"{P}/"),
    ("outsider", "get", f"{P}/winner"),
    ("viewer", "put", f"{P}/target"),
    ("owner", "put", f"{P}/guardrails"),
    ("owner", "get", f"{P}/runs/?filter=validation.f1%20%3E"),
    ("owner", "delete", f"{P}/winner"),
])
def test_every_error_answers_as_documented(schema, roles, project, role, method, url):
    body = {} if method == "get" else {"data": [{"op": "=="}], "format": "json"}

    response = getattr(roles[role], method)(url, **body)

    assert response.status_code >= 400
    assert_documented(schema, response)


def test_a_slug_taken_for_a_typo_and_created_when_asked(schema, api, project):
    typo = api.post("/api/v1/projects/", {"slug": "news-topic"}, format="json")
    assert typo.status_code == 400 and typo.json()["similar"] == ["news-topics"]
    assert_documented(schema, typo)

    sent = {"format": "json", "data": {"slug": "news-topic", "create": True}}
    assert_request_documented(schema, "/api/v1/projects/", "post", sent)
    assert_documented(schema, api.post("/api/v1/projects/", **sent))
    misspelt = api.post("/api/v1/projects/news-topcs/runs/", {"experiment": "e"}, format="json")
    assert misspelt.status_code == 404 and misspelt.json()["similar"]
    assert_documented(schema, misspelt)


def test_the_winner_the_leaderboard_and_non_finite_values(schema, api, project, owner):
    make_run(project, owner, name="rules", baseline=True,
             series={"validation.f1": 0.6, "test.f1": 0.58, "test.latency_ms": 2})
    best = make_run(project, owner, name="svm", series={
        "validation.f1": 0.88, "test.f1": 0.86, "test.latency_ms": 9,
        "train.loss": [math.nan, math.inf, 0.1]})

    for url in (f"{P}/winner", f"{P}/leaderboard", f"{P}/", f"/api/v1/runs/{best.id}",
                f"/api/v1/runs/{best.id}/metrics", f"{P}/runs/?page_size=1",
                f"{P}/runs/?filter=validation.F1%20%3E%200.5",  # with a warning
                f"/api/v1/runs/{best.id}/history?key=loss",
                f"/api/v1/runs/{best.id}/history?key=loss&buckets=2"):
        response = api.get(url)
        assert response.status_code == 200, url
        assert_documented(schema, response)
    assert api.get(f"{P}/winner").json()["winner"]["name"] == "svm"


def test_a_project_without_a_target(schema, api, owner):
    project_services.create_project(user=owner, slug="no-target")

    for url in ("/api/v1/projects/no-target/", "/api/v1/projects/no-target/target",
                "/api/v1/projects/no-target/winner", "/api/v1/projects/no-target/leaderboard"):
        assert_documented(schema, api.get(url))


def test_registered_models(schema, api, project, owner):
    run = make_run(project, owner, name="lr", series={"validation.f1": 0.8})
    model = registry_services.create_model(user=owner, name="topics", project=project)
    registry_services.create_version(user=owner, model=model, source="models:/m-1", run=run)
    registry_services.set_alias(model=model, alias="champion", version=1)

    assert_documented(schema, api.get(f"{P}/models/"))


def test_check_ins_and_reports(schema, api, project):
    checkin = f"{P}/checkin"
    assert_documented(schema, api.get(checkin))
    assert_request_documented(schema, checkin, "put", {"format": "json", "data": {
        "cadence": "weekly", "weekday": "monday", "local_time": "09:00",
        "time_zone": "Europe/Paris", "recipients": ["cfo@example.com"]}})
    assert_documented(schema, api.put(checkin, {
        "cadence": "weekly", "weekday": "monday", "local_time": "09:00",
        "time_zone": "Europe/Paris", "recipients": ["cfo@example.com"]}, format="json"))
    assert_documented(schema, api.get(checkin))

    assert_documented(schema, api.post(f"{P}/reports/", {}, format="json"))
    report = send_now(project=project, to=["me@example.com"])
    for url in (f"{P}/reports/", f"{P}/reports/{report.pk}", f"{P}/reports/{report.pk}/html",
                f"{P}/reports/{report.pk}/pdf"):
        assert_documented(schema, api.get(url))


def test_webhooks_and_their_delivery_log(schema, api, project, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hooks = f"{P}/webhooks/"
    body = {"url": "http://127.0.0.1:9/in", "kind": "generic", "events": ["report"]}
    assert_request_documented(schema, hooks, "post", {"format": "json", "data": body})
    created = api.post(hooks, body, format="json")
    assert_documented(schema, created)
    hook = f"{hooks}{created.json()['id']}"
    report = send_now(project=project, to=["me@example.com"], queue=False)
    Report.objects.filter(pk=report.pk).update(kind="manual", status="rendered")
    [delivery_id] = webhooks.notify_report(report_id=report.pk)
    send_webhook(delivery_id=delivery_id)  # nothing listens on port 9: an attempt to retry
    for url in (hooks, hook, f"{hook}/deliveries/"):
        assert_documented(schema, api.get(url))
    assert api.get(f"{hook}/deliveries/").json()["results"][0]["attempts"]
    assert_documented(schema, api.patch(hook, {"active": False}, format="json"))
    assert_documented(schema, api.delete(hook))


def test_answers_with_warnings_and_cost_metrics_are_documented(schema, api, project, owner):
    make_run(project, owner, name="r", series={"validation.accuracy": 0.8})
    target = {"metric": "f1", "direction": "maximize", "threshold": 0.9}
    guardrails = [{"metric": "latency_p95_ms", "split": "test", "op": "<=", "value": 80}]

    answers = [
        api.put(f"{P}/target", target, format="json"),
        api.put(f"{P}/guardrails", {"guardrails": guardrails,
                                    "cost_metrics": ["latency_p95_ms"]}, format="json"),
        api.patch(f"{P}/", {"cost_metrics": ["latency_p95_ms", "gpu_hours"]}, format="json"),
        api.get(f"{P}/guardrails"),
        api.get(f"{P}/"),
    ]

    assert [a.json()["warnings"] != [] for a in answers[:4]] == [True] * 4
    for answer in answers:
        assert_documented(schema, answer)
