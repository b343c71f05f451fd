"""Benchmarks against a real server: `make bench` (or `python -m benchmarks.ingest`).

Starts gunicorn on a free port against a separate benchmark database (the
DATABASE_URL database name + "_bench" on PostgreSQL, var/bench.sqlite3
otherwise), so figures include HTTP, JSON parsing, validation and the bulk
insert, as a training script sees them. Prints a Markdown table for
docs/benchmarks.md.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from benchmarks import scratch_databases

ROOT = Path(__file__).resolve().parent.parent


def _bench_env() -> dict:
    env = dict(os.environ)
    url = scratch_databases.scratch_url("bench")
    if url:
        env["DATABASE_URL"] = scratch_databases.recreate(url)
    else:
        var = ROOT / "var" / "bench"
        var.mkdir(parents=True, exist_ok=True)
        (var / "targetline.sqlite3").unlink(missing_ok=True)
        env["TARGETLINE_VAR_DIR"] = str(var)
    env.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    return env



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict, *args: str) -> str:
    out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout


class Client:
    def __init__(self, base: str, token: str):
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body=None) -> tuple[int, dict, float]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=self.headers)
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            payload = json.loads(response.read() or b"{}")
            return response.status, payload, time.perf_counter() - started


def bench_ingest(client: Client, *, batches: int, points: int) -> dict:
    """Post `batches` batches of `points` new points (5 metrics) to one run, then replay one."""
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    client.call("POST", "/api/v1/projects/", {
        "slug": slug, "target": {"metric": "f1", "direction": "maximize", "threshold": 0.9}})
    _, run, _ = client.call("POST", f"/api/v1/projects/{slug}/runs/", {"experiment": "bench"})
    keys = [("loss", "train"), ("acc", "train"), ("f1", "validation"), ("loss", "validation"),
            ("lr", "train")]
    per_key = points // len(keys)
    timings, batch_bodies = [], []
    for b in range(batches):
        metrics = [
            {"key": k, "split": s, "step": b * per_key + i, "value": (i % 97) / 97.0,
             "timestamp": 1_700_000_000_000 + b * per_key + i}
            for k, s in keys for i in range(per_key)
        ]
        batch_bodies.append({"metrics": metrics})
        _, result, elapsed = client.call("POST", f"/api/v1/runs/{run['id']}/log-batch",
                                         batch_bodies[-1])
        assert result["points_stored"] == len(metrics), result
        timings.append(elapsed)
    _, replay, replay_time = client.call("POST", f"/api/v1/runs/{run['id']}/log-batch",
                                         batch_bodies[0])
    assert replay["points_stored"] == 0
    _, hist, hist_time = client.call(
        "GET", f"/api/v1/runs/{run['id']}/history?key=loss&split=train")
    _, buckets, bucket_time = client.call(
        "GET", f"/api/v1/runs/{run['id']}/history?key=loss&split=train&buckets=500")
    median = statistics.median(timings)
    return {
        "batch_points": per_key * len(keys),
        "batches": batches,
        "median_batch_s": median,
        "best_batch_s": min(timings),
        "points_per_s": per_key * len(keys) / median,
        "replay_s": replay_time,
        "history_points": len(hist["points"]),
        "history_s": hist_time,
        "buckets_s": bucket_time,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args(argv)

    env = _bench_env()
    _manage(env, "quickstart", "--no-admin")
    token = _manage(env, "createtoken", "bench").strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/")
                break
            except OSError:
                time.sleep(0.1)
        client = Client(base, token)
        result = bench_ingest(client, batches=args.batches, points=args.points)
    finally:
        server.terminate()
        server.wait(timeout=30)

    database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"
    print(f"\nIngest through POST /api/v1/runs/{{id}}/log-batch ({database}, gunicorn 2x2, "
          f"{result['batches']} batches of {result['batch_points']:,} new points, 5 series)\n")
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| median time per {result['batch_points']:,}-point batch | "
          f"{result['median_batch_s'] * 1000:.0f} ms |")
    print(f"| best batch | {result['best_batch_s'] * 1000:.0f} ms |")
    print(f"| ingest rate (median batch) | {result['points_per_s']:,.0f} points/s |")
    print(f"| replay of a stored batch (all duplicates) | {result['replay_s'] * 1000:.0f} ms |")
    print(f"| full history, {result['history_points']:,} points | "
          f"{result['history_s'] * 1000:.0f} ms |")
    print(f"| same history in 500 min/max buckets | {result['buckets_s'] * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
