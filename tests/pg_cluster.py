"""A throwaway PostgreSQL server of a test's own, to stop, restart and fill at will.

The suite's DATABASE_URL names a server other tests (and other test runs) use at the same
time: a fault test must never stop it. This one is made with initdb in a folder under /tmp
and listens on a free port of 127.0.0.1 only. PostgreSQL refuses to run as root: as root,
its commands run as the user `postgres`, who owns the folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _server_binaries() -> Path | None:
    """The folder of initdb and pg_ctl: Debian's newest /usr/lib/postgresql/N/bin, or PATH's."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                    key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    found = debian[-1] if debian else shutil.which("initdb")
    if found and (Path(found).parent / "pg_ctl").exists():
        return Path(found).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL server: init() once, then start(), stop() and start() again."""

    def __init__(self, *, max_connections: int = 20):
        self.bin = _server_binaries()
        if self.bin is None:
            pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.owner = None
        if os.geteuid() == 0:
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root, and there is no user `postgres` to run a "
                            "PostgreSQL server as")
        self.max_connections = max_connections
        self.root = Path(tempfile.mkdtemp(prefix="targetline-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = _free_port()
        if self.owner is not None:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 60) -> None:
        argv = [str(self.bin / command[0]), *command[1:]]
        if self.owner is not None:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                             cwd=self.root)
        if out.returncode:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command[:2])} failed:\n{out.stdout}\n{out.stderr}\n"
                               f"{log}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   f"-c max_connections={self.max_connections} -c fsync=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop: `fast` ends every connection (each told "terminating connection due to
        administrator command"), as a restart by an administrator or a package upgrade does."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # not running
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
