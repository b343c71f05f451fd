"""`targetline status` lists what waits in the spool; `targetline sync` sends it.

Both are safe at any time: a run whose training process is still alive is
sending its own data and is left alone (its folder is locked), and every
request may be repeated without storing anything twice.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from targetline import _spool
from targetline._config import resolve_token, spool_root
from targetline._delivery import REJECTED, RETRY, SENT, STOP, count, deliver
from targetline._http import Transport, Unreachable
from targetline._validation import check_slug
from targetline._version import __version__

FINISHED_MARK = _spool.FINISHED

def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def _scan(run_dir: Path) -> dict:
    files = _spool.pending(run_dir)
    points = sum(_spool.count_points(path) for _, path in files)
    size = 0
    for _, path in files:
        try:
            size += path.stat().st_size
            blob = _spool.blob_path(run_dir, int(path.name.split(".", 1)[0]))
            if blob.exists():
                size += blob.stat().st_size
        except FileNotFoundError:
            pass
    return {"files": files, "points": points, "bytes": size,
            "rejected": _spool.rejected(run_dir)}


def status(args: argparse.Namespace) -> int:
    root = spool_root(args.dir)
    dirs = _spool.run_dirs(root)
    total_files = total_points = 0
    rows = []
    for run_dir in dirs:
        meta = _spool.read_meta(run_dir)
        scan = _scan(run_dir)
        if not scan["files"] and not scan["rejected"] and _spool.is_locked(run_dir) is False \
                and (run_dir / FINISHED_MARK).exists():
            continue
        total_files += len(scan["files"])
        total_points += scan["points"]
        rows.append((run_dir, meta, scan))
    if not rows:
        print(f"Nothing spooled in {root}: the server has everything.")
        return 0
    print(f"Spooled in {root}:")
    for run_dir, meta, scan in rows:
        if _spool.is_locked(run_dir):
            state = (f"live: process {meta.get('pid')} on {meta.get('host')} (or a "
                     "`targetline sync`) is sending it")
        elif scan["files"]:
            state = "waiting for `targetline sync`"
        else:
            state = "nothing to send"
        name = meta.get("name") or "(unnamed)"
        print(f"  run {run_dir.name}  {meta.get('project')}/{meta.get('experiment')}  {name}")
        print(f"      to {meta.get('url')}, started {meta.get('started_at', '?')}: {state}")
        if scan["files"]:
            kinds = _kinds(scan["files"])
            print(f"      {count(len(scan['files']), 'batch', 'batches')} ({kinds}), "
                  f"{count(scan['points'], 'point')}, {_size(scan['bytes'])}")
        if scan["rejected"]:
            print(f"      {count(len(scan['rejected']), 'batch', 'batches')} refused by the "
                  "server, kept for "
                  f"inspection in {run_dir / _spool.REJECTED} (the .error files say why; "
                  "`targetline sync --retry-rejected` sends them again)")
    waiting = sum(1 for _, _, scan in rows if scan["files"])
    if total_files:
        print(f"{count(waiting, 'run')}, {count(total_files, 'batch', 'batches')}, "
              f"{count(total_points, 'point')} waiting; send them with `targetline sync`.")
    else:
        print("Nothing waiting to be sent.")
    return 0


def _kinds(files: list) -> str:
    counts: dict = {}
    for _, path in files:
        try:
            kind = _spool.read_batch(path).kind
        except (OSError, ValueError):
            kind = "unreadable"
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


class Progress:
    """A progress bar on a terminal; a line per run otherwise."""

    def __init__(self, total_files: int, total_points: int, stream=sys.stderr):
        self.total_files = max(total_files, 1)
        self.total_points = total_points
        self.files = 0
        self.points = 0
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0

    def advance(self, points: int) -> None:
        self.files += 1
        self.points += points
        now = time.monotonic()
        if self.tty and (now - self.last > 0.1 or self.files == self.total_files):
            self.last = now
            done = self.files / self.total_files
            bar = "#" * int(done * 30)
            self.stream.write(f"\r[{bar:<30}] {done:4.0%}  {self.files}/{self.total_files} "
                              f"batches  {self.points:,}/{self.total_points:,} points")
            self.stream.flush()

    def line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + " " * 90 + "\r")
        print(text, file=self.stream, flush=True)


def sync(args: argparse.Namespace) -> int:
    root = spool_root(args.dir)
    dirs = _spool.run_dirs(root)
    if not dirs:
        print(f"Nothing spooled in {root}.")
        return 0
    try:
        token = resolve_token(args.token)
    except ValueError as exc:
        print(f"targetline sync: {exc}", file=sys.stderr)
        return 2
    claimed = []
    skipped = []
    for run_dir in dirs:
        lock = _spool.RunLock(run_dir)
        if not lock.acquire():
            skipped.append(run_dir)
            continue
        if args.retry_rejected:
            for path in _spool.rejected(run_dir):
                stem = path.name[: -len(_spool.SEALED)]
                blob = path.parent / (stem + _spool.BLOB)
                if blob.exists():
                    os.replace(blob, run_dir / blob.name)
                (path.parent / (stem + ".error")).unlink(missing_ok=True)
                os.replace(path, run_dir / path.name)
        claimed.append((run_dir, lock, _scan(run_dir)))
    for run_dir in skipped:
        meta = _spool.read_meta(run_dir)
        print(f"run {run_dir.name}: left alone, another process is sending it (its training "
              f"process {meta.get('pid')} on {meta.get('host')}, or another `targetline sync`)")
    total_files = sum(len(scan["files"]) for _, _, scan in claimed)
    total_points = sum(scan["points"] for _, _, scan in claimed)
    if claimed:
        print(f"Sending {count(total_files, 'batch', 'batches')}, "
              f"{count(total_points, 'point')} of {count(len(claimed), 'run')}...",
              file=sys.stderr)
    progress = Progress(total_files, total_points)
    transports: dict = {}
    failed = False
    try:
        for run_dir, lock, scan in claimed:
            meta = _spool.read_meta(run_dir)
            url = (args.url or meta.get("url") or "").rstrip("/")
            if not url:
                progress.line(f"run {run_dir.name}: no server URL recorded; use --url")
                failed = True
                continue
            if url not in transports:
                transports[url] = Transport(url, token, args.timeout)
            ok = _sync_run(run_dir, meta, scan["files"], transports[url], progress, args)
            failed = failed or not ok
            _spool.remove_run_dir(run_dir)  # (only if nothing is left in it)
            lock.release()
    finally:
        for _, lock, _ in claimed:
            lock.release()
        for transport in transports.values():
            transport.close()
    left = sum(len(_spool.pending(d)) for d in _spool.run_dirs(root))
    if left:
        print(f"{count(left, 'batch', 'batches')} still spooled in {root}; see "
              "`targetline status`.")
    else:
        print(f"Done: everything spooled in {root} has been sent.")
    return 1 if failed else 0


def _sync_run(run_dir: Path, meta: dict, files: list, transport: Transport,
              progress: Progress, args: argparse.Namespace) -> bool:
    """Send one run's batches in order; True when nothing is left to send."""
    run_id = run_dir.name
    saw_finish = (run_dir / FINISHED_MARK).exists()
    for i, (_, path) in enumerate(files):
        try:
            batch = _spool.read_batch(path)
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            _spool.reject(path, f"unreadable: {exc}")
            progress.line(f"run {run_id}: {path.name} is unreadable ({exc}); set aside")
            progress.advance(0)
            continue
        if batch.kind == "create":
            _apply_create_options(batch.items[0], args)
        elif i == 0 and meta.get("project") in args.move:
            progress.line(f"run {run_id}: already created in project {meta['project']!r}; "
                          "--move only changes runs the server has not created yet")
        outcome = _send_with_retries(transport, batch, args)
        if outcome.kind == SENT:
            if batch.kind == "create" and batch.items[0]["project"] != meta.get("project"):
                _record_move(run_dir, meta, batch.items[0]["project"])
            _spool.remove_batch(path)
            if batch.kind == "finish":
                saw_finish = True
                (run_dir / FINISHED_MARK).touch()
            progress.advance(outcome.points)
        elif outcome.kind == REJECTED:
            kept = _spool.reject(path, outcome.message)
            progress.line(f"run {run_id}: the server refused {path.name} ({outcome.message}); "
                          f"kept in {kept}")
            progress.advance(0)
        elif outcome.kind == STOP:
            progress.line(f"run {run_id}: {outcome.message}")
            return False
        else:
            progress.line(f"run {run_id}: {outcome.message}; try `targetline sync` again "
                          "when the server answers")
            return False
    if not saw_finish:
        _mark_killed(run_dir, meta, transport, progress)
    progress.line(f"run {run_id} ({meta.get('project')}/{meta.get('experiment')}): sent")
    return True


