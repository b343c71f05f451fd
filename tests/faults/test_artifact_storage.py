"""The artifact storage full or unwritable during an upload: a clear error, nothing listed.

The disk under MEDIA_ROOT is made to fail at the system calls that write files there
(os.open, os.fdopen, os.mkdir), whichever code makes them: "full" writes part of the file
for real, then fails with ENOSPC, as a disk that fills up mid-upload does; "unwritable" is
a read-only folder or, for root (whom permissions do not stop), refused opens and mkdirs
(EACCES). The database is real.
"""

import errno
import hashlib
import os
from pathlib import Path

import mlflow
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from mlflow.exceptions import MlflowException

from tracker.models import Artifact
from tracker.services import runs as run_services

CONTENT = bytes(range(256)) * 4096  # 1 MiB: the disk fills up half-way through it
FULL = ("the artifact storage is full: nothing was stored; upload it again once the server "
        "has free space")
REAL_OPEN, REAL_FDOPEN, REAL_MKDIR = os.open, os.fdopen, os.mkdir
WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT


class FillingFile:
    """A file on a disk with `room` bytes left: writes up to there, then fails."""

    def __init__(self, real, disk: "FaultyDisk", fd: int):
        self.real, self.disk, self.fd = real, disk, fd

    def write(self, data: bytes) -> int:
        room = self.disk.room - self.disk.written
        if len(data) > room:
            self.real.write(data[:room])
            self.real.flush()
            self.disk.written += room
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.disk.written += len(data)
        return self.real.write(data)

    def close(self) -> None:
        self.disk.writing.discard(self.fd)
        self.real.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class FaultyDisk:
    """The disk under `folder`, full after `room` more bytes, or not writable at all."""

    def __init__(self, folder: Path, *, room: int | None = None, writable: bool = True):
        self.folder = folder.resolve()
        self.room, self.writable, self.written = room, writable, 0
        self.writing: set[int] = set()

    def on_it(self, path) -> bool:
        return Path(os.fsdecode(path)).resolve().is_relative_to(self.folder)

    def refuse(self, path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))

    def open(self, path, flags, mode=0o777, *, dir_fd=None):
        on_it = self.on_it(path) and flags & WRITING
        if on_it and not self.writable:
            self.refuse(path)
        fd = REAL_OPEN(path, flags, mode, dir_fd=dir_fd)
        if on_it:
            self.writing.add(fd)
        return fd

    def mkdir(self, path, mode=0o777, *, dir_fd=None):
        if self.on_it(path) and not self.writable:
            self.refuse(path)
        return REAL_MKDIR(path, mode, dir_fd=dir_fd)

    def fdopen(self, fd, *args, **kwargs):
        real = REAL_FDOPEN(fd, *args, **kwargs)
        if fd in self.writing and self.room is not None:
            return FillingFile(real, self, fd)
        return real

    def install(self, monkeypatch) -> "FaultyDisk":
        for name in ("open", "mkdir", "fdopen"):
            monkeypatch.setattr(os, name, getattr(self, name))
        return self


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def full_disk(monkeypatch, media):
    return FaultyDisk(media, room=len(CONTENT) // 2).install(monkeypatch)


@pytest.fixture
def read_only_disk(monkeypatch, media):
    if os.geteuid() != 0:
        media.chmod(0o555)
        yield
        media.chmod(0o755)
        return
    FaultyDisk(media, writable=False).install(monkeypatch)
    yield


@pytest.fixture
def run(project, owner):
    return run_services.create_run(project=project, user=owner, experiment="e", name="r")[0]


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def upload(api, run, how: str, content: bytes = CONTENT):
    if how == "multipart":
        return api.post(f"/api/v1/runs/{run.id}/artifacts/",
                        {"file": SimpleUploadedFile("model.bin", content),
                         "path": "models/model.bin"}, format="multipart")
    return api.put(f"/api/v1/runs/{run.id}/artifacts/models/model.bin", content,
                   content_type="application/octet-stream")


def listed(api, run) -> list[str]:
    return [a["path"] for a in api.get(f"/api/v1/runs/{run.id}/artifacts/").json()["results"]]


@pytest.mark.parametrize("how", ["multipart", "put"])
def test_v1_upload_to_a_full_storage_answers_507_and_leaves_nothing(api, run, how, media,
                                                                    full_disk):
    response = upload(api, run, how)

    assert response.status_code == 507
    assert response.json() == {"error": FULL, "field": "file"}
    assert full_disk.written == len(CONTENT) // 2  # half the file did reach the disk
    assert listed(api, run) == []
    assert not Artifact.objects.exists()
    assert files_under(media) == []  # and was removed again


def test_replacing_an_artifact_on_a_full_storage_keeps_the_old_one(api, run, media,
                                                                   monkeypatch):
    old = b"the model that works"
    assert upload(api, run, "put", old).status_code == 201
    FaultyDisk(media, room=1000).install(monkeypatch)

    assert upload(api, run, "put").status_code == 507

    assert listed(api, run) == ["models/model.bin"]
    response = api.get(f"/api/v1/runs/{run.id}/artifacts/models/model.bin")
    assert b"".join(response.streaming_content) == old
    assert response["X-Checksum-SHA256"] == hashlib.sha256(old).hexdigest()
    assert files_under(media) == [f"runs/{run.id}/models/model.bin"]


@pytest.mark.parametrize("how", ["multipart", "put"])
def test_v1_upload_to_an_unwritable_storage_answers_503_and_leaves_nothing(
        api, run, how, media, read_only_disk):
    response = upload(api, run, how)

    assert response.status_code == 503
    body = response.json()
    assert body["field"] == "file"
    assert body["error"].startswith("the artifact storage cannot be written (Permission denied)")
    assert body["error"].endswith("nothing was stored; upload it again later")
    assert listed(api, run) == []
    assert files_under(media) == []


def test_the_mlflow_client_is_told_the_storage_is_full_and_lists_nothing(
        alice, tmp_path, media, full_disk):
    model = tmp_path / "model.bin"
    model.write_bytes(CONTENT)
    mlflow.set_experiment("full-disk")
    # the client's artifact repository raises the HTTP error as it is, answer included
    with mlflow.start_run() as active, pytest.raises(requests.HTTPError) as refused:
        mlflow.log_artifact(str(model))
    run_id = active.info.run_id

    assert str(refused.value).startswith("507 Server Error: Insufficient Storage")
    assert FULL in str(refused.value)
    assert alice.list_artifacts(run_id) == []
    assert not Artifact.objects.filter(run_id=run_id).exists()
    assert files_under(media) == []
    # Once there is room again, the same upload is stored whole.
    full_disk.room = None
    mlflow.log_artifact(str(model), run_id=run_id)
    [stored] = Artifact.objects.filter(run_id=run_id)
    assert stored.sha256 == hashlib.sha256(CONTENT).hexdigest()


def test_the_mlflow_artifact_proxy_answers_503_when_the_storage_cannot_be_written(
        alice, tmp_path, media, read_only_disk):
    mlflow.set_experiment("read-only")
    with mlflow.start_run() as active, pytest.raises(MlflowException) as refused:
        mlflow.log_text("hello", "notes/hello.txt")

    # 503: the client retries (with backoff; these tests turn its retries off), then gives up
    assert "too many 503 error responses" in str(refused.value)
    assert alice.list_artifacts(active.info.run_id) == []
    assert files_under(media) == []
