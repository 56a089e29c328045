"""What the command-line tests share: running ``txdagster`` as a newcomer does, and probing processes."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

TXDAGSTER = str(Path(sys.executable).with_name("txdagster"))


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TXDAGSTER, *args], env=env, capture_output=True, text=True, timeout=120)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def serving(port: int) -> bool:
    """Whether a Dagster webserver answers on the port."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).close()
        return True
    except OSError:
        return False


def descendants(root: int) -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of the live processes below ``root`` (Linux's /proc)."""
    from txdagster.local.process_cpu import processes

    table = {pid: (parent, command.strip()) for pid, (parent, command, _) in processes().items()}
    found: dict[int, tuple[int, str]] = {}
    parents = {root}
    while parents:
        children = {pid for pid, (parent, _) in table.items() if parent in parents and pid not in found}
        found.update({pid: table[pid] for pid in children})
        parents = children
    return found
