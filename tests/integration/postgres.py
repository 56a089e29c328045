"""A throwaway PostgreSQL server on loopback, from Debian's postgresql package (as .ci/run installs it)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from txdagster.local.emulator import free_port


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    database: str


def _as_postgres(command: list[str]) -> list[str]:
    """The server refuses to run as root: run it as Debian's postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def server(database: str = "dagster", user: str = "dagster") -> Iterator[Server]:
    bin_dir = binaries()
    assert bin_dir, "PostgreSQL is not installed (apt-get install postgresql)"
    data = Path(tempfile.mkdtemp(prefix="txd-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", user]), **run)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {data}"
    log = str(data / "server.log")  # the server's output: a pipe would stay open after pg_ctl returns
    subprocess.run(
        _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start"]), **run
    )
    try:
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, database], **run)
        yield Server("127.0.0.1", port, user, database)
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]), **run)
        shutil.rmtree(data, ignore_errors=True)
