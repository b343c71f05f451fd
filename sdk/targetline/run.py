"""A run: `run.log()` validates and appends to the disk spool; a thread sends the spool.

The training loop's only costs are checking its input and one `os.write` of a
line to the batch file being filled, so the loop never waits for the network
and a crash loses nothing already logged. A background thread seals a batch
every second (or at 10,000 points), sends it compressed, retries with
exponential backoff and jitter while the server is unreachable, and deletes it
once the server has it. Memory stays small whatever the outage: batches wait
on disk, not in memory.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from targetline import _exit, _profile, _spool
from targetline._config import Settings
from targetline._context import capture
from targetline._delivery import (
    count,
    create_run,
    say,
)
from targetline._http import ApiError, SimilarProject, Transport, Unreachable
from targetline._sender import Sender
from targetline._validation import (
    MAX_PARAMS_PER_BATCH,
    MAX_POINTS_PER_BATCH,
    MAX_TAGS_PER_BATCH,
    check_key,
    check_name,
    check_slug,
    check_split,
    check_status,
    chunks,
    clean_params,
    clean_tags,
    to_step,
    to_value,
)

_OPEN, _CLOSING, _CLOSED = "open", "closing", "closed"
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NOW_NS = time.time_ns
_BACKLOG_LIMIT = 1_000_000  # lines kept in memory while the spool cannot be written
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds")


def _fmt_value(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


class Run:
    """One execution of a training script. Create it with `targetline.init()`."""

    def __init__(self, *, settings: Settings, project: str, experiment: str,
                 name: str | None, params: dict, tags: dict, baseline: bool,
                 notes: str, data_version: str, create: bool = False):
        self.id = str(uuid.uuid4())
        self.project = project
        self.experiment = experiment
        self.name = name
        self.settings = settings
        self.url = f"{settings.url}/runs/{self.id}/"
        self._params = dict(params)
        self._state = _OPEN
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        # (key, split) -> [next auto step, latest timestamp, steps logged at that timestamp,
        #                  the JSON of a point up to its step]
        self._series: dict = {}
        self._logged = 0
        self._next_seq = 1
        self._sealed_upto = 1  # every batch with a lower sequence number is final
        self._fd: int | None = None
        self._seg_seq = 0
        self._seg_points = 0
        self._seg_first = 0.0
        self._final = False
        self._backlog: list = []
        self._dropped = 0
        self._warned_write = False
        self._create_body = {
            "id": self.id, "experiment": experiment, "name": name or "",
            "baseline": bool(baseline), "notes": notes or "", "data_version": data_version or "",
        }
        self._extra_params = params
        self._extra_tags = tags
        self._create_project = create
        self._sender: Sender | None = None
        self.dir = self._make_dir(settings.spool)
        self._lock_file = _spool.RunLock(self.dir)
        self._lock_file.acquire()

    # --- start -----------------------------------------------------------------

    def _make_dir(self, root: Path) -> Path:
        try:
            path = root / self.id
            path.mkdir(parents=True, mode=0o700)
            return path
        except OSError as exc:
            user = getattr(os, "getuid", lambda: "user")()
            fallback = Path(tempfile.gettempdir()) / f"targetline-{user}" / "spool"
            say(f"cannot write to {root} ({exc.strerror}); spooling to {fallback} instead "
                "(set TARGETLINE_DIR to choose)")
            path = fallback / self.id
            path.mkdir(parents=True, mode=0o700)
            self.settings.spool = fallback
            return path

    def _start(self) -> None:
        started = datetime.now(timezone.utc)
        git_commit, host, context = capture()
        body = dict(self._create_body)
        params, tags = self._extra_params, self._extra_tags
        first_params = chunks(params, MAX_PARAMS_PER_BATCH)
        first_tags = chunks(tags, MAX_TAGS_PER_BATCH)
        body.update(params=first_params[0], tags=first_tags[0], git_commit=git_commit,
                    host=host, context=context, started_at=_iso(started))
        item = {"project": self.project, "body": body, "create": self._create_project}
        _spool.write_atomic(self.dir / _spool.META, json.dumps({
            "run_id": self.id, "url": self.settings.url, "project": self.project,
            "experiment": self.experiment, "name": self.name, "host": host,
            "pid": os.getpid(), "created_ms": int(started.timestamp() * 1000),
            "started_at": _iso(started),
        }, indent=1).encode())
        transport = Transport(self.settings.url, self.settings.token,
                              min(self.settings.request_timeout, 10.0))
        online = True
        try:
            created = create_run(transport, item)
            self.name = created.get("name") or self.name  # type: ignore[union-attr]
        except Unreachable as exc:
            online = False
            self._write_batch("create", item)
            say(f"{exc}. Run {self.id} starts offline: everything it logs is kept in "
                f"{self.dir} and sent when the server answers")
        except SimilarProject as exc:
            self._discard()
            raise SimilarProject(exc.project, exc.similar, f"{exc.message} Pass create=True "
                                 "to targetline.init() to create it.", exc.body) from None
        except ApiError as exc:
            self._discard()
            raise ApiError(exc.status, f"the server refused to start the run: {exc.message}",
                           exc.field, exc.body) from None
        except BaseException:
            self._discard()
            raise
        for extra in first_params[1:]:
            self._write_batch("params", {"params": extra})
        for extra in first_tags[1:]:
            self._write_batch("params", {"tags": extra})
        with self._lock:
            self._open_segment()
        self._sender = Sender(self, transport, online=online)
        self._sender.start()
        _exit.register(self)

    def _discard(self) -> None:
        self._state = _CLOSED
        self._lock_file.release()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- the training loop's side ----------------------------------------------

    def log(self, metrics: dict, step: int | None = None, split: str = "train") -> None:
        """Log metric values at a step of a split; the step defaults to the next one (on
        the project's judged split, the server puts a point logged without a step at the
        run's last step).

        `run.log({"loss": 0.31}, step=12)`, `run.log({"f1": 0.84}, split="validation")`,
        `run.log({"f1": 0.71}, split="test/long_texts")`. Raises ValueError for a
        value that is not a number, a split that is not train, validation, test or
        a slice of one, or a bad metric name, before anything is logged.
        """
        if self._state is not _OPEN:
            raise RuntimeError(f"run {self.id} is finished: log everything before finish()")
        try:
            items = metrics.items()
        except AttributeError:
            raise ValueError("run.log() takes a dict of metric name: number, "
                             "e.g. run.log({'loss': 0.31})") from None
        if step is not None and (type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX):
            step = to_step(step)
        series = self._series
        staged = []
        for key, value in items:
            state = series.get((key, split))
            if state is None:
                state = self._new_series(key, split)
            if type(value) is not float:
                value = to_value(key, value)
            staged.append((state, value))
        if not staged:
            return
        now = _NOW_NS() // 1_000_000
        # A step the client counts is marked, so the server can tell a result logged without
        # a step: on the judged split it goes to the run's last step (docs/sdk.md).
        counted = ',"auto_step":true' if step is None else ""
        parts = []
        with self._lock:
            for state, value in staged:
                s = state[0] if step is None else step
                # A point's timestamp is its identity on the server, with its series and
                # step: two points of a series at one step and one millisecond would pass
                # for a replay. So a step seen at this series' latest timestamp moves on
                # by a millisecond (and a clock that jumps back does not go back here).
                if now > state[1]:
                    t = state[1] = now
                    state[2] = {s}
                elif s in state[2]:
                    t = state[1] = state[1] + 1
                    state[2] = {s}
                else:
                    t = state[1]
                    state[2].add(s)
                state[0] = s + 1
                v = repr(value) if value - value == 0.0 else _fmt_value(value)
                parts.append(f'{state[3]}{s}{counted},"timestamp":{t},"value":{v}}}')
            line = ("[" + ",".join(parts) + "]\n").encode()
            if self._seg_points + len(parts) > MAX_POINTS_PER_BATCH and self._seg_points:
                self._seal(reopen=True)  # a batch is one request: at most the server's limit
                self._wake.set()
            if not self._seg_points:
                self._seg_first = time.monotonic()
            try:
                if self._backlog:
                    self._backlog.append(line)  # keep the order while the spool is failing
                elif os.write(self._fd, line) != len(line):  # type: ignore[arg-type]
                    raise OSError(28, "short write (is the disk full?)")
            except (OSError, TypeError) as exc:
                self._keep_in_memory(line, exc)
            self._seg_points += len(parts)
            self._logged += len(parts)

    def _new_series(self, key: object, split: object) -> list:
        check_key(key)
        check_split(split)
        state = [0, -1, set(), f'{{"key":"{key}","split":"{split}","step":']
        # setdefault: another thread may have met this series at the same moment.
        return self._series.setdefault((key, split), state)

    def log_params(self, params: dict) -> None:
        """Record hyper-parameters. Params are write-once: a different value is a ValueError."""
        self._check_open()
        cleaned = clean_params(params)
        for key, value in cleaned.items():
            if key in self._params and self._params[key] != value:
                raise ValueError(f"param {key!r} is already {self._params[key]!r}; params are "
                                 f"write-once, so it cannot become {value!r}")
        self._params.update(cleaned)
        for part in chunks(cleaned, MAX_PARAMS_PER_BATCH):
            if part:
                self._write_batch("params", {"params": part})

    def set_tags(self, tags: dict) -> None:
        """Set tags (the last value set wins)."""
        self._check_open()
        for part in chunks(clean_tags(tags), MAX_TAGS_PER_BATCH):
            if part:
                self._write_batch("params", {"tags": part})

    def log_artifact(self, path: str | os.PathLike, name: str | None = None) -> None:
        """Upload a file (a model, a plot) with the run, under `name` (default: its file name).

        The file is copied into the spool at once, so it may change or disappear
        afterwards; it is uploaded in the background like everything else.
        """
        self._check_open()
        source = Path(path)
        if not source.is_file():
            raise ValueError(f"log_artifact: {str(path)!r} is not a file")
        name = name or source.name
        parts = [p for p in str(name).replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts or len(name) > 500:
            raise ValueError(f"artifact name {name!r} must be a relative path without '..'")
        # Copied outside the lock, so other threads keep logging during a large copy.
        copy = self.dir / f".artifact-{uuid.uuid4().hex}.tmp"
        try:
            shutil.copyfile(source, copy)
        except OSError as exc:
            copy.unlink(missing_ok=True)
            say(f"could not keep {source} in the spool for upload ({exc}); it is not sent")
            return
        with self._lock:
            self._seal(reopen=False)
            seq = self._alloc()
            blob = _spool.blob_path(self.dir, seq)
            try:
                os.replace(copy, blob)
                _spool.write_batch(self.dir, "artifact", self.id, seq, {
                    "name": "/".join(parts), "size": os.path.getsize(blob),
                    "source": str(source.resolve())})
            except OSError as exc:
                say(f"could not keep {source} in the spool for upload ({exc}); it is not sent")
            self._sealed_upto = seq + 1
            self._open_segment()
        self._wake.set()

    def log_profile(self, data, feature_names=None, predictions=None, bins: int = 10,
                    top: int = 20) -> dict:
        """Record the profile of the inputs the model was trained on: the reference its
        deployments' live inputs are compared with (drift). `data`: a pandas DataFrame, a
        numpy 2-D array or a list of rows with `feature_names`, a list of dicts or a dict of
        columns; `predictions`, the model's class labels for the rows, optional.

        Numbers get `bins` quantile bins, anything else its `top` categories plus "other";
        None and NaN are counted as missing (targetline._profile says how). Only the
        histograms are sent, in the background like the points; logging again replaces the
        profile. Returns it. ValueError naming the column for what cannot be profiled.
        """
        self._check_open()
        computed = _profile.profile(data, feature_names=feature_names,
                                    predictions=predictions, bins=bins, top=top)
        self._write_batch("profile", {"profile": computed})
        return computed

    def finish(self, status: str = "finished", timeout: float | None = None) -> None:
        """End the run (finished, failed or killed) and send what is left, waiting at most
        `timeout` seconds (default 30, or TARGETLINE_FINISH_TIMEOUT). Prints one line
        saying whether everything was sent, and if not how to send the rest."""
        check_status(status)
        with self._lock:
            if self._state is not _OPEN:
                return
            self._state = _CLOSING
            if self._backlog:
                self._write_backlog()
            self._seal(reopen=False)
            seq = self._alloc()
            self._write_file("finish", seq, {"status": status,
                                             "ended_at": _iso(datetime.now(timezone.utc))})
            self._sealed_upto = seq + 1
            self._final = True
        _exit.unregister(self)
        timeout = self.settings.finish_timeout if timeout is None else timeout
        sender = self._sender
        if sender is not None:
            sender.finishing = True
            sender.retry_at = 0.0  # one attempt now, whatever the backoff said
            self._wake.set()
            try:
                sender.join(timeout)
            except KeyboardInterrupt:  # Ctrl-C while waiting: say what is left, then stop
                sender.abandon = True
                self._state = _CLOSED
                self._report(status, sender)
                raise
            if sender.is_alive():
                sender.abandon = True
                self._wake.set()
                sender.join(1.0)
        self._state = _CLOSED
        self._report(status, sender)
        if sender is None or not sender.is_alive():
            # Still held while a request is in flight: the process's exit releases it.
            self._lock_file.release()
            if not _spool.pending(self.dir):
                _spool.remove_run_dir(self.dir)

    def _report(self, status: str, sender: Sender | None) -> None:
        files = _spool.pending(self.dir)
        rejected = _spool.rejected(self.dir)
        label = self.name or self.id
        sent = sender.sent_points if sender else 0
        lost = self._dropped + sum(line.count(b"},{") + 1 for line in self._backlog)
        left = max(0, self._logged - sent - self._rejected_points(sender) - lost)
        if not files and not lost:
            note = (f"; {count(len(rejected), 'refused batch', 'refused batches')} kept in "
                    f"{self.dir / 'rejected'}") if rejected else ""
            say(f"run {label} {status}; all {count(sent, 'point')} sent{note}. {self.url}")
            return
        why = f" ({sender.stop_reason})" if sender and sender.stop_reason else (
            f" ({sender.last_error})" if sender and sender.last_error else "")
        dropped = (f"; {count(lost, 'point')} could not be written to the spool and are lost"
                   if lost else "")
        if not files:
            say(f"run {label} {status}{dropped}. {self.url}")
            return
        say(f"run {label} {status}, but {count(left, 'point')} in "
            f"{count(len(files), 'batch', 'batches')} are still "
            f"spooled in {self.dir}{why}{dropped}; send them with `targetline sync`")

    def _rejected_points(self, sender: Sender | None) -> int:
        return sender.rejected_points if sender else 0

    def _check_open(self) -> None:
        if self._state is not _OPEN:
            raise RuntimeError(f"run {self.id} is finished: log everything before finish()")

    # --- spool files (called with self._lock held, or before the sender starts) ----

    def _alloc(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _open_segment(self) -> None:
        seq = self._alloc()
        try:
            fd = os.open(_spool.open_path(self.dir, seq), _OPEN_FLAGS, 0o600)
            os.write(fd, _spool.header("points", self.id, seq))
        except OSError as exc:
            self._warn_write(exc)
            fd = None
        self._fd, self._seg_seq, self._seg_points = fd, seq, 0

    def _seal(self, reopen: bool) -> None:
        """Close the batch being filled; an empty one is deleted, others become final."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            opened = _spool.open_path(self.dir, self._seg_seq)
            try:
                if self._seg_points:
                    os.replace(opened, _spool.sealed_path(self.dir, self._seg_seq))
                else:
                    opened.unlink()
            except OSError as exc:
                self._warn_write(exc)
        self._sealed_upto = self._next_seq
        self._seg_points = 0
        if reopen:
            self._open_segment()

    def _write_batch(self, kind: str, payload: dict) -> None:
        with self._lock:
            if self._fd is not None:
                self._seal(reopen=False)
            seq = self._alloc()
            self._write_file(kind, seq, payload)
            self._sealed_upto = seq + 1
            if self._state is _OPEN and self._sender is not None:
                self._open_segment()
        self._wake.set()

    def _write_file(self, kind: str, seq: int, payload: dict) -> None:
        try:
            _spool.write_batch(self.dir, kind, self.id, seq, payload)
        except OSError as exc:  # a full disk must not end the training script
            say(f"could not write a {kind} batch to {self.dir} ({exc}); it is not sent")

    def _keep_in_memory(self, line: bytes, exc: BaseException) -> None:
        self._warn_write(exc)
        if len(self._backlog) >= _BACKLOG_LIMIT:
            self._dropped += line.count(b"},{") + 1
            return
        self._backlog.append(line)

    def _warn_write(self, exc: BaseException) -> None:
        if not self._warned_write:
            self._warned_write = True
            say(f"cannot write to the spool {self.dir} ({exc}); keeping up to "
                f"{_BACKLOG_LIMIT:,} log calls in memory until it can")

    def _flush_backlog(self) -> None:
        with self._lock:
            if self._backlog and self._state is _OPEN:
                self._write_backlog()

    def _write_backlog(self) -> None:
        """Write lines kept in memory (the spool was not writable) to a fresh batch."""
        # A fresh batch: the last one may end in a line cut short by the failure
        # (the reader leaves it out; the whole line is here).
        self._seal(reopen=True)
        if self._fd is None:
            return
        written = 0
        try:
            for line in self._backlog:
                if os.write(self._fd, line) != len(line):
                    raise OSError(28, "short write")
                written += 1
        except OSError:
            pass
        if written:
            self._seg_points += written  # (log calls: enough to keep the batch)
            self._seg_first = time.monotonic()
            del self._backlog[:written]

    def _seal_if_due(self, force: bool) -> None:
        with self._lock:
            if self._seg_points and (
                    force or time.monotonic() - self._seg_first >= self.settings.flush_interval):
                self._seal(reopen=self._state is _OPEN)

    # --- context manager ---------------------------------------------------------

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("killed")
        else:
            self.finish("failed")

    @property
    def is_open(self) -> bool:
        """Whether the run still takes points (finish() has not been called)."""
        return self._state is _OPEN

    def __repr__(self) -> str:
        return f"<targetline.Run {self.id} {self.project}/{self.experiment} {self._state}>"


def init(project: str, experiment: str = "default", name: str | None = None,
         params: dict | None = None, tags: dict | None = None, baseline: bool = False,
         notes: str | None = None, url: str | None = None, token: str | None = None, *,
         data_version: str | None = None, dir: str | None = None,
         flush_interval: float | None = None, finish_timeout: float | None = None,
         request_timeout: float | None = None, create: bool = False) -> Run:
    """Start a run of `experiment` in `project` and return it.

    `url` and `token` default to TARGETLINE_URL and TARGETLINE_TOKEN. A project
    that does not exist is created (without a target: one line says how to agree
    one), unless its slug is a typo's distance from one of yours: then ApiError
    (400, naming that project) unless `create=True`. If the server is unreachable
    the run starts anyway, under an id chosen here, and everything is sent once
    the server answers. Git commit and dirty flag, host, Python version, command
    line, start and end time are recorded.
    """
    settings = Settings.load(url=url, token=token, directory=dir, flush_interval=flush_interval,
                             finish_timeout=finish_timeout, request_timeout=request_timeout)
    check_slug(project)
    experiment = check_name(experiment, "experiment name")
    if name is not None:
        name = check_name(name, "run name")
    if not isinstance(baseline, bool):
        raise ValueError(f"baseline must be True or False, not {baseline!r}")
    if not isinstance(create, bool):
        raise ValueError(f"create must be True or False, not {create!r}")
    if notes is not None and not isinstance(notes, str):
        raise ValueError("notes must be a string")
    if data_version is not None and not isinstance(data_version, str):
        raise ValueError("data_version must be a string")
    run = Run(settings=settings, project=project, experiment=experiment, name=name,
              params=clean_params(params or {}), tags=clean_tags(tags or {}),
              baseline=baseline, notes=notes or "", data_version=data_version or "",
              create=create)
    run._start()
    return run
