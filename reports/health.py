"""Whether this server can do its work: the database, the broker and the artifact storage,
each probed for real and within a few seconds (GET /readyz, docs/operations.md#probes).

The probes run side by side, each in a thread of its own, so a service that hangs (a
firewall dropping packets, an S3 endpoint that never answers) costs PROBE_TIMEOUT seconds,
not a stuck request. The database probe opens, uses and closes a connection of its thread.
"""

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connections
from kombu import Connection

PROBE_TIMEOUT = 3.0  # seconds each probe may take
# The storage probe's file: written, then deleted, in a folder of its own.
PROBE_FOLDER = ".readyz"


@dataclass(frozen=True)
class Check:
    """One service's state: up or down, and a short sentence saying what was seen."""

    name: str
    up: bool
    detail: str


def readiness() -> list[Check]:
    """The database, the broker and the artifact storage, probed side by side."""
    probes = {"database": check_database, "broker": check_broker,
              "artifact_storage": check_artifact_storage}
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="readyz")
    try:
        futures = {name: pool.submit(probe) for name, probe in probes.items()}
        checks = []
        for name, future in futures.items():
            try:
                checks.append(future.result(timeout=PROBE_TIMEOUT))
            except FutureTimeout:
                checks.append(Check(name, False, f"no answer within {PROBE_TIMEOUT:g} s"))
        return checks
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung probe is left to time out


def _failure(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def check_database() -> Check:
    """A `SELECT 1` on a connection of its own."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return Check("database", True, f"{connection.vendor} answered")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Check("database", False, f"{connection.vendor}: {_failure(exc)}")
    finally:
        connection.close()


def _where(url: str) -> str:
    """A broker URL's scheme and host, without its credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme} at {host}{port}" if host else parts.scheme


def check_broker() -> Check:
    """Redis: a PING. kombu's filesystem transport: its folders are there and writable.
    Any other broker (RabbitMQ): a connection made by kombu, as Celery makes it."""
    url = settings.CELERY_BROKER_URL
    where = _where(url)
    try:
        if url.startswith(("redis://", "rediss://")):
            client = redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT,
                                          socket_timeout=PROBE_TIMEOUT)
            try:
                client.ping()
            finally:
                client.close()
            return Check("broker", True, f"{where} answered PING")
        if url.startswith("filesystem://"):
            folders = [settings.CELERY_BROKER_TRANSPORT_OPTIONS[key]
                       for key in ("data_folder_in", "processed_folder", "control_folder")]
            missing = [folder for folder in folders if not os.access(folder, os.W_OK)]
            if missing:
                return Check("broker", False, f"cannot write to {', '.join(missing)} "
                                              "(manage.py quickstart creates them)")
            return Check("broker", True, "filesystem folders are writable")
        with Connection(url, connect_timeout=PROBE_TIMEOUT,
                        transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS",
                                                  {})) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0,
                                         timeout=PROBE_TIMEOUT)
        return Check("broker", True, f"{where} accepted a connection")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Check("broker", False, f"{where}: {_failure(exc)}")


def check_artifact_storage() -> Check:
    """A tiny file written to the default storage (artifacts and reports), then deleted:
    whatever the backend, this is what an upload needs."""
    storage = storages["default"]
    kind = type(storage).__name__
    try:
        name = storage.save(f"{PROBE_FOLDER}/{uuid.uuid4().hex}.txt", ContentFile(b"ready\n"))
        storage.delete(name)
        return Check("artifact_storage", True, f"{kind}: wrote and deleted a probe file")
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return Check("artifact_storage", False, f"{kind}: {_failure(exc)}")
