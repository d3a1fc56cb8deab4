"""A throwaway PostgreSQL server for the store's tests: Debian's postgresql, initdb into a temp folder, started
with pg_ctl on a free loopback port as the unprivileged `postgres` user, stopped afterwards."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unavailable() -> str:
    """Why no server can be started here ('' when one can)."""
    if _binaries() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to drop to the postgres user"
    return ""


class Server:
    """One running server; each test takes its own empty database from it (`new_database`)."""

    def __init__(self) -> None:
        self.bin_dir = _binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.port = _free_port()
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_user:
            shutil.chown(self.folder, "postgres")
        self._databases = itertools.count()

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as_user, str(self.bin_dir / tool), *args], check=True, capture_output=True,
                       text=True, timeout=120)

    def start(self) -> Server:
        self._run("initdb", "-D", str(self.folder / "data"), "-U", "bench", "--auth=trust", "-E", "UTF8")
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server on its data folder and port (again, after `pause`)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-w", "-o",
                  f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def pause(self) -> None:
        """Stop the server as a restart does (fast shutdown: every connection is dropped), keeping its data."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def new_database(self) -> str:
        """A SQLAlchemy URL (psycopg) of a new, empty database."""
        name = f"results{next(self._databases)}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "bench", name)
        return f"postgresql+psycopg://bench@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
