"""A real Targetline server in a subprocess (gunicorn), and a proxy that breaks requests.

The server runs on its own database: `<DATABASE_URL's name>_sdk_live` on
PostgreSQL, a SQLite file in a temporary folder otherwise. The SDK talks to it
over HTTP like any training script, so the tests see what users see; a
subprocess (unlike pytest-django's in-process live_server) can be stopped and
started again mid-run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks import scratch_databases

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(var_dir: Path) -> dict:
    env = dict(os.environ)
    env.update(TARGETLINE_VAR_DIR=str(var_dir), CELERY_TASK_ALWAYS_EAGER="true",
               DJANGO_SETTINGS_MODULE="config.settings", PYTHONUNBUFFERED="1")
    for name in ("TARGETLINE_URL", "TARGETLINE_TOKEN", "TARGETLINE_DIR"):
        env.pop(name, None)
    url = scratch_databases.scratch_url("sdk_live", env.get("DATABASE_URL", ""))
    if url:
        env["DATABASE_URL"] = scratch_databases.recreate(url)
    else:
        env.pop("DATABASE_URL", None)
    return env


def drop_database(env: dict) -> None:
    if env.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        scratch_databases.drop(env["DATABASE_URL"])


def manage(env: dict, *args: str) -> str:
    out = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


TOKENS_SCRIPT = """
import json, sys
from django.contrib.auth import get_user_model
from tracker.services.tokens import create_token
tokens = {}
for name in sys.argv[1:]:
    user, _ = get_user_model().objects.get_or_create(username=name)
    tokens[name] = create_token(user=user, name="sdk tests")[1]
print(json.dumps(tokens))
"""


def make_tokens(env: dict, *usernames: str) -> dict:
    out = subprocess.run([str(BIN / "python"), "-c",
                          "import django; django.setup()\n" + TOKENS_SCRIPT, *usernames],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"could not create tokens:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Server:
    """gunicorn serving Targetline on 127.0.0.1:port; stop() and start() again at will.
    `workers` processes of 4 threads each (scripts/run.sh runs 2); `args`, more options."""

    def __init__(self, env: dict, log_path: Path, port: int | None = None, *,
                 workers: int = 1, args: tuple = ()):
        self.env = env
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.workers = workers
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi:application", "--bind",
             f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--worker-class",
             "gthread", "--threads", "4", "--graceful-timeout", "5", "--no-control-socket",
             "--log-level", "warning", *self.args],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.url + "/api/v1/", timeout=2).read()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer in {timeout} s:\n"
                           f"{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


class FaultProxy:
    """A TCP proxy in front of the server that breaks a share of the requests.

    Each request gets its own upstream connection. A request meets the fault at
    its position in `pattern` (cycled; None lets it through), or else with
    probability `rate` one of `faults`: "500" (answered 500, never forwarded),
    "reset" (connection reset before forwarding), "lost" (forwarded, stored by
    the server, then the connection is reset so the client never sees the
    answer) or "stall" (forwarded, then the answer is held back until the
    client gives up). `only` limits faults to request paths containing it.
    """

    def __init__(self, upstream_port: int, *, rate: float = 0.3, seed: int = 7,
                 faults: tuple = ("500", "reset", "lost"), only: str | None = None,
                 stall_seconds: float = 5.0, first_n: int | None = None,
                 pattern: tuple | None = None):
        self.upstream_port = upstream_port
        self.rate = rate
        self.faults = faults
        self.only = only
        self.stall_seconds = stall_seconds
        self.first_n = first_n  # fault exactly the first n matching requests, then none
        self.pattern = pattern
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts: dict = {"requests": 0, "matching": 0}
        self.forwarded_answers: list = []  # (fault, path, status, body) of forwarded requests
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.closing = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.closing = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _choose(self, path: str) -> str | None:
        with self.lock:
            self.counts["requests"] += 1
            if self.only and self.only not in path:
                return None
            self.counts["matching"] += 1
            if self.pattern is not None:
                fault = self.pattern[(self.counts["matching"] - 1) % len(self.pattern)]
            elif self.first_n is not None:
                fault = self.faults[0] if self.counts["matching"] <= self.first_n else None
            else:
                fault = self.rng.choice(self.faults) if self.rng.random() < self.rate else None
            if fault:
                self.counts[fault] = self.counts.get(fault, 0) + 1
            return fault

    def _serve(self, client: socket.socket) -> None:
        try:
            head, body = _read_request(client)
            if head is None:
                return
            request_line = head.split(b"\r\n", 1)[0].decode()
            path = request_line.split(" ")[1]
            fault = self._choose(path)
            if fault == "500":
                payload = b'{"error": "injected fault", "field": null}'
                client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: "
                               b"application/json\r\nConnection: close\r\nContent-Length: "
                               + str(len(payload)).encode() + b"\r\n\r\n" + payload)
                return
            if fault == "reset":
                _reset(client)
                return
            answer = _forward(self.upstream_port, head, body)
            if fault in ("lost", "stall"):
                status = int(answer.split(b" ", 2)[1]) if answer else None
                with self.lock:
                    self.forwarded_answers.append(
                        (fault, path, status, answer.split(b"\r\n\r\n", 1)[-1]))
                if fault == "stall":
                    time.sleep(self.stall_seconds)
                _reset(client)
                return
            client.sendall(answer)
        except OSError:
            pass
        finally:
            client.close()


def _read_request(sock: socket.socket) -> tuple:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest


def _forward(port: int, head: bytes, body: bytes) -> bytes:
    lines = [line for line in head.split(b"\r\n")
             if not line.lower().startswith(b"connection:")]
    lines.append(b"Connection: close")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as upstream:
        upstream.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        chunks = []
        while True:
            chunk = upstream.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset rather than a clean end of stream."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
