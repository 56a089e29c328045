"""Runs start from a forkserver that has the code imported (defs/run_starter.py): checked against the
pinned Dagster's gRPC server, whose ``StartRun`` must still take its processes from ``self._mp_ctx``."""

from __future__ import annotations

import inspect
import multiprocessing
import os
import subprocess
import sys

from dagster._grpc.server import DagsterApiServer

from txdagster.defs import run_starter


def test_dagster_starts_a_run_through_the_context_the_starter_answers():
    assert "self._mp_ctx.Process(" in inspect.getsource(DagsterApiServer.StartRun)
    run_starter.install()
    server = DagsterApiServer.__new__(DagsterApiServer)
    server._mp_ctx = multiprocessing.get_context("spawn")  # as DagsterApiServer.__init__ does
    assert server._mp_ctx.get_start_method() == "forkserver"
    assert "txdagster.definitions" in run_starter.PRELOAD


def _start_method_in_a_fresh_process(way: str) -> subprocess.CompletedProcess:
    program = (
        "from dagster._grpc.server import DagsterApiServer\n"
        "from txdagster.defs import run_starter\n"
        "run_starter.install()\n"
        "print(type(DagsterApiServer.__dict__.get('_mp_ctx')).__name__)\n"
    )
    env = {**os.environ, "TXD_RUN_START": way}
    return subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60)


def test_txd_run_start_spawn_leaves_dagster_its_own_way():
    result = _start_method_in_a_fresh_process("spawn")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "NoneType"


def test_an_unknown_txd_run_start_is_refused_by_name():
    result = _start_method_in_a_fresh_process("threads")
    assert result.returncode != 0
    assert "TXD_RUN_START must be one of forkserver, spawn, not 'threads'" in result.stderr
