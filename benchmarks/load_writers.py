"""The writers of benchmarks/load.py, each run as a process of its own
(`python -m benchmarks.load --writer sdk|mlflow …`): a training script using the
`targetline` SDK, or one using the mlflow client, every HTTP request timed at the client.
Each returns what it sent, how long finishing took and its requests' latencies."""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections import Counter

from benchmarks.sdk import ROOT

METRICS = ("loss", "accuracy", "f1", "precision", "recall")
MLFLOW_KEYS = ("train_loss", "train_acc", "val_f1", "val_loss", "lr")
MLFLOW_STEPS_PER_BATCH = 100
# A writer logging flat out waits while more batches than this wait to be sent.
FLAT_OUT_UNSENT_BATCHES = 2

# --- The writers (each a process of its own: `--writer sdk|mlflow`) --------------------------

class Timings:
    """The latency and outcome of every HTTP request a writer makes, timed at the client."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.statuses: Counter = Counter()

    def add(self, started: float, status: object) -> None:
        self.seconds.append(time.perf_counter() - started)  # list.append is thread-safe
        self.statuses[str(status)] += 1


def _wait_for_go() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("the benchmark went away before the phase started")


def _paced_steps(seconds: float, rate: float):
    """Step counts 0, 1, 2, ... at `rate` a second for `seconds` (late ones caught up)."""
    started = time.monotonic()
    done = 0
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            return
        due = int(elapsed * rate) + 1
        while done < due:
            yield done
            done += 1
        time.sleep(min(0.01, max(0.0, (done / rate) - (time.monotonic() - started))))


def _flat_out_steps(seconds: float, run, most_unsent: int):
    """Step counts 0, 1, 2, ... as fast as the loop goes for `seconds`, held back while more
    than `most_unsent` sealed batches wait for the server: what a writer sustains is what
    the server stores, not how fast a spool can grow (finish() would send the rest after)."""
    started = time.monotonic()
    done = 0
    while time.monotonic() - started < seconds:
        for _ in range(200):
            yield done
            done += 1
        sender = run._sender
        while (sender is not None and run._sealed_upto - sender.next_seq > most_unsent
               and time.monotonic() - started < seconds):
            time.sleep(0.002)


def sdk_writer(args) -> dict:
    """A training script using the SDK: init, log `rate` steps a second (or as fast as it
    can with rate 0), finish."""
    from unittest import mock

    sys.path.insert(0, str(ROOT / "sdk"))
    import targetline as tl
    from targetline import _http

    timings = Timings()
    request = _http.Transport.request

    def timed(self, *a, **kw):
        started = time.perf_counter()
        try:
            response = request(self, *a, **kw)
        except _http.Unreachable as exc:
            status = re.search(r"HTTP (\d{3})", str(exc))
            timings.add(started, status.group(1) if status else "unreachable")
            raise
        timings.add(started, response.status)
        return response

    _http.Transport.request = timed
    if args.run_id:
        # The SDK starts each run under an id it draws; every writer of the one-run phase
        # draws the same one, as spools of one run gathered from several machines would be.
        with mock.patch.object(tl.run.uuid, "uuid4", return_value=uuid.UUID(args.run_id)):
            run = tl.init(project=args.project, experiment="load", name=args.name)
    else:
        run = tl.init(project=args.project, experiment="load", name=args.name)
    _wait_for_go()
    sent = 0
    values = dict.fromkeys(METRICS, 0.5)
    steps = (_paced_steps(args.seconds, args.rate) if args.rate > 0
             else _flat_out_steps(args.seconds, run, FLAT_OUT_UNSENT_BATCHES))
    for count in steps:
        step = args.first_step + count * args.stride
        values["loss"] = 1.0 / (step + 1)
        run.log(values, step=step)
        sent += len(values)
    finished = time.monotonic()
    run.finish(timeout=args.timeout)
    return {"sent": sent, "unsent": run.dir.exists(), "finish_s": time.monotonic() - finished,
            "latencies": timings.seconds, "statuses": timings.statuses, "errors": 0}


def mlflow_writer(args) -> dict:
    """A script using the mlflow client: create a run, log_batch and log_metric in turn."""
    import requests.adapters
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    timings = Timings()
    send = requests.adapters.HTTPAdapter.send

    def timed(self, request, *a, **kw):
        if not request.url.startswith(args.url):  # only the server's requests are timed
            return send(self, request, *a, **kw)
        started = time.perf_counter()
        try:
            response = send(self, request, *a, **kw)
        except Exception as exc:
            timings.add(started, f"unreachable ({type(exc).__name__})")
            raise
        timings.add(started, response.status_code)
        return response

    requests.adapters.HTTPAdapter.send = timed
    client = MlflowClient(args.url)
    run_id = client.create_run(args.experiment_id, run_name=args.name).info.run_id
    _wait_for_go()
    sent = errors = step = 0

    def call(method, *call_args, **call_kwargs) -> None:
        nonlocal errors
        try:
            method(run_id, *call_args, **call_kwargs)
        except Exception as exc:  # a script would stop here; the benchmark counts it
            errors += 1
            print(f"mlflow writer {args.name}: {exc}", file=sys.stderr)

    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        now = int(time.time() * 1000)
        steps = range(step, step + MLFLOW_STEPS_PER_BATCH)
        batch = [Metric(key, 1.0 / (s + 1), now, s) for s in steps for key in MLFLOW_KEYS[:-1]]
        # Counted as sent whatever the answer: a call that failed may still be stored.
        sent += len(batch) + 1
        call(client.log_batch, metrics=batch)
        call(client.log_metric, MLFLOW_KEYS[-1], 0.01, now, step)
        step += MLFLOW_STEPS_PER_BATCH
    finished = time.monotonic()
    client.set_terminated(run_id)
    return {"sent": sent, "unsent": False, "finish_s": time.monotonic() - finished,
            "latencies": timings.seconds, "statuses": timings.statuses, "errors": errors}
