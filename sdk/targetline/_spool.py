"""The disk spool: every run's data is written here first, then sent, then deleted.

Layout under TARGETLINE_DIR (default ~/.targetline)::

    spool/<run id>/run.json             what the run is and where it goes
    spool/<run id>/lock                 held (flock) by the process sending this run
    spool/<run id>/0000000001.jsonl     one file per batch, sent in sequence order
    spool/<run id>/0000000007.jsonl.open  the batch being written (a live run's last one)
    spool/<run id>/0000000009.bin       the bytes of an artifact (beside its .jsonl)
    spool/<run id>/rejected/            batches the server refused, with a .error note

A batch file is JSON lines: a header (format version, kind, run id, sequence
number, idempotency key) and then its content. Kinds: `create` (the run itself,
so a run can start while the server is down), `points` (one line per
`run.log()` call, appended as the call happens, so a crash loses nothing
already logged; each line is a JSON list of points exactly as the log-batch API
takes them), `params` (params and tags), `artifact`, `profile` (the run's
reference profile of its inputs) and `finish`.

Files other than the batch being written appear atomically (written under a
temporary name, then renamed). The process holding a run's lock is the only
one sending it, so a live run and `targetline sync` never send the same file
at the same time; the lock dies with its process, so a crashed run's spool can
be sent by `targetline sync` at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

FORMAT_VERSION = 1
SEALED = ".jsonl"
OPEN = ".jsonl.open"
BLOB = ".bin"
META = "run.json"
LOCK = "lock"
REJECTED = "rejected"
FINISHED = "finished"  # written once the run's finish has reached the server

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def seq_name(seq: int) -> str:
    return f"{seq:010d}"


def sealed_path(run_dir: Path, seq: int) -> Path:
    return run_dir / (seq_name(seq) + SEALED)


def open_path(run_dir: Path, seq: int) -> Path:
    return run_dir / (seq_name(seq) + OPEN)


def blob_path(run_dir: Path, seq: int) -> Path:
    return run_dir / (seq_name(seq) + BLOB)


def header(kind: str, run_id: str, seq: int) -> bytes:
    return (json.dumps({"v": FORMAT_VERSION, "kind": kind, "run_id": run_id, "seq": seq,
                        "batch_id": uuid.uuid4().hex, "written_ms": int(time.time() * 1000)},
                       separators=(",", ":")) + "\n").encode()


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file that other processes see whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_batch(run_dir: Path, kind: str, run_id: str, seq: int, payload: dict) -> Path:
    path = sealed_path(run_dir, seq)
    line = json.dumps(payload, separators=(",", ":")).encode() + b"\n"
    write_atomic(path, header(kind, run_id, seq) + line)
    return path


class RunLock:
    """An exclusive lock on a run's spool folder, released when its process ends."""

    def __init__(self, run_dir: Path):
        self.path = run_dir / LOCK
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def is_locked(run_dir: Path) -> bool:
    """True when a live process holds the run's lock."""
    lock = RunLock(run_dir)
    try:
        if lock.acquire():
            lock.release()
            return False
    except OSError:
        return False
    return True


@dataclass
class Batch:
    """One spooled batch file, read back.

    A `points` batch keeps its lines as bytes (`body`): the sender turns them
    into a request without decoding each point. Other kinds are decoded (`items`).
    """

    path: Path
    header: dict
    body: bytes = b""  # whole lines only: a line cut short by a crash is left out
    items: list = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.header.get("kind", "")

    @property
    def seq(self) -> int:
        return int(self.header.get("seq", 0))

    @property
    def batch_id(self) -> str:
        return self.header.get("batch_id", "")

    @property
    def point_count(self) -> int:
        """Points in a `points` batch, counted without decoding: a line is `[{p},{p}]`."""
        return self.body.count(b"},{") + self.body.count(b"\n")

    def points(self) -> tuple[list, int]:
        """(the points, as the API takes them, number of unreadable lines)."""
        found: list = []
        damaged = 0
        for raw in self.body.split(b"\n"):
            if raw:
                try:
                    found.extend(json.loads(raw))
                except ValueError:
                    damaged += 1
        return found, damaged


def read_batch(path: Path) -> Batch:
    """Read a batch file; a last line cut short by a crash mid-write is left out."""
    data = path.read_bytes()
    first, _, rest = data.partition(b"\n")
    if not first:
        raise ValueError(f"{path} is empty")
    head = json.loads(first)
    if not isinstance(head, dict) or head.get("v") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a spool file of this version of targetline")
    body = rest[: rest.rfind(b"\n") + 1]
    batch = Batch(path=path, header=head, body=body)
    if batch.kind != "points":
        batch.items = [json.loads(line) for line in body.split(b"\n") if line]
    return batch


def count_points(path: Path) -> int:
    """How many metric points a batch holds (0 for kinds other than points)."""
    try:
        batch = read_batch(path)
    except (OSError, ValueError):
        return 0
    return batch.point_count if batch.kind == "points" else 0


def pending(run_dir: Path) -> list[tuple[int, Path]]:
    """The batch files of a run waiting to be sent, in sequence order (open ones included)."""
    found = []
    try:
        entries = list(os.scandir(run_dir))
    except FileNotFoundError:
        return []
    for entry in entries:
        name = entry.name
        for suffix in (OPEN, SEALED):
            if name.endswith(suffix) and name[: -len(suffix)].isdigit():
                found.append((int(name[: -len(suffix)]), Path(entry.path)))
                break
    found.sort()
    return found


def rejected(run_dir: Path) -> list[Path]:
    folder = run_dir / REJECTED
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(SEALED))


def reject(path: Path, reason: str) -> Path:
    """Move a refused batch (and its artifact bytes) aside, with the server's answer."""
    folder = path.parent / REJECTED
    folder.mkdir(exist_ok=True)
    name = path.name[: -len(OPEN)] + SEALED if path.name.endswith(OPEN) else path.name
    target = folder / name
    os.replace(path, target)
    blob = path.parent / (name[: -len(SEALED)] + BLOB)
    if blob.exists():
        os.replace(blob, folder / blob.name)
    (folder / (name[: -len(SEALED)] + ".error")).write_text(reason + "\n")
    return target


def remove_batch(path: Path) -> None:
    """Delete a sent batch and its artifact bytes."""
    stem = path.name.split(".", 1)[0]
    blob = path.parent / (stem + BLOB)
    with contextlib.suppress(FileNotFoundError):
        blob.unlink()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def read_meta(run_dir: Path) -> dict:
    try:
        data = json.loads((run_dir / META).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def run_dirs(root: Path) -> list[Path]:
    """Every spooled run, oldest first."""
    if not root.is_dir():
        return []
    dirs = [p for p in root.iterdir() if p.is_dir() and (p / META).exists()]
    return sorted(dirs, key=lambda p: (read_meta(p).get("created_ms", 0), p.name))


def remove_run_dir(run_dir: Path) -> None:
    """Delete a run's folder once nothing in it is left to send or to inspect."""
    if pending(run_dir) or rejected(run_dir):
        return
    shutil.rmtree(run_dir, ignore_errors=True)


def last_write_ms(run_dir: Path) -> int:
    """When the run last wrote to its spool: the end time of a run that died unfinished."""
    latest = 0.0
    for _, path in pending(run_dir):
        with contextlib.suppress(FileNotFoundError):
            latest = max(latest, path.stat().st_mtime)
    if not latest:
        try:
            latest = (run_dir / META).stat().st_mtime
        except FileNotFoundError:
            latest = time.time()
    return int(latest * 1000)
