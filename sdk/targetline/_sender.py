"""The thread that sends a run's spooled batches to the server, in order.

It seals the batch being filled when it is due, sends each sealed batch, deletes it once
the server has it, and retries with exponential backoff and jitter (honouring Retry-After)
while the server is unreachable; a refused batch is set aside for inspection. It reads the
run's spool state (`run.py`) and never blocks the training loop.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from typing import TYPE_CHECKING

from targetline import _spool
from targetline._delivery import REJECTED, RETRY, SENT, STOP, deliver, say
from targetline._http import Transport, Unreachable

if TYPE_CHECKING:
    from targetline.run import Run


class Sender(threading.Thread):
    """Sends a run's spooled batches in order, retrying while the server is unreachable."""

    def __init__(self, run: Run, transport: Transport, *, online: bool):
        super().__init__(name=f"targetline-{run.id[:8]}", daemon=True)
        self.run_ref = run
        self.transport = transport
        transport.timeout = run.settings.request_timeout
        self.next_seq = 1
        self.online = online
        self.failures = 0
        self.backoff = 0.0
        self.retry_at = 0.0
        self.finishing = False
        self.abandon = False
        self.stop_reason: str | None = None
        self.last_error: str | None = None
        self.said_offline_at: float | None = None
        self.last_request = time.monotonic()
        self.sent_points = 0
        self.rejected_points = 0
        self.reported: set = set()

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug here must not take the training script down
            self.stop_reason = f"internal error in targetline's sending thread: {exc!r}"
            say(f"{self.stop_reason}; the run's data stays in {self.run_ref.dir}: send it "
                "with `targetline sync`")
        finally:
            self.transport.close()

    def _loop(self) -> None:
        run = self.run_ref
        settings = run.settings
        while not self.abandon:
            run._wake.clear()
            if run._backlog:
                run._flush_backlog()
            now = time.monotonic()
            if self.stop_reason is None and now >= self.retry_at:
                if self.next_seq >= run._sealed_upto:
                    run._seal_if_due(force=self.finishing or not self.online)
                if self.next_seq < run._sealed_upto:
                    self._send_next()
                    continue
            if self.finishing and (self.stop_reason is not None or (
                    run._final and self.next_seq >= run._sealed_upto)):
                return
            if (self.online and self.stop_reason is None and run.is_open
                    and now - self.last_request >= settings.heartbeat_interval):
                self._heartbeat()
            if self.stop_reason is not None:
                wait = 1.0
            elif now < self.retry_at:
                wait = self.retry_at - now
            elif run._seg_points:
                wait = max(0.005, settings.flush_interval - (now - run._seg_first))
            else:
                wait = settings.flush_interval
            run._wake.wait(wait)

    def _send_next(self) -> None:
        run = self.run_ref
        seq = self.next_seq
        path = _spool.sealed_path(run.dir, seq)
        try:
            batch = _spool.read_batch(path)
        except FileNotFoundError:
            self.next_seq += 1  # an empty batch, deleted when it was sealed
            return
        except (OSError, ValueError) as exc:
            kept = _spool.reject(path, f"unreadable: {exc}")
            say(f"could not read the spooled batch {path} ({exc}); set aside in {kept}")
            self.next_seq += 1
            return
        outcome = deliver(self.transport, batch)
        self.last_request = time.monotonic()
        if outcome.kind == SENT:
            _spool.remove_batch(path)
            if batch.kind == "finish":
                (run.dir / _spool.FINISHED).touch()
            self.next_seq += 1
            self.sent_points += outcome.points
            self.failures = 0
            self.backoff = 0.0
            if not self.online and self.said_offline_at is not None:
                say(f"{run.settings.url} answers again; sending run {run.id}'s spooled data")
            self.online = True
            self.said_offline_at = None
            self.last_error = None
        elif outcome.kind == RETRY:
            self._retry_later(outcome)
        elif outcome.kind == REJECTED:
            kept = _spool.reject(path, outcome.message)
            if batch.kind == "points":
                self.rejected_points += batch.point_count
            self.next_seq += 1
            if outcome.status not in self.reported:
                self.reported.add(outcome.status)
                say(f"the server refused a {batch.kind} batch of run {run.id} "
                    f"({outcome.message}); it is kept for inspection in {kept}")
        elif outcome.kind == STOP:
            self.stop_reason = outcome.message
            say(f"{outcome.message}. Run {run.id} keeps logging to {run.dir}; nothing more "
                "is sent from this process")

    def _retry_later(self, outcome) -> None:
        settings = self.run_ref.settings
        self.failures += 1
        self.last_error = outcome.message
        # While finish() waits, try often: the wait is short and the server may be back.
        ceiling = min(settings.backoff_max, 2.0) if self.finishing else settings.backoff_max
        self.backoff = min(ceiling, max(settings.backoff_min, self.backoff * 2))
        delay = self.backoff * random.uniform(0.5, 1.0)
        if outcome.retry_after is not None:
            delay = min(ceiling, max(delay, outcome.retry_after))
        self.retry_at = time.monotonic() + delay
        self.online = False
        now = time.monotonic()
        # A single failed request is routine; a server that keeps failing is news.
        if self.failures >= 3 and (self.said_offline_at is None
                                   or now - self.said_offline_at > 300):
            self.said_offline_at = now
            say(f"{outcome.message}. Run {self.run_ref.id} keeps logging to "
                f"{self.run_ref.dir} and sends it when the server answers")

    def _heartbeat(self) -> None:
        self.last_request = time.monotonic()
        with contextlib.suppress(Unreachable):
            self.transport.request("POST", f"/api/v1/runs/{self.run_ref.id}/heartbeat")