def _apply_create_options(item: dict, args: argparse.Namespace) -> None:
    """--move and --create, on a run the server has not created yet."""
    item["project"] = args.move.get(item["project"], item["project"])
    if args.create:
        item["create"] = True


def _record_move(run_dir: Path, meta: dict, project: str) -> None:
    meta["project"] = project  # what `targetline status` shows if the rest must wait
    with contextlib.suppress(OSError):  # else only that listing is stale
        _spool.write_atomic(run_dir / _spool.META, json.dumps(meta, indent=1).encode())


def _move(text: str) -> tuple:
    old, sep, new = text.partition("=")
    try:
        if not sep:
            raise ValueError("write it OLD=NEW, e.g. tumour-screen=tumor-screen")
        return check_slug(old), check_slug(new)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _send_with_retries(transport: Transport, batch: _spool.Batch, args: argparse.Namespace):
    delay = 0.5
    for attempt in range(1, args.retries + 1):
        outcome = deliver(transport, batch)
        if outcome.kind != RETRY or attempt == args.retries:
            return outcome
        wait = min(30.0, outcome.retry_after or delay * random.uniform(0.5, 1.0))
        time.sleep(wait)
        delay = min(30.0, delay * 2)
    return outcome  # pragma: no cover


def _mark_killed(run_dir: Path, meta: dict, transport: Transport, progress: Progress) -> None:
    """A run whose process died before finish() is marked killed, ending at its last write."""
    if meta.get("host") and meta.get("host") != socket.gethostname():
        progress.line(f"run {run_dir.name} never finished; its process ran on "
                      f"{meta.get('host')}, so it is left as it is")
        return
    ended = datetime.fromtimestamp(_spool.last_write_ms(run_dir) / 1000, tz=timezone.utc)
    try:
        transport.call("POST", f"/api/v1/runs/{run_dir.name}/finish",
                       {"status": "killed", "ended_at": ended.isoformat(timespec="milliseconds")})
    except Unreachable as exc:
        progress.line(f"run {run_dir.name}: could not mark it killed ({exc})")
        return
    except Exception as exc:  # noqa: BLE001 - an ApiError here changes nothing sent
        progress.line(f"run {run_dir.name}: could not mark it killed ({exc})")
        return
    (run_dir / FINISHED_MARK).touch()
    progress.line(f"run {run_dir.name}: its training process ended without finish() (last "
                  f"write {_when(_spool.last_write_ms(run_dir))}); marked killed")


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="targetline",
        description="Send or list the run data a training script spooled to disk.")
    parser.add_argument("--version", action="version", version=f"targetline {__version__}")
    parser.add_argument("--dir", help="the spool's parent folder (default: TARGETLINE_DIR or "
                        "~/.targetline)")
    commands = parser.add_subparsers(dest="command", required=True)
    p_status = commands.add_parser("status", help="list what is spooled, run by run")
    p_status.set_defaults(handler=status)
    p_sync = commands.add_parser("sync", help="send everything spooled to the server")
    p_sync.add_argument("--token", help="API token (default: TARGETLINE_TOKEN)")
    p_sync.add_argument("--url", help="send to this server instead of the one each run "
                        "recorded")
    p_sync.add_argument("--retries", type=int, default=6,
                        help="attempts per batch while the server is unreachable (default 6)")
    p_sync.add_argument("--timeout", type=float, default=60.0,
                        help="seconds per request (default 60)")
    p_sync.add_argument("--retry-rejected", action="store_true",
                        help="send batches the server refused before once more")
    p_sync.add_argument("--move", metavar="OLD=NEW", type=_move, action="append", default=[],
                        help="send the runs of project OLD the server has not created yet "
                        "to project NEW instead (e.g. a typo's runs to the project meant)")
    p_sync.add_argument("--create", action="store_true",
                        help="create the projects spooled runs name even when their slug is "
                        "close to one of yours")
    p_sync.set_defaults(handler=sync)
    for sub in (p_status, p_sync):
        sub.add_argument("--dir", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command == "sync":
        args.move = dict(args.move)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("targetline: interrupted; what was not sent is still spooled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
