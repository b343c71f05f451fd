"""Routes: each URL hands a request to the view of its method's operation, answers with or
without its trailing slash, and refuses a method it does not serve as every other error."""

import pytest
from rest_framework.test import APIClient

from api.base import OperationView
from api.routes import route
from api.urls import urlpatterns

P = "/api/v1/projects/news-topics"


def test_a_url_and_its_twin_answer_alike(api, project):
    with_slash = api.get(f"{P}/")
    without = api.get(P)

    assert with_slash.status_code == without.status_code == 200
    assert with_slash.json() == without.json()
    assert api.get(f"{P}/members").json() == api.get(f"{P}/members/").json()


def test_a_name_at_the_end_of_a_url_leaves_the_trailing_slash_out(api, project):
    api.post(f"{P}/experiments/", {"name": "tfidf-lr"}, format="json")

    with_slash = api.get(f"{P}/experiments/tfidf-lr/")

    assert with_slash.status_code == 200, with_slash.json()
    assert with_slash.json() == api.get(f"{P}/experiments/tfidf-lr").json()
    assert with_slash.json()["name"] == "tfidf-lr"


def test_each_method_reaches_its_own_operation(api, project):
    assert api.get(f"{P}/target").json()["target"]["threshold"] == 0.85
    assert api.put(f"{P}/target", {"metric": "f1", "direction": "maximize",
                                   "threshold": 0.9}, format="json").status_code == 200
    assert api.delete(f"{P}/target").status_code == 204
    assert api.get(f"{P}/target").json() == {"target": None, "warnings": []}


def test_a_method_the_url_does_not_serve_is_a_405_naming_those_it_does(api, project):
    response = api.post(f"{P}/target", {}, format="json")

    assert response.status_code == 405
    assert response.json() == {"error": 'Method "POST" not allowed.', "field": None}
    assert response["Allow"] == "GET, PUT, DELETE, HEAD, OPTIONS"


def test_every_answer_names_all_the_methods_of_its_url(api, project):
    assert api.get("/api/v1/projects/")["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert api.options(f"{P}/runs/")["Allow"] == "GET, POST, HEAD, OPTIONS"


def test_head_is_answered_as_get(api, project):
    response = api.head(f"{P}/")

    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.django_db
def test_an_unknown_url_is_a_json_404_naming_the_docs(api):
    response = api.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"error": "no API route '/api/v1/no-such-thing/'; "
                                        "see /api/v1/docs/", "field": None}


def test_a_token_needs_no_csrf_token_but_a_browser_session_does(project, owner, client_for):
    token = client_for(owner)
    token.handler.enforce_csrf_checks = True
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(owner)
    body = {"experiment": "e", "name": "r"}

    assert token.post(f"{P}/runs/", body, format="json").status_code == 201
    refused = session.post(f"{P}/runs/", body, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]


def test_two_views_may_not_answer_the_same_method():
    class One(OperationView):
        def get(self, request):
            """One."""

    class Other(OperationView):
        def get(self, request):
            """Other."""

    with pytest.raises(Exception, match="two views answer GET"):
        route("x/", One, Other, name="x")


def test_every_route_has_its_twin_but_artifact_paths():
    names = [p.name for p in urlpatterns if p.name]  # all but the catch-all
    single = {name for name in names if names.count(name) == 1}

    assert single == {"artifact-detail"}
