"""HTTP to the server: one persistent connection per thread, standard library only.

Errors are sorted into the two kinds the rest of the client cares about:
`Unreachable` (connection refused or reset, timeouts, 5xx, 429: try again later)
and `ApiError` with a 4xx status (the server read the request and refused it:
sending it again changes nothing).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.parse
import urllib.request
from dataclasses import dataclass

from targetline._version import __version__

USER_AGENT = f"targetline-python/{__version__}"
BLOCK = 1 << 16  # bytes per write when uploading an artifact from its file


class TargetlineError(Exception):
    """Base of the errors the client raises."""


class Unreachable(TargetlineError, ConnectionError):
    """The server could not be reached or could not answer now; trying later may work."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ApiError(TargetlineError):
    """The server answered with an error status; `status`, `message` and `field` say which."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 body: object = None):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.field = field
        self.body = body


class SimilarProject(ApiError):
    """The project a run names does not exist and its slug is a typo's distance from one of
    the user's projects (`similar`, closest first): the server will not create it unasked."""

    def __init__(self, project: str, similar: list, message: str, body: object = None):
        super().__init__(400, message, "project", body)
        self.project = project
        self.similar = similar


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self) -> object:
        return json.loads(self.body.decode("utf-8")) if self.body else {}


def _error_message(response: Response) -> tuple[str, str | None, object]:
    try:
        data = response.json()
    except ValueError:
        text = response.body.decode("utf-8", "replace").strip()
        return (text[:300] or http.client.responses.get(response.status, "error")), None, text
    if isinstance(data, dict):
        message = data.get("error") or data.get("detail") or data.get("message")
        if message is None:
            message = json.dumps(data)[:300]
        return str(message), data.get("field"), data
    return json.dumps(data)[:300], None, data


def _retry_after(headers: dict) -> float | None:
    raw = headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class Transport:
    """Requests to one server over a kept-alive connection. Not thread-safe: one per thread."""

    def __init__(self, url: str, token: str, timeout: float):
        parts = urllib.parse.urlsplit(url)
        self.url = url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._absolute_paths = False  # True behind a plain-HTTP proxy

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __del__(self) -> None:
        self.close()

    def _connect(self) -> http.client.HTTPConnection:
        proxies = urllib.request.getproxies()
        proxy = proxies.get(self.scheme)
        if proxy and urllib.request.proxy_bypass(self.host):
            proxy = None
        self._absolute_paths = False
        if self.scheme == "https":
            context = ssl.create_default_context()
            if proxy:
                p = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
                conn = http.client.HTTPSConnection(p.hostname, p.port or 80, timeout=self.timeout,
                                                   context=context, blocksize=BLOCK)
                conn.set_tunnel(self.host, self.port)
                return conn
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=context, blocksize=BLOCK)
        if proxy:
            p = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
            self._absolute_paths = True
            return http.client.HTTPConnection(p.hostname, p.port or 80, timeout=self.timeout,
                                              blocksize=BLOCK)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout,
                                          blocksize=BLOCK)

    def request(self, method: str, path: str, body: object = None, *,
                headers: dict | None = None, timeout: float | None = None,
                query: dict | None = None) -> Response:
        """Send one request; returns the response for any status, raises Unreachable.

        `body` is bytes, a file object (sent as is) or None. A request that fails
        on a kept-alive connection the server has meanwhile closed is sent again
        once on a new connection, as browsers do: every request of this client
        may be repeated safely.
        """
        target = self.prefix + path
        if query:
            target += "?" + urllib.parse.urlencode({k: v for k, v in query.items()
                                                    if v is not None})
        all_headers = {"Authorization": f"Bearer {self.token}", "User-Agent": USER_AGENT,
                       "Accept": "application/json"}
        all_headers.update(headers or {})
        start = body.tell() if hasattr(body, "seek") else None
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            try:
                conn.timeout = timeout or self.timeout
                if conn.sock is not None:
                    conn.sock.settimeout(conn.timeout)
                url = (f"{self.scheme}://{self.host}:{self.port}{target}"
                       if self._absolute_paths else target)
                conn.request(method, url, body=body, headers=all_headers)
                raw = conn.getresponse()
                data = raw.read()
                response = Response(raw.status, {k.lower(): v for k, v in raw.getheaders()},
                                    data)
                if raw.will_close:
                    self.close()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as exc:
                self.close()
                if reused and attempt == 1:
                    if start is not None:
                        body.seek(start)  # type: ignore[union-attr]
                    continue
                raise Unreachable(f"{self.url}: the connection was closed ({exc})") from None
            except (socket.timeout, TimeoutError):
                self.close()
                raise Unreachable(f"{self.url} did not answer within "
                                  f"{conn.timeout:g} s") from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise Unreachable(f"{self.url} is unreachable ({_describe(exc)})") from None
            if response.status == 429 or response.status >= 500:
                message, _, _ = _error_message(response)
                raise Unreachable(f"{self.url} answered HTTP {response.status}: {message}",
                                  retry_after=_retry_after(response.headers))
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def call(self, method: str, path: str, payload: object = None, **kwargs) -> object:
        """A JSON request: returns the decoded answer, raises ApiError on 4xx."""
        body = None
        headers = dict(kwargs.pop("headers", None) or {})
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        response = self.request(method, path, body, headers=headers, **kwargs)
        check(response)
        return response.json()


def check(response: Response) -> Response:
    if response.status >= 400:
        message, field, body = _error_message(response)
        raise ApiError(response.status, message, field, body)
    return response


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror or exc}"
    return str(exc) or type(exc).__name__
