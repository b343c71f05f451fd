"""A real HTTP server on loopback that receives webhook posts, as a team's endpoint would.

Each path answers from its own script of statuses (e.g. 500 then 200); the last one
repeats. Every request is kept with its headers and its raw body.
"""

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    def json(self) -> dict:
        return json.loads(self.raw)

    def signature_verifies(self, secret: str) -> bool:
        """The check docs/webhooks.md tells a receiver to make."""
        timestamp = self.headers["X-Targetline-Timestamp"]
        expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + self.raw,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["X-Targetline-Signature"])


class Receiver:
    def __init__(self):
        self.received: list[Received] = []
        self.scripts: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 -- http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers), raw))
                    script = receiver.scripts.get(self.path, [200])
                    status = script.pop(0) if len(script) > 1 else script[0]
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver trouble")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, *statuses: int) -> str:
        """Answer posts to `path` with these statuses in turn; the URL to post to."""
        self.scripts[path] = list(statuses)
        return self.base + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
