"""What the client records about where a run ran, without being asked."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from pathlib import Path

from targetline._version import __version__


def _script_dir() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(folder):
            return folder
    return os.getcwd()


def _git(folder: str, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", folder, *args], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(folder: str | None = None) -> dict:
    """Commit, branch and dirty flag of the repository the script lives in (empty outside one)."""
    folder = folder or _script_dir()
    commit = _git(folder, "rev-parse", "HEAD")
    if not commit:
        return {}
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    state = {"git_commit": commit, "git_dirty": bool(status)}
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    if branch and branch != "HEAD":
        state["git_branch"] = branch
    return state


def capture() -> tuple[str, str, dict]:
    """(git commit, host, context) for a new run."""
    git = git_state()
    host = socket.gethostname()
    context = {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "command": [Path(sys.executable).name, *sys.argv] if sys.argv else [],
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "user": _user(),
        "targetline": __version__,
    }
    if git:
        context["git_dirty"] = git["git_dirty"]
        if "git_branch" in git:
            context["git_branch"] = git["git_branch"]
    return git.get("git_commit", ""), host, context


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name in some containers
        return ""
