"""Runs that start in half a second: the code location's gRPC server starts each run's process from a
``multiprocessing`` forkserver that has already imported this code and Dagster's instance machinery.

Dagster's code server starts a run (``DefaultRunLauncher``: every real-time run, locally and in the
daemon's ECS task) as a ``spawn`` child: a fresh interpreter that imports Dagster, alembic and this code
location before its first event. Measured on the local stack: 7 s from STARTING to RUN_START, about 4
CPU-seconds a run, most of a late file's time to ``done``. A forkserver pays those imports once and
forks a child per run that has them already: 0.5 s after the first run.

The forkserver is a single-threaded process started by the code server (so a run still gets the code
server's environment and the code as the server loaded it); its children are ordinary processes that
Dagster watches, interrupts and reaps as it does spawned ones. ``TXD_RUN_START=spawn`` goes back to
Dagster's own way (docs/configuration.md).

How: Dagster's ``DagsterApiServer`` keeps its multiprocessing context in ``_mp_ctx``, read when it starts
a run; a data descriptor on the class answers it with the forkserver context (checked against the
pinned Dagster by ``tests/integration/test_run_starter.py``).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from functools import cache
from multiprocessing.context import BaseContext
from typing import Any

from txdagster.settings import load_settings

#: Imported once by the forkserver, so a run's process has them: this code location, and what a run
#: imports before its first event (the instance's SQLite storages and their alembic migrations).
PRELOAD = [
    "txdagster.definitions",
    "dagster._core.instance.factory",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
    "dagster._core.storage.local_compute_log_manager",
    "dagster._core.execution.api",
    "alembic.command",
    "alembic.config",
    "alembic.runtime.migration",
    "alembic.script",
]


WAYS = ("forkserver", "spawn")


def wanted() -> bool:
    """Whether runs start from the forkserver (``TXD_RUN_START``; Linux only, where it was measured)."""
    way = load_settings().run_start
    if way not in WAYS:
        raise ValueError(f"TXD_RUN_START must be one of {', '.join(WAYS)}, not {way!r}")
    return way == "forkserver" and sys.platform == "linux"


@cache
def forkserver_context() -> BaseContext:
    """The forkserver context with ``PRELOAD`` (the forkserver itself starts on its first use)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


class _ForkserverContext:
    """Stands for ``DagsterApiServer._mp_ctx``: the forkserver context, whatever the server set."""

    def __get__(self, server: Any, owner: type | None = None) -> BaseContext:
        return forkserver_context()

    def __set__(self, server: Any, value: Any) -> None:
        """Dagster assigns its spawn context in ``__init__``: kept out, the forkserver answers."""


def install() -> None:
    """Make every Dagster code server in this process start runs from the forkserver (idempotent)."""
    if not wanted():
        return
    from dagster._grpc.server import DagsterApiServer

    if isinstance(DagsterApiServer.__dict__.get("_mp_ctx"), _ForkserverContext):
        return
    DagsterApiServer._mp_ctx = _ForkserverContext()  # type: ignore[attr-defined]
    if sys.argv[1:3] == ["api", "grpc"]:  # a code server: its first run need not wait for the imports
        threading.Thread(target=_start_forkserver, name="txdagster-forkserver", daemon=True).start()


def _start_forkserver() -> None:
    from multiprocessing import forkserver

    forkserver_context()
    forkserver.ensure_running()
