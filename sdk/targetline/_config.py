"""Settings of the client: arguments win, then TARGETLINE_* environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FLUSH_INTERVAL = 1.0  # seconds between batches while the server answers
DEFAULT_REQUEST_TIMEOUT = 20.0  # seconds for one request, connect and read
DEFAULT_FINISH_TIMEOUT = 30.0  # seconds finish() waits for the spool to drain
DEFAULT_BACKOFF_MIN = 0.5
DEFAULT_BACKOFF_MAX = 10.0  # a server back from an outage hears from us within 10 s
DEFAULT_HEARTBEAT_INTERVAL = 60.0


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {raw!r}")
    return value


def resolve_url(url: str | None) -> str:
    url = (url or os.environ.get("TARGETLINE_URL", "")).strip()
    if not url:
        raise ValueError("no server URL: pass url=... or set TARGETLINE_URL, "
                         "e.g. export TARGETLINE_URL=http://127.0.0.1:8000")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the server URL must start with http:// or https://, not {url!r}")
    return url.rstrip("/")


def resolve_token(token: str | None) -> str:
    token = (token or os.environ.get("TARGETLINE_TOKEN", "")).strip()
    if not token:
        raise ValueError("no API token: pass token=... or set TARGETLINE_TOKEN "
                         "(create one on the server with `python manage.py createtoken USER`)")
    return token


def spool_root(directory: str | None = None) -> Path:
    """Where runs are spooled: TARGETLINE_DIR (default ~/.targetline), folder `spool`."""
    base = directory or os.environ.get("TARGETLINE_DIR") or os.path.join("~", ".targetline")
    return Path(base).expanduser() / "spool"


@dataclass
class Settings:
    url: str
    token: str = field(repr=False)
    spool: Path = field(default_factory=spool_root)
    flush_interval: float = DEFAULT_FLUSH_INTERVAL
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    finish_timeout: float = DEFAULT_FINISH_TIMEOUT
    backoff_min: float = DEFAULT_BACKOFF_MIN
    backoff_max: float = DEFAULT_BACKOFF_MAX
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL

    @classmethod
    def load(cls, *, url: str | None = None, token: str | None = None,
             directory: str | None = None, flush_interval: float | None = None,
             request_timeout: float | None = None, finish_timeout: float | None = None,
             backoff_max: float | None = None) -> Settings:
        def pick(value: float | None, env: str, default: float) -> float:
            return float(value) if value is not None else _env_float(env, default)

        return cls(
            url=resolve_url(url),
            token=resolve_token(token),
            spool=spool_root(directory),
            flush_interval=pick(flush_interval, "TARGETLINE_FLUSH_INTERVAL",
                                DEFAULT_FLUSH_INTERVAL),
            request_timeout=pick(request_timeout, "TARGETLINE_REQUEST_TIMEOUT",
                                 DEFAULT_REQUEST_TIMEOUT),
            finish_timeout=pick(finish_timeout, "TARGETLINE_FINISH_TIMEOUT",
                                DEFAULT_FINISH_TIMEOUT),
            backoff_min=_env_float("TARGETLINE_BACKOFF_MIN", DEFAULT_BACKOFF_MIN),
            backoff_max=pick(backoff_max, "TARGETLINE_BACKOFF_MAX", DEFAULT_BACKOFF_MAX),
            heartbeat_interval=_env_float("TARGETLINE_HEARTBEAT_INTERVAL",
                                          DEFAULT_HEARTBEAT_INTERVAL),
        )
