"""Runs still open when the interpreter exits are finished: failed if the script died of
an error, killed on Ctrl-C, finished otherwise (a script that forgot finish())."""

from __future__ import annotations

import atexit
import os
import sys
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from targetline.run import Run

_open_runs: weakref.WeakSet = weakref.WeakSet()
_exit_status: list = []
_hooks_installed = False


def register(run: Run) -> None:
    global _hooks_installed
    _open_runs.add(run)
    if not _hooks_installed:
        _hooks_installed = True
        atexit.register(_finish_open_runs)
        previous = sys.excepthook

        def hook(exc_type, exc, tb):
            _exit_status.append("killed" if issubclass(exc_type, KeyboardInterrupt)
                                else "failed")
            previous(exc_type, exc, tb)

        sys.excepthook = hook


def unregister(run: Run) -> None:
    _open_runs.discard(run)


def _finish_open_runs() -> None:
    """A script that ends without finish() finishes its runs: failed if it died of an error."""
    status = _exit_status[-1] if _exit_status else "finished"
    for run in list(_open_runs):
        if run._pid == os.getpid():
            run.finish(status)
