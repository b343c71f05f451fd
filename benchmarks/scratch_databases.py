"""Scratch PostgreSQL databases beside the configured one, for benchmarks and live-server tests.

Pure psycopg and urllib: callers use these before Django reads its settings (a benchmark
points DATABASE_URL at its own database first). A scratch database is named after
DATABASE_URL's with a suffix, so runs on one server never touch each other's data.
"""

import os
from urllib.parse import urlsplit, urlunsplit


def scratch_url(suffix: str, base_url: str | None = None) -> str | None:
    """DATABASE_URL (or `base_url`) with "_" + suffix on its name; None without PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "") if base_url is None else base_url
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'targetline'}_{suffix}"
    return urlunsplit(parts._replace(path=f"/{name}", scheme="postgresql"))


def _admin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
    return admin, parts.path.lstrip("/")


def recreate(url: str) -> str:
    """Drop (ending its connections) and create the database of `url`; returns `url`."""
    import psycopg

    admin, name = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def ensure(url: str) -> str:
    """Create the database of `url` unless it exists (keeps its data); returns `url`."""
    import psycopg

    admin, name = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return url


def drop(url: str) -> None:
    """Drop the database of `url`, ending its connections."""
    import psycopg

    admin, name = _admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
