"""A real `mlflow server` 3.17 on loopback, for the tests that check Targetline against it.

It runs from its own virtualenv (`.mlflow-reference/`, made by `make test`): a full mlflow
brings Flask, SQLAlchemy and pins of its own that must not meet the project's `.venv`. The
server is started once per test session on a free port with a SQLite store and a local
artifact root; tests keep out of each other's way by naming their experiments uniquely.

Use it through the `mlflow_reference` fixture (tests/conftest.py): its value is the
server's base URL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("MLFLOW_REFERENCE_VENV", ROOT / ".mlflow-reference"))
MLFLOW = VENV / "bin" / "mlflow"
START_SECONDS = 180  # a loaded machine (CI beside other work) starts it slowly


class MissingReference(RuntimeError):
    """The reference virtualenv is not there (made by `make test`)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(workdir: Path) -> tuple[subprocess.Popen, str]:
    """Start `mlflow server` in `workdir`; return the process and its URL once it answers."""
    if not MLFLOW.exists():
        raise MissingReference(
            f"no reference mlflow server at {MLFLOW}: run `make test` (or "
            f"`make mlflow-reference`) to install mlflow 3.17 in {VENV}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "mlflow-server.log").open("wb")
    process = subprocess.Popen(
        [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.sqlite'}",
         "--artifacts-destination", str(workdir / "artifacts")],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_TRACKING_URI": ""}, start_new_session=True)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}: "
                               f"{(workdir / 'mlflow-server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"mlflow server did not answer within {START_SECONDS} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
