"""gunicorn's settings beyond its command line (`gunicorn -c config/gunicorn.py …`).

Prometheus counters (GET /metrics) are kept by each worker process; gunicorn answers a
scrape from any one of them. prometheus_client's multiprocess mode adds them up: every
process writes its counters to files in PROMETHEUS_MULTIPROC_DIR (var/prometheus unless
set), emptied here when the server starts (files of a previous run would be counted
again) and read at each scrape. A worker that exits keeps its counts (they happened);
its live-only figures are dropped (child_exit).

With LOG_FORMAT=json, gunicorn's own error and access lines are JSON too (config/logs.py).
"""

import os
from pathlib import Path

_var_dir = Path(os.environ.get("TARGETLINE_VAR_DIR") or Path(__file__).resolve().parent.parent
                / "var")
# Set before any worker imports prometheus_client: it reads the variable once, at import.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_var_dir / "prometheus"))

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logger_class = "config.logs.GunicornLogger"


def on_starting(server) -> None:
    """Counters start from zero with the server: the previous run's files go (only those,
    whatever else a folder named by PROMETHEUS_MULTIPROC_DIR holds)."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for kind in ("counter", "gauge", "histogram", "summary"):
        for old in folder.glob(f"{kind}_*.db"):
            old.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    # Imported here, not above: prometheus_client chooses its multiprocess mode when first
    # imported, which must come after PROMETHEUS_MULTIPROC_DIR is set (the workers, forked
    # from this process, inherit the module as it was imported).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
