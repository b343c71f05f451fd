"""Sending one spooled batch to the server: the same code for a live run and `targetline sync`.

Every request here may be repeated without harm, which is what makes retries
and replays safe: a run is created under the id the client chose (a second
create returns the first), metric points carry the client's own timestamps (the
server stores a point once per run, key, split, step and timestamp), params are
write-once (the same value again is accepted), tags are sent in the order they
were set, an artifact upload replaces the file at its path, and finishing twice
keeps the first end. Each request also carries the batch's idempotency key.
"""

from __future__ import annotations

import gzip
import json
import sys
import urllib.parse
from dataclasses import dataclass

from targetline._http import ApiError, SimilarProject, Transport, Unreachable, check
from targetline._spool import Batch, blob_path
from targetline._validation import MAX_POINTS_PER_BATCH

SENT, RETRY, REJECTED, STOP = "sent", "retry", "rejected", "stop"


@dataclass
class Outcome:
    """What became of a batch: SENT; RETRY later; REJECTED (4xx, keep it aside); STOP
    sending this run (the token or role is wrong, or the run is gone)."""

    kind: str
    message: str = ""
    retry_after: float | None = None
    points: int = 0
    status: int | None = None


def count(n: int, word: str, plural: str | None = None) -> str:
    """'1 point', '2,000 points', '3 batches'."""
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def say(message: str) -> None:
    """One line on stderr, where a training script's own output does not drown it."""
    print(f"targetline: {message}", file=sys.stderr, flush=True)


def deliver(transport: Transport, batch: Batch) -> Outcome:
    """Send one batch; never raises for anything the server or the network does."""
    try:
        points = _send(transport, batch)
    except Unreachable as exc:
        return Outcome(RETRY, str(exc), retry_after=exc.retry_after)
    except ApiError as exc:
        if exc.status in (401, 403, 404) or batch.kind == "create":
            return Outcome(STOP, _stop_reason(exc, batch), status=exc.status)
        if exc.status == 409 and "deleted" in exc.message:
            return Outcome(STOP, f"run {batch.header['run_id']} was deleted on the server "
                           f"({exc.message})", status=exc.status)
        return Outcome(REJECTED, f"HTTP {exc.status}: {exc.message}", status=exc.status)
    return Outcome(SENT, points=points)


def _stop_reason(exc: ApiError, batch: Batch) -> str:
    run_id = batch.header.get("run_id")
    if exc.status == 401:
        return (f"the server refused the token ({exc.message}); set TARGETLINE_TOKEN to a "
                "valid token and run `targetline sync`")
    if exc.status == 403:
        return (f"the token's user may not write to run {run_id} ({exc.message}); ask a "
                "project owner to make you a member, then run `targetline sync`")
    if isinstance(exc, SimilarProject):
        meant = exc.similar[0]
        return (f"the server refused to create run {run_id}: {exc.message} The run stays in "
                f"the spool: `targetline sync --move {exc.project}={meant}` sends it to "
                f'"{meant}", `targetline sync --create` creates "{exc.project}" for it')
    if batch.kind == "create":
        return f"the server refused to create run {run_id} (HTTP {exc.status}: {exc.message})"
    return f"run {run_id} does not exist on the server ({exc.message})"


def _headers(batch: Batch, part: int = 0) -> dict:
    key = batch.batch_id if not part else f"{batch.batch_id}-{part}"
    return {"Idempotency-Key": key}


def _send(transport: Transport, batch: Batch) -> int:
    run_id = batch.header["run_id"]
    kind = batch.kind
    if kind == "create":
        create_run(transport, batch.items[0], headers=_headers(batch))
        return 0
    if kind == "points":
        received = 0
        for part, body in enumerate(metrics_bodies(batch)):
            received += _post_gzip(transport, f"/api/v1/runs/{run_id}/log-batch", body,
                                   _headers(batch, part))
        return received
    if kind == "params":
        for part, item in enumerate(batch.items):
            _post_gzip(transport, f"/api/v1/runs/{run_id}/log-batch",
                       {"params": item.get("params") or {}, "tags": item.get("tags") or {}},
                       _headers(batch, part))
        return 0
    if kind == "artifact":
        item = batch.items[0]
        name = urllib.parse.quote(item["name"], safe="/")
        with open(blob_path(batch.path.parent, batch.seq), "rb") as f:
            check(transport.request(
                "PUT", f"/api/v1/runs/{run_id}/artifacts/{name}", f,
                headers={**_headers(batch), "Content-Type": "application/octet-stream",
                         "Content-Length": str(item["size"])}))
        return 0
    if kind == "profile":
        _post_gzip(transport, f"/api/v1/runs/{run_id}/profile", batch.items[0]["profile"],
                   _headers(batch))
        return 0
    if kind == "finish":
        item = batch.items[0]
        transport.call("POST", f"/api/v1/runs/{run_id}/finish",
                       {"status": item["status"], "ended_at": item.get("ended_at")},
                       headers=_headers(batch))
        return 0
    raise ApiError(400, f"unknown batch kind {kind!r} (written by a newer targetline?)")


