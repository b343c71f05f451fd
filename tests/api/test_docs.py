"""The OpenAPI schema and interactive docs are served, with no CDN."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_lists_the_api_operations(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/api/v1/projects/", "/api/v1/runs/{run_id}/log-batch",
            "/api/v1/projects/{slug}/winner", "/api/v1/projects/{slug}/models/"} <= set(
                schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_each_operation_is_listed_once(client):
    schema = client.get("/api/v1/schema/",
                        HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = list(schema["paths"])

    # A route and its trailing-slash twin are one route: one of them is listed.
    bare = [path.rstrip("/") for path in paths]
    assert len(bare) == len(set(bare)), paths
    # The catch-all route answers URLs that are no operation: it is not one either.
    assert not [path for path in paths if "{rest}" in path]


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
    from config.urls import server_error

    request = type("R", (), {"path": "/api/v1/projects/"})()
    response = server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
