"""The SDK on the oldest Python it supports: training machines are often older than servers."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import textwrap

import pytest

from tests.sdk.conftest import series
from tests.sdk.live import ROOT


def oldest_python() -> str | None:
    """A Python 3.9 interpreter: on PATH, or pyenv's real binary (its shim may refuse)."""
    candidates = [shutil.which("python3.9"),
                  *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python")))]
    for path in filter(None, candidates):
        try:
            out = subprocess.run([path, "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=20)
        except OSError:
            continue
        if out.returncode == 0 and out.stdout.strip() == "(3, 9)":
            return path
    return None


def test_a_run_from_python_3_9(sdk_env, api, slug, spool_dir):
    python = oldest_python()
    if python is None:
        pytest.skip("no Python 3.9 interpreter on this machine")
    script = textwrap.dedent("""
        import sys
        import targetline as tl
        from targetline import cli

        with tl.init(project=sys.argv[1], experiment="py39", params={"a": 1}) as run:
            for step in range(50):
                run.log({"loss": 1.0 / (step + 1)})
            run.log({"f1": 0.5}, split="test/slice")
            run.log_artifact(__import__("targetline").__file__, name="init.py")
        offline = tl.init(project=sys.argv[1], experiment="offline", url="http://127.0.0.1:9")
        offline.log({"loss": 0.5})
        offline.finish(timeout=0)
        cli.main(["status"])
        print(run.id)
    """)
    done = subprocess.run([python, "-W", "error::SyntaxWarning", "-c", script, slug],
                          env={**os.environ, **sdk_env, "PYTHONPATH": str(ROOT / "sdk")},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    assert "1 run, 3 batches, 1 point waiting" in done.stdout
    assert series(api, run_id, "loss") == [(s, 1.0 / (s + 1)) for s in range(50)]
    assert api.run(run_id)["context"]["python"].startswith("3.9.")
    assert [a["path"] for a in api.artifacts(run_id)] == ["init.py"]