def _post_gzip(transport: Transport, path: str, body: bytes | dict, headers: dict) -> int:
    """POST a JSON body compressed; returns how many points the server received."""
    if isinstance(body, dict):
        body = json.dumps(body, separators=(",", ":")).encode()
    data = _gzip(body)
    response = check(transport.request("POST", path, data, headers={
        **headers, "Content-Type": "application/json", "Content-Encoding": "gzip"}))
    try:
        return int(response.json().get("points_received", 0))  # type: ignore[union-attr]
    except (ValueError, AttributeError, TypeError):
        return 0


def _gzip(data: bytes) -> bytes:
    # Level 1: several times smaller already; higher levels cost more CPU than they save.
    return gzip.compress(data, compresslevel=1)


def metrics_bodies(batch: Batch) -> list:
    """log-batch request bodies for a points batch, at most 10,000 points each.

    Spooled lines are JSON lists of points as the API takes them, so the usual
    batch (whole lines, at most 10,000 points) becomes one body by joining its
    lines, without decoding a point: cheap for the CPU and for the training loop
    that shares the interpreter with this thread. Anything else is decoded.
    """
    body = batch.body
    if not body:
        return []
    lines = body.count(b"\n")
    if (batch.point_count <= MAX_POINTS_PER_BATCH and body.startswith(b'[{"key":"')
            and body.count(b'}]\n[{"key":"') == lines - 1 and body.endswith(b"}]\n")):
        return [b'{"metrics":' + body[:-1].replace(b"]\n[", b",") + b"}"]
    points, damaged = batch.points()
    if damaged:
        say(f"{batch.path}: left out {damaged} unreadable line(s)")
    return [{"metrics": points[i:i + MAX_POINTS_PER_BATCH]}
            for i in range(0, len(points), MAX_POINTS_PER_BATCH)]


def create_run(transport: Transport, item: dict, headers: dict | None = None) -> dict:
    """Create the run under its client-chosen id; a missing project is created first,
    unless the server takes its slug for a typo of one of the user's projects and the
    item does not say `create` (SimilarProject).

    Returns the server's run. Raises ApiError or Unreachable.
    """
    project = item["project"]
    path = f"/api/v1/projects/{project}/runs/"
    try:
        return transport.call("POST", path, item["body"], headers=headers)  # type: ignore
    except ApiError as exc:
        if exc.status != 404:
            raise
    created = True
    body = {"slug": project, "name": project}
    if item.get("create"):
        body["create"] = True
    try:
        transport.call("POST", "/api/v1/projects/", body)
    except ApiError as exc:
        if exc.status == 404:
            raise ApiError(404, f"{transport.url} has no Targetline API at /api/v1/: check "
                           "TARGETLINE_URL") from None
        similar = exc.body.get("similar") if isinstance(exc.body, dict) else None
        if exc.status == 400 and similar:
            raise SimilarProject(project, similar, _did_you_mean(project, similar),
                                 exc.body) from None
        if exc.status != 409:
            raise
        # It exists: created meanwhile by another run, or by an earlier attempt of ours
        # whose answer was lost. If we still cannot see it, we are not a member.
        created = False
    try:
        run = transport.call("POST", path, item["body"], headers=headers)
    except ApiError as exc:
        if exc.status == 404 and not created:
            raise ApiError(404, f"project {project!r} exists but your user is not a member "
                           "of it; ask one of its owners to add you", "project") from None
        raise
    if created:
        say(f"created project {project!r} on {transport.url}. It has no target yet: agree "
            f"one (metric, direction, threshold) in its settings, "
            f"{transport.url}/p/{project}/settings/, or with targetline.Api().set_target("
            f"{project!r}, {{'metric': 'f1', 'direction': 'maximize', 'threshold': 0.85}})")
    return run  # type: ignore[return-value]


def _did_you_mean(project: str, similar: list) -> str:
    quoted = [f'"{slug}"' for slug in similar[:3]]
    meant = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f'No project "{project}"; did you mean {meant}?'
