"""Artifacts: files stored for a run through Django's storage, with their size and SHA-256."""

import hashlib

from django.core.files.base import File
from django.db import transaction

from tracker import limits
from tracker.errors import InvalidInput, LimitExceeded
from tracker.models import Artifact, Run
from tracker.services.runs import check_not_deleted


def store_artifact(*, run: Run, path: str, fileobj,
                   content_type: str = "") -> tuple[Artifact, bool]:
    """Store a file for a run through Django's storage, with its size and SHA-256.

    Uploading to a path that exists replaces the file (the last upload wins).
    Returns (artifact, replaced).
    """
    check_not_deleted(run)
    path = _clean_artifact_path(path)
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(fileobj):
        digest.update(chunk)
        size += len(chunk)
    if size > limits.MAX_ARTIFACT_BYTES:
        raise LimitExceeded(f"artifact is {size} bytes; the limit is "
                            f"{limits.MAX_ARTIFACT_BYTES}", field="file")
    fileobj.seek(0)
    with transaction.atomic():
        old = Artifact.objects.select_for_update().filter(run=run, path=path).first()
        if old is not None:
            old.file.delete(save=False)
            old.delete()
        artifact = Artifact(run=run, path=path, size=size, sha256=digest.hexdigest(),
                            content_type=content_type or "")
        artifact.file.save(path, File(fileobj), save=False)
        artifact.save()
    return artifact, old is not None


def _chunks(fileobj, size: int = 1024 * 1024):
    if hasattr(fileobj, "chunks"):
        yield from fileobj.chunks()
        return
    while chunk := fileobj.read(size):
        yield chunk


def _clean_artifact_path(path: object) -> str:
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("artifact path must be a non-empty string", field="path")
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts) or len(path) > 500:
        raise InvalidInput(f"artifact path {path!r} must be a relative path without '..'",
                           field="path")
    return "/".join(parts)
