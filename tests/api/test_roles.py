"""Who may do what: every operation of the v1 API for every role.

owner      everything
member     reads; creates and changes runs and experiments, logs, uploads artifacts, deploys
viewer     reads everything in the project, writes nothing (403 naming the role)
outsider   404 for the project and everything in it, runs included: they learn nothing
anonymous  401 with a JSON error and a WWW-Authenticate header
"""

import base64
import uuid
from types import SimpleNamespace

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from api.urls import urlpatterns
from tests.api.operations import (
    MATRIX,
    ROLES,
    P,
    make_served_run,
    prepare_operation,
    request_operation,
    url_of,
)
from tests.conftest import TARGET
from tracker.models import (
    ImpactResult,
    LiveProfile,
    LiveResult,
    PointBlock,
    Project,
    RunProfile,
    Target,
)
from tracker.services import tokens as token_services


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def run(project, owner, make_user):
    return make_served_run(project, owner, make_user)


def _cases():
    for operation, method, path, *statuses in MATRIX:
        for role, expected in zip(ROLES, statuses, strict=True):
            yield pytest.param(operation, method, path, role, expected,
                               id=f"{operation}-{role}")


def test_the_matrix_lists_every_operation_the_api_serves():
    # Report and webhook routes have their own role matrices in tests/reports/test_api.py
    # and tests/reports/test_webhooks.py.
    served = {(p.name, method.lower()) for p in urlpatterns
              if p.name and p.name not in ("api-schema", "api-docs")
              for method, view in p.callback.operations.items()
              if view.view_class.__module__ not in ("api.reports", "api.checkins",
                                                    "api.webhooks")}
    some_id = uuid.uuid4()
    in_table = {(resolve(url_of(path, SimpleNamespace(id=some_id)).split("?")[0]).url_name,
                 method) for _, method, path, *_ in MATRIX}
    assert in_table == served


def _everything(project, run) -> dict:
    """What any write could change, read straight from the database."""
    project.refresh_from_db()
    run.refresh_from_db()
    return {
        "project": (project.name, project.description),
        "target": list(Target.objects.filter(project=project).values()),
        "guardrails": [g.as_dict() for g in project.guardrails.all()],
        "changes": project.target_changes.count(),
        "members": sorted(project.memberships.values_list("user__username", "role")),
        "invitations": sorted(project.invitations.values_list("email", "revoked_at")),
        "experiments": sorted(project.experiments.values_list("name", flat=True)),
        "runs": sorted(str(i) for i in project.runs.values_list("id", flat=True)),
        "run": (run.name, run.notes, run.status, run.ended_at, run.last_heartbeat, run.tags,
                run.params, run.deleted_at),
        "points": list(PointBlock.objects.filter(summary__run=run).order_by("id")
                       .values_list("summary_id", "count")),
        "artifacts": list(run.artifacts.values_list("path", "sha256")),
        "deployments": list(project.deployments.order_by("id").values_list("id", "ended_at")),
        "live results": LiveResult.objects.filter(deployment__project=project).count(),
        "profiles": (RunProfile.objects.filter(run__project=project).count(),
                     LiveProfile.objects.filter(deployment__project=project).count()),
        "business results": sorted(ImpactResult.objects.filter(project=project)
                                   .values_list("id", flat=True)),
        "other projects": Project.objects.exclude(pk=project.pk).count(),
    }


@pytest.mark.parametrize(("operation", "method", "path", "role", "expected"), list(_cases()))
def test_role_matrix(roles, project, run, operation, method, path, role, expected):
    prepare_operation(operation, project, run)
    before = _everything(project, run)

    response = request_operation(roles[role], method, path, operation, run)

    assert response.status_code == expected, getattr(response, "data", response)
    if expected == 401:
        body = response.json()
        assert set(body) >= {"error", "field"}
        assert "Authorization: Bearer" in body["error"]
        assert response["WWW-Authenticate"].startswith("Bearer")
    elif expected == 403:
        body = response.json()
        assert set(body) >= {"error", "field"}
        assert f"your role in this project is {role}" in body["error"]
    elif expected == 404:
        body = response.json()
        assert set(body) >= {"error", "field"}
        assert any(f"no {what}" in body["error"]
                   for what in ("project", "run", "deployment", "experiment",
                                    "business result"))
    if expected >= 400 or method == "get":
        assert _everything(project, run) == before, "a refused request or a read changed data"
    else:
        assert _everything(project, run) != before, "an allowed write changed nothing"


