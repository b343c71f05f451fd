"""gunicorn as scripts/run.sh starts it (its command line is read from the script), for the
tests that need the real server: started on a free port, handed back once it answers."""

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.reports.test_worker import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent


def run_sh_gunicorn(port: int) -> list[str]:
    """scripts/run.sh's gunicorn command, on `port`."""
    text = (ROOT / "scripts" / "run.sh").read_text().replace("\\\n", " ")
    [line] = [ln.strip() for ln in text.splitlines() if ln.strip().startswith('"$BIN/gunicorn"')]
    line = line.replace('"$BIN/gunicorn"', shlex.quote(str(Path(sys.executable).parent /
                                                             "gunicorn")))
    line = line.replace("$PORT", str(port))
    return shlex.split(line.rstrip("&"))


def start(env: dict, log, *, probe: str = "/api/v1/", seconds: float = 60,
          what: str = "gunicorn") -> tuple[subprocess.Popen, str]:
    """gunicorn with `env`, writing to the open file `log`, in a process group of its own;
    (the process, its base URL) once `probe` answers 200 (stopped again if it never does)."""
    port = free_port()
    process = subprocess.Popen(run_sh_gunicorn(port), cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.get(f"{base}{probe}", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or a worker still importing
            return False
    try:
        wait_for(answers, seconds, f"{what} to answer")
    except BaseException:
        stop(process)
        raise
    return process, base


def stop(process: subprocess.Popen) -> None:
    """TERM to gunicorn's process group (master and workers), then wait for it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(30)
