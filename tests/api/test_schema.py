"""The OpenAPI schema lists each operation once, grouped and summarised for a reader, and the
interactive docs are served with no CDN."""

import json
import re

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from api.schema import TAGS
from api.urls import urlpatterns
from config.urls import server_error

pytestmark = pytest.mark.django_db

# Served, but not operations of their own: the schema and docs pages, and PATCH on the
# check-in, which is PUT under another name.
NOT_OPERATIONS = {("/api/v1/schema/", "GET"), ("/api/v1/docs/", "GET"),
                  ("/api/v1/projects/{slug}/checkin", "PATCH")}


def _schema(client) -> dict:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _operations(schema) -> list[tuple[str, str, dict]]:
    return [(path, method.upper(), operation) for path, item in schema["paths"].items()
            for method, operation in item.items()]


def _documented_routes():
    """Each route's documented URL (as the schema writes it) and the views of its methods."""
    for pattern in urlpatterns:
        if getattr(pattern.callback, "documented", False):
            path = "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
            yield path, pattern.callback.operations


def test_the_schema_lists_the_api_operations(client):
    schema = _schema(client)
    assert {"/api/v1/projects/", "/api/v1/runs/{run_id}/log-batch",
            "/api/v1/projects/{slug}/winner", "/api/v1/projects/{slug}/models/"} <= set(
                schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_each_operation_is_listed_once(client):
    schema = _schema(client)
    paths = list(schema["paths"])

    # A route and its trailing-slash twin are one route: one of them is listed.
    bare = [path.rstrip("/") for path in paths]
    assert len(bare) == len(set(bare)), paths
    # The catch-all route answers URLs that are no operation: it is not one either.
    assert not [path for path in paths if "{rest}" in path]
    operation_ids = [operation["operationId"] for _, _, operation in _operations(schema)]
    assert len(operation_ids) == len(set(operation_ids))


def test_the_schema_lists_every_operation_the_routes_serve(client):
    documented = {(path, method) for path, method, _ in _operations(_schema(client))}
    served = {(path, method) for path, operations in _documented_routes()
              for method in operations}

    assert documented == served - NOT_OPERATIONS


def test_the_schema_is_valid_openapi_and_built_without_a_warning(client):
    schema = _schema(client)

    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
    validate_schema(schema)


def test_the_command_line_writes_the_schema_the_server_serves(client, tmp_path):
    call_command("spectacular", "--format", "openapi-json", "--file", tmp_path / "api.json")

    assert json.loads((tmp_path / "api.json").read_text()) == _schema(client)


def test_every_operation_is_grouped_summarised_and_described(client):
    tags = [tag["name"] for tag in TAGS]
    schema = _schema(client)

    assert [tag["name"] for tag in schema["tags"]] == tags
    for path, method, operation in _operations(schema):
        where = f"{method} {path}"
        assert len(operation["tags"]) == 1 and operation["tags"][0] in tags, where
        assert 0 < len(operation["summary"]) <= 50, where
        assert operation["summary"][0].isupper(), where
        assert operation["description"], where
        assert "default" in operation["responses"], where


def test_every_view_describes_its_own_operation():
    """A view's docstring is its operation's description: one it inherited would describe
    another operation, or none."""
    for path, operations in _documented_routes():
        for method, view in operations.items():
            if (path, method) not in NOT_OPERATIONS:
                assert "__doc__" in vars(view.view_class), f"{method} {path}"


def test_the_docs_page_loads_every_asset_from_this_server(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    assert all(a.startswith("/") for a in assets), assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert client.get(asset).status_code == 200, asset


def test_a_crash_in_the_api_still_answers_json(client, settings):
    request = type("R", (), {"path": "/api/v1/projects/"})()
    response = server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