@pytest.mark.parametrize("operation", [op for op, _, path, *_ in MATRIX if "{R}" in path])
def test_an_outsider_cannot_tell_a_run_exists(roles, run, operation):
    """The 404 for somebody else's run reads exactly like the 404 for an id nobody used."""
    method, path = next((m, p) for op, m, p, *_ in MATRIX if op == operation)
    unknown = uuid.uuid4()

    theirs = request_operation(roles["outsider"], method, path, operation, run)
    nobodys = request_operation(roles["outsider"], method, path, operation,
                                SimpleNamespace(id=unknown))

    assert theirs.status_code == nobodys.status_code == 404
    assert (theirs.json()["error"].replace(str(run.id), "<id>")
            == nobodys.json()["error"].replace(str(unknown), "<id>"))
    assert theirs.json()["field"] == nobodys.json()["field"]


def test_an_outsider_cannot_tell_a_project_exists(roles, project):
    theirs = roles["outsider"].get(f"{P}/")
    nobodys = roles["outsider"].get("/api/v1/projects/no-such-project/")

    assert theirs.status_code == nobodys.status_code == 404
    assert (theirs.json()["error"].replace("news-topics", "<slug>")
            == nobodys.json()["error"].replace("no-such-project", "<slug>"))


def test_an_outsider_does_not_see_the_project_in_their_list(roles, project):
    assert roles["outsider"].get("/api/v1/projects/").json()["results"] == []
    slugs = [p["slug"] for p in roles["viewer"].get("/api/v1/projects/").json()["results"]]
    assert slugs == ["news-topics"]


def test_a_viewer_cannot_log_metrics_and_nothing_is_stored(roles, run):
    response = roles["viewer"].post(f"/api/v1/runs/{run.id}/log-batch", {
        "metrics": [{"key": "loss", "split": "train", "step": 5, "value": 0.1,
                     "timestamp": 5000}]}, format="json")

    assert response.status_code == 403
    assert response.json()["error"] == (
        "your role in this project is viewer; only owners and members may do this")
    history = roles["viewer"].get(f"/api/v1/runs/{run.id}/history?key=loss&split=train")
    assert [p["step"] for p in history.json()["points"]] == [0]


def test_a_member_is_told_only_owners_may_change_the_target(roles, project):
    response = roles["member"].put(f"{P}/target", {**TARGET, "threshold": 0.5}, format="json")

    assert response.status_code == 403
    assert response.json()["error"] == (
        "your role in this project is member; only owners may do this")
    assert roles["member"].get(f"{P}/target").json()["target"]["threshold"] == 0.85


# --- Tokens -----------------------------------------------------------------------


def _client(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


def _assert_401(response):
    assert response.status_code == 401
    body = response.json()
    assert set(body) >= {"error", "field"}
    assert response["WWW-Authenticate"] == 'Bearer realm="targetline"'
    return body


def test_a_revoked_token_is_refused(project, owner):
    token, raw = token_services.create_token(user=owner, name="laptop")
    assert _client(f"Bearer {raw}").get(f"{P}/").status_code == 200

    token_services.revoke_token(token=token)

    body = _assert_401(_client(f"Bearer {raw}").get(f"{P}/"))
    assert "revoked" in body["error"]


@pytest.mark.parametrize("header", [
    "Bearer tl_not-a-token-this-server-gave-out",
    "Bearer ",
    "Basic " + base64.b64encode(b"olivia:tl_garbage").decode(),
    "Basic !!!not-base64!!!",
])
def test_a_garbage_token_is_refused(project, header):
    _assert_401(_client(header).get(f"{P}/"))


def test_an_unknown_scheme_counts_as_no_credentials(project):
    body = _assert_401(_client("Token abc").get(f"{P}/"))
    assert "Authorization: Bearer" in body["error"]


def test_basic_auth_with_the_token_as_password_works_like_bearer(project, owner):
    _, raw = token_services.create_token(user=owner, name="mlflow")
    basic = _client("Basic " + base64.b64encode(f"anything:{raw}".encode()).decode())

    got = basic.get(f"{P}/")
    assert got.status_code == 200
    assert got.json()["role"] == "owner"

    created = basic.post(f"{P}/runs/", {"experiment": "mlflow", "name": "via-basic"},
                         format="json")
    assert created.status_code == 201
    assert created.json()["created_by"] == "olivia"


def test_basic_auth_keeps_role_limits(roles, project):
    """Basic is only another way to send the token: a viewer stays a viewer."""
    user = project.memberships.get(role="viewer").user
    _, raw = token_services.create_token(user=user, name="mlflow")
    basic = _client("Basic " + base64.b64encode(f"x:{raw}".encode()).decode())

    assert basic.get(f"{P}/").status_code == 200
    assert basic.post(f"{P}/runs/", {"experiment": "e"}, format="json").status_code == 403


def test_a_deactivated_users_token_is_refused(project, owner):
    _, raw = token_services.create_token(user=owner, name="laptop")
    owner.is_active = False
    owner.save(update_fields=["is_active"])

    _assert_401(_client(f"Bearer {raw}").get(f"{P}/"))
