import os

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests import mlflow_reference as reference_server
from tracker.models import Role
from tracker.services import projects as project_services
from tracker.services import tokens as token_services


def pytest_configure(config):
    # CI must exercise the real services; a silent fallback to SQLite would hide bugs.
    if os.environ.get("CI") == "true" and not os.environ.get("DATABASE_URL", "").startswith(
            ("postgres://", "postgresql://")):
        raise pytest.UsageError("CI=true but DATABASE_URL does not point at PostgreSQL")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.SECRET_KEY  # noqa: B018 -- Django refuses to read an empty one
    except ImproperlyConfigured:  # a fresh clone has no var/secret_key (quickstart writes it)
        settings.SECRET_KEY = "tests-only-secret-key"
    # Failed token checks are counted in the cache (api/throttle.py). The database cache's
    # rows would outlive the tests that empty tables rather than roll back (live servers)
    # and reach the next test's limit: tests count in memory, forgotten after each test
    # (clear_cache), and tests/test_security_tokens.py counts on the database and on Redis.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(autouse=True)
def clear_cache():
    """Each test starts with no failed token check counted."""
    yield
    from django.core.cache import caches

    caches["default"].clear()


@pytest.fixture(scope="session")
def mlflow_reference(tmp_path_factory):
    """The base URL of a real `mlflow server` 3.17 (tests/mlflow_reference.py), one a session.

    Missing reference install: a failure in CI (`make test` installs it), a skip elsewhere.
    """
    try:
        process, url = reference_server.start(tmp_path_factory.mktemp("mlflow-reference"))
    except reference_server.MissingReference as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    yield url
    reference_server.stop(process)


@pytest.fixture
def make_user(db):
    def make(username: str, **extra):
        return get_user_model().objects.create_user(username=username,
                                                    email=f"{username}@example.com", **extra)
    return make


@pytest.fixture
def client_for():
    """An API client authenticated with a fresh Bearer token of the user."""
    def make(user) -> APIClient:
        _, raw = token_services.create_token(user=user, name="test")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.user = user
        return client
    return make


@pytest.fixture
def owner(make_user):
    return make_user("olivia")


@pytest.fixture
def api(owner, client_for):
    return client_for(owner)


TARGET = {"metric": "f1", "direction": "maximize", "threshold": 0.85, "judged_on": "test",
          "selected_on": "validation", "agreed_by": "Dana (Head of Support)",
          "agreed_on": "2026-11-02"}


@pytest.fixture
def project(owner):
    return project_services.create_project(
        user=owner, slug="news-topics", name="News topics", target=dict(TARGET),
        guardrails=[{"metric": "latency_ms", "split": "test", "op": "<=", "value": 50}],
    )


@pytest.fixture
def roles(project, make_user, client_for):
    """Clients for each role in `project`, plus an outsider and an anonymous client."""
    clients = {"owner": client_for(project.memberships.get(role=Role.OWNER).user)}
    for role in (Role.MEMBER, Role.VIEWER):
        user = make_user(f"{role}-user")
        project_services.set_member(project=project, username=user.username, role=role)
        clients[role] = client_for(user)
    clients["outsider"] = client_for(make_user("outsider"))
    clients["anonymous"] = APIClient()
    return clients
