"""Where run artifacts and report PDFs are kept: Django's default storage, one for all.

A folder (ARTIFACT_ROOT, FileSystemStorage) by default; with ARTIFACT_STORAGE_URL=s3://bucket/
prefix, a bucket of any S3-compatible store through django-storages and boto3, so that web
and worker machines share no folder. Either way the callers see a disk: a store that refuses
or cannot be reached raises OSError (its strerror says why), a missing object
FileNotFoundError, and a file opened for reading is a stream that never holds the whole
object (in memory or on a local disk).
"""

import errno
import io
from contextlib import contextmanager

from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from tracker.errors import NotFound, StorageUnavailable

# Error codes of S3-compatible stores that mean "no room left" (MinIO's full disks, quotas):
# as a full disk's ENOSPC, they answer 507.
_FULL_CODES = {"XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded"}
# What a HEAD request's bare status means here (its answer has no body to say more).
_HEAD_CODES = {
    "403": "403 Forbidden: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "404": "404 Not Found: no such bucket",
    "400": "400 Bad Request: check AWS_DEFAULT_REGION and AWS_ENDPOINT_URL",
    "301": "301 Moved: the bucket is in another region; check AWS_DEFAULT_REGION",
}
_STORE_ERRORS = (BotoCoreError, ClientError, Boto3Error)
_READ_CHUNK = 1024 * 1024
_PART = 8 * 1024 * 1024


class ObjectStoreError(OSError):
    """The object store refused a request or could not be reached."""


def _client_error(exc: BaseException) -> ClientError | None:
    while exc is not None:
        if isinstance(exc, ClientError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _as_os_error(exc: Exception, *, bucket: str, name: str) -> OSError:
    """The store's failure as a disk's: FileNotFoundError for a missing object, ENOSPC for a
    full store, else EIO; the message names the bucket and what the store said."""
    client_error = _client_error(exc)
    if client_error is None:
        return ObjectStoreError(errno.EIO, f"S3 bucket {bucket!r}: {exc}")
    error = client_error.response.get("Error", {})
    status = client_error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(error.get("Code") or status)
    if status == 404 and (code == "NoSuchKey" or (code == "404" and name)):
        return FileNotFoundError(errno.ENOENT, f"no object {name!r} in S3 bucket {bucket!r}")
    if code.isdigit():  # a HEAD request's error
        said = _HEAD_CODES.get(code, f"{code} {error.get('Message', '')}".strip())
    else:
        said = f"{code}: {error['Message']}" if error.get("Message") else code
    number = errno.ENOSPC if code in _FULL_CODES else errno.EIO
    return ObjectStoreError(number, f"S3 bucket {bucket!r}: {said}")



class S3ArtifactStorage(S3Storage):
    """django-storages' S3Storage, for any S3-compatible store, that behaves like a disk.

    Never overwrites: a replaced artifact's new file is stored beside the old one until the
    database says which is current (tracker.services.artifacts). Uploads stream (multipart
    past 8 MB, boto3's upload_fileobj); reads stream the object as it comes.
    """

    def get_default_settings(self) -> dict:
        return {
            **super().get_default_settings(),
            "file_overwrite": False,
            "querystring_auth": False,  # files are served by Targetline, never linked to
            # Checksums only where S3 requires them: stores that copy S3's API (MinIO,
            # Ceph, Garage, ...) do not all take the newer ones boto3 sends by default. A
            # store that cannot be reached is an error within seconds, not minutes.
            "client_config": Config(request_checksum_calculation="when_required",
                                    response_checksum_validation="when_required",
                                    connect_timeout=5, read_timeout=60,
                                    retries={"max_attempts": 3, "mode": "standard"}),
            # Multipart past 8 MB, 4 parts in flight: an upload holds at most ~32 MB in
            # memory, however large the file.
            "transfer_config": TransferConfig(multipart_threshold=_PART, multipart_chunksize=_PART,
                                              max_concurrency=4),
        }

    @contextmanager
    def _as_disk(self, name: str):
        try:
            yield
        except _STORE_ERRORS as exc:
            raise _as_os_error(exc, bucket=self.bucket_name, name=name) from exc

    def _open(self, name, mode="rb"):
        if set(mode) & set("wa+"):
            with self._as_disk(name):
                return super()._open(name, mode)
        key = self._normalize_name(clean_name(name))
        with self._as_disk(name):
            reader = _ObjectReader(self.bucket.Object(key), self._as_disk, name)
        stream = io.BufferedReader(reader, _READ_CHUNK)
        return File(stream if "b" in mode else io.TextIOWrapper(stream, encoding="utf-8"),
                    name=name)

    def _save(self, name, content):
        with self._as_disk(name):
            return super()._save(name, content)

    def delete(self, name):
        with self._as_disk(name):
            return super().delete(name)

    def exists(self, name):
        with self._as_disk(name):
            return super().exists(name)

    def size(self, name):
        with self._as_disk(name):
            return super().size(name)

    def listdir(self, name):
        with self._as_disk(name):
            return super().listdir(name)

    def get_modified_time(self, name):
        with self._as_disk(name):
            return super().get_modified_time(name)

    def check(self) -> None:
        """Raise OSError unless the bucket can be reached with these credentials."""
        with self._as_disk(""):
            self.connection.meta.client.head_bucket(Bucket=self.bucket_name)


class _ObjectReader(io.RawIOBase):
    """An S3 object read as it streams in, seekable by asking again from a byte (Range).

    FileResponse seeks to the end and back to learn the length: that costs no request.
    """

    def __init__(self, obj, as_disk, name: str):
        self._obj, self._as_disk, self._name = obj, as_disk, name
        answer = obj.get()
        self._body, self._size = answer["Body"], answer["ContentLength"]
        self._position = self._body_position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self._size:
            return 0
        with self._as_disk(self._name):
            if self._body_position != self._position:
                self._body.close()
                self._body = self._obj.get(Range=f"bytes={self._position}-")["Body"]
                self._body_position = self._position
            data = self._body.read(len(buffer))
        buffer[:len(data)] = data
        self._position += len(data)
        self._body_position += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_stored(field_file, *, what: str = "file"):
    """A stored file (an artifact's, a report's PDF) opened for reading, as a stream.

    NotFound when it is missing from the storage; StorageUnavailable (503) when the storage
    cannot be read, saying why, so that a download is never a bare server error.
    """
    try:
        return field_file.open("rb")
    except FileNotFoundError:
        raise NotFound(f"the {what} is missing from the artifact storage",
                       field="path") from None
    except OSError as exc:
        raise StorageUnavailable(f"the artifact storage cannot be read "
                                 f"({exc.strerror or exc}): try again later") from exc
