"""The real `mlflow` client against a live Targetline server.

Each test gets its own users and tokens; the client reads its tracking URI and
credentials from the environment, so they are set per test with monkeypatch
(and mlflow.set_tracking_uri), and the client's retries are turned off so a
wrong answer fails fast instead of being retried with backoff.
"""

import gc
import socket

import mlflow
import mlflow.tracking.fluent as fluent
import pytest
from django.contrib.auth import get_user_model
from django.core.servers import basehttp
from django.db import connections
from mlflow.utils import request_utils

from tracker.models import Role
from tracker.services import projects as project_services
from tracker.services import tokens as token_services


@pytest.fixture(scope="session", autouse=True)
def _live_server_without_nagle():
    """Django's test server writes headers and body apart; on the kept-alive connections
    the mlflow client uses, Nagle's algorithm then waits ~40 ms per request for an ACK.
    (Production runs gunicorn, which sets TCP_NODELAY itself.)"""
    original = basehttp.WSGIRequestHandler.setup

    def setup(self):
        original(self)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    basehttp.WSGIRequestHandler.setup = setup
    # Each request thread of the test server opens its own connection; kept alive for
    # CONN_MAX_AGE, they would outlive the threads and block dropping the test database.
    settings = connections.settings["default"]
    max_age = settings.get("CONN_MAX_AGE", 0)
    settings["CONN_MAX_AGE"] = 0
    yield
    basehttp.WSGIRequestHandler.setup = original
    settings["CONN_MAX_AGE"] = max_age


@pytest.fixture
def make_token(transactional_db):
    def make(username: str) -> str:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            user = get_user_model().objects.create_user(username=username)
        return token_services.create_token(user=user, name="mlflow test")[1]
    return make


@pytest.fixture
def tracking(live_server, monkeypatch, tmp_path):
    """use(token=None, username=None, password=None): point the client at the live server."""
    def use(token: str | None = None, *, username: str | None = None,
            password: str | None = None) -> mlflow.MlflowClient:
        for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME",
                     "MLFLOW_TRACKING_PASSWORD", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME",
                     "MLFLOW_RUN_ID"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", live_server.url)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
        if token:
            monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
        if username is not None:
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", username)
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password or "")
        mlflow.set_tracking_uri(live_server.url)
        mlflow.set_experiment  # noqa: B018 (the fluent API reads the env on each call)
        return mlflow.MlflowClient(tracking_uri=live_server.url)

    monkeypatch.chdir(tmp_path)  # artifacts and downloads land in the test's folder
    yield use
    while mlflow.active_run() is not None:
        mlflow.end_run()
    fluent._active_experiment_id = None
    # Drop the client's kept-alive connections while the test server is still up, so no
    # server thread is left waiting on one when the server stops.
    request_utils._cached_get_request_session.cache_clear()
    gc.collect()


@pytest.fixture
def alice(make_token, tracking):
    """A client logged in as alice (owner of whatever she creates)."""
    token = make_token("alice")
    client = tracking(token)
    client.token = token
    return client


@pytest.fixture
def shared_project(transactional_db, make_token):
    """Project "news" owned by olivia, with a member and a viewer; their tokens."""
    tokens = {name: make_token(name) for name in ("olivia", "mark", "vera", "otto")}
    owner = get_user_model().objects.get(username="olivia")
    project = project_services.create_project(user=owner, slug="news", name="News")
    project_services.set_member(project=project, username="mark", role=Role.MEMBER)
    project_services.set_member(project=project, username="vera", role=Role.VIEWER)
    return project, tokens
