"""Artifacts: files stored for a run (or for an MLflow logged model of no run) through
Django's storage, with their size and SHA-256.

The storage is a folder or an S3-compatible bucket (tracker.storage); both fail as a disk
does, with OSError, which is answered 507 (full) or 503 (cannot be written)."""

import errno
import hashlib
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.core.files.base import File
from django.db import transaction

from tracker import limits
from tracker.errors import InvalidInput, LimitExceeded, StorageUnavailable
from tracker.models import Artifact, LoggedModel, Run
from tracker.services.runs import check_not_deleted

# Written whole under ARTIFACT_ROOT/.incoming/, then renamed into place: a file appears at its
# name complete or not at all, whatever happens to the disk or the process mid-upload. (An
# object store does the same by itself: an object exists once its upload completed.)
INCOMING = ".incoming"
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def store_artifact(*, run: Run | None = None, logged_model: LoggedModel | None = None,
                   path: str, fileobj, content_type: str = "") -> tuple[Artifact, bool]:
    """Store a file for a run, or for a logged model of no run, through Django's storage,
    with its size and SHA-256.

    Uploading to a path that exists replaces the file (the last upload wins); the old file is
    removed only once the new one is stored. A storage that is full or cannot be written
    raises StorageUnavailable and leaves nothing behind: no row, no partial file, the old
    file (if any) untouched. Returns (artifact, replaced).
    """
    if (run is None) == (logged_model is None):
        raise ValueError("store_artifact stores a file of a run or of a logged model")
    if run is not None:
        check_not_deleted(run)
    path = _clean_artifact_path(path)
    storage = Artifact._meta.get_field("file").storage
    try:
        with _written(storage, fileobj) as (whole, size, sha256):
            if size > limits.MAX_ARTIFACT_BYTES:
                raise LimitExceeded(f"artifact is {size} bytes; the limit is "
                                    f"{limits.MAX_ARTIFACT_BYTES}", field="file")
            return _replace(owner={"run": run, "logged_model": logged_model}, path=path,
                            whole=whole, size=size, sha256=sha256, content_type=content_type)
    except OSError as exc:
        raise _storage_error(exc) from exc


def _replace(*, owner: dict, path: str, whole: File, size: int, sha256: str,
             content_type: str) -> tuple[Artifact, bool]:
    with transaction.atomic():
        old = Artifact.objects.select_for_update().filter(**owner, path=path).first()
        artifact = Artifact(**owner, path=path, size=size, sha256=sha256,
                            content_type=content_type or "")
        artifact.file.save(path, whole, save=False)  # beside the old one until commit
        try:
            if old is not None:
                old.delete()
            artifact.save()
        except BaseException:
            artifact.file.delete(save=False)
            raise
        if old is not None:
            transaction.on_commit(lambda: old.file.storage.delete(old.file.name),
                                  robust=True)  # a file left over is harmless
    return artifact, old is not None


class _OnDisk(File):
    """A file already written in the storage's folder: FileSystemStorage renames it."""

    def temporary_file_path(self) -> str:
        return self.file.name


@contextmanager
def _written(storage, fileobj):
    """The upload copied whole into the storage (a rename away from its name), hashed on the
    way: yields (file, size, sha256); the copy is removed unless it was moved into place.
    Storages without local paths (an S3 bucket) get the upload itself, hashed first, and
    stream it to the store."""
    try:
        folder = Path(storage.path(INCOMING))
    except NotImplementedError:  # an object store writes the file as one object itself
        yield from _hashed_in_place(fileobj)
        return
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / uuid.uuid4().hex
    digest, size = hashlib.sha256(), 0
    try:
        # 0o666 less the umask, as FileSystemStorage creates files
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as out:
            for chunk in _chunks(fileobj):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        with part.open("rb") as handle:
            yield _OnDisk(handle), size, digest.hexdigest()
    finally:
        part.unlink(missing_ok=True)


def _hashed_in_place(fileobj):
    digest, size = hashlib.sha256(), 0
    for chunk in _chunks(fileobj):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    yield File(fileobj), size, digest.hexdigest()


def _storage_error(exc: OSError) -> StorageUnavailable:
    if exc.errno in _FULL:
        return StorageUnavailable(
            "the artifact storage is full: nothing was stored; upload it again once the "
            "server has free space", field="file", status=507)
    return StorageUnavailable(
        f"the artifact storage cannot be written ({exc.strerror or exc}): nothing was "
        "stored; upload it again later", field="file", status=503)


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
