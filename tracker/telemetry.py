"""The tracking domain's Prometheus counters: points stored and runs created.

They are counted where it happens (services.metrics.log_batch, the one path every point
takes, from the v1 API, the SDK and the MLflow endpoints alike; services.runs.create_run),
once the transaction has committed. Each web process counts its own; under gunicorn,
prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR, set by config/gunicorn.py)
adds them up at scrape time (docs/operations.md#metrics).
"""

from django.db import transaction
from prometheus_client import Counter

POINTS_INGESTED = Counter(
    "targetline_points_ingested", "Metric points stored (replays of stored points excluded).")
RUNS_CREATED = Counter("targetline_runs_created", "Runs created.")


def count_points(stored: int) -> None:
    """Count `stored` new points once the current transaction commits."""
    if stored:
        transaction.on_commit(lambda: POINTS_INGESTED.inc(stored))


def count_run() -> None:
    """Count one new run once the current transaction commits."""
    transaction.on_commit(RUNS_CREATED.inc)
