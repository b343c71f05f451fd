"""`make run` installs what running needs (the server, the SDK, the demo) and not the test
tools; `make test` adds them. Each remembers what it installed, so neither reinstalls after
the other. Checked with the Makefile itself, on a copy whose pip only writes down its calls.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str, cwd: Path = ROOT) -> str:
    # Without the calling make's flags: `make -j test` would hand over its jobserver.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_installs_the_server_and_the_demo_not_the_test_tools():
    steps = make("-n", "-W", "pyproject.toml", "run")  # as if pyproject.toml had changed

    installs = [line for line in steps.splitlines() if "pip install" in line and "-e '." in line]
    assert installs == [".venv/bin/pip install --disable-pip-version-check -e '.[demo]'"]
    assert "chromium" in steps  # Debian's Chromium, for the reports' charts
    assert "poppler-utils" not in steps


def test_make_test_adds_the_test_tools():
    steps = make("-n", "-W", "pyproject.toml", "test")

    assert ".venv/bin/pip install --disable-pip-version-check -e '.[test,demo]'" in steps
    assert "poppler-utils" in steps and "chromium" in steps


@pytest.fixture
def checkout(tmp_path) -> Path:
    """The Makefile and pyproject.toml, with a virtualenv whose pip writes its arguments."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    pip = tmp_path / ".venv" / "bin" / "pip"
    pip.parent.mkdir(parents=True)
    pip.write_text('#!/bin/sh\necho "$*" >> "$(dirname "$0")/../../pip.log"\n')
    pip.chmod(0o755)
    return tmp_path


def pip_calls(checkout: Path) -> list[str]:
    log = checkout / "pip.log"
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return calls


def test_neither_target_reinstalls_what_the_other_installed(checkout):
    make("venv", cwd=checkout)  # what `make run` installs
    assert pip_calls(checkout) == ["install --disable-pip-version-check -e .[demo]"]

    make("test-venv", cwd=checkout)  # `make test` after it: the test extra only
    assert pip_calls(checkout) == ["install --disable-pip-version-check -e .[test,demo]"]

    make("venv", cwd=checkout)
    make("test-venv", cwd=checkout)
    assert pip_calls(checkout) == []

    os.utime(checkout / "pyproject.toml")  # a dependency changed: both install again
    make("test-venv", cwd=checkout)
    assert len(pip_calls(checkout)) == 2
