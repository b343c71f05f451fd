"""Fixtures for the SDK tests: a live server in a subprocess, tokens, a clean spool per test."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import targetline as tl

from tests.sdk.live import ROOT, Server, drop_database, make_tokens, manage, server_env

# Short delays so outages and retries fit in a test; the defaults are seconds.
FAST = {
    "TARGETLINE_FLUSH_INTERVAL": "0.1",
    "TARGETLINE_BACKOFF_MIN": "0.05",
    "TARGETLINE_BACKOFF_MAX": "0.4",
    "TARGETLINE_REQUEST_TIMEOUT": "5",
    "TARGETLINE_FINISH_TIMEOUT": "30",
}


class Live:
    """The server's environment and the users' tokens."""

    def __init__(self, env: dict, tokens: dict, var_dir: Path):
        self.env = env
        self.tokens = tokens
        self.var_dir = var_dir
        self._ports = itertools.count()

    def server(self, name: str = "server") -> Server:
        return Server(self.env, self.var_dir / f"{name}-{next(self._ports)}.log")


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Live:
    var_dir = tmp_path_factory.mktemp("sdk-server")
    env = server_env(var_dir)
    manage(env, "quickstart", "--no-admin")
    tokens = make_tokens(env, "ada", "viv", "admin")
    yield Live(env, tokens, var_dir)
    drop_database(env)


@pytest.fixture(scope="session")
def server(live) -> Server:
    """One server for the tests that do not stop it."""
    srv = live.server()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def own_server(live) -> Server:
    """A server of this test's own, to stop and start again."""
    srv = live.server("own")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def slug(request) -> str:
    """A project slug no other test uses, nor one a typo away: the server would take it
    for a typo of the other (random hex differs in more than two places)."""
    name = request.node.name.replace("test_", "", 1).replace("_", "-")[:40].strip("-")
    return f"{name}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def spool_dir(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def sdk_env(monkeypatch, live, server, spool_dir) -> dict:
    """TARGETLINE_* for a training script of user `ada` talking to the shared server."""
    env = {"TARGETLINE_URL": server.url, "TARGETLINE_TOKEN": live.tokens["ada"],
           "TARGETLINE_DIR": str(spool_dir), **FAST}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def api(live, server) -> tl.Api:
    client = tl.Api(url=server.url, token=live.tokens["ada"], timeout=30)
    yield client
    client.close()


def run_cli(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    """`targetline ARGS` as a user would type it."""
    return subprocess.run([str(Path(sys.executable).parent / "targetline"), *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def series(api: tl.Api, run_id: str, key: str, split: str = "train") -> list:
    """(step, value) of every stored point of one series, in the server's order."""
    return [(p["step"], p["value"]) for p in api.history(run_id, key, split=split)]
