"""Start and stop the local stack safely: ``txdagster up`` refuses while a previous stack's processes
live or its ports are taken (naming them), and ``txdagster down`` ends a stack by the PIDs it recorded,
even one whose ``up`` was killed."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from txdagster.local import state

STOP_GRACE_SECONDS = 20


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # an ended child not yet reaped by its parent is a zombie, not a running process
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def recorded_processes() -> dict[str, int]:
    """The processes the recorded stack started that still run: name -> pid."""
    stack = state.read_stack() or {}
    named = {"txdagster up": stack.get("up_pid"), "dagster dev": stack.get("dagster_pid")}
    return {name: pid for name, pid in named.items() if isinstance(pid, int) and alive(pid)}


def port_taken(port: int) -> bool:
    """Whether a program listens on ``port``. Probed as the servers bind (SO_REUSEADDR), so the
    TIME_WAIT connections a stack that just stopped leaves behind do not count."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def port_holder(port: int) -> str | None:
    """``name (pid N)`` of the process listening on ``port`` on this machine, if /proc tells."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc") if inodes else []):
        if any(_link(f"/proc/{pid}/fd/{fd}") in inodes for fd in _entries(f"/proc/{pid}/fd")):
            return f"{_text(f'/proc/{pid}/comm')} (pid {pid})"
    return None


def _entries(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:  # the process ended, or is not ours to look into
        return []


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # a descriptor closed while the folder was read: each one on its own
        return ""


def _text(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return "a process that just ended"


def why_not_up(ui_port: int, emulator_port: int) -> str | None:
    """What stands in the way of a new stack, or None."""
    running = recorded_processes()
    if running:
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in running.items())
        return f"a local stack is running: {listed}; stop it with `txdagster down`"
    taken = [port for port in (ui_port, emulator_port) if port and port_taken(port)]
    if taken:
        held = [f"port {port} is taken by {port_holder(port) or 'another program'}" for port in taken]
        return f"{'; '.join(held)}; free it or choose another with --port"
    return None


def down() -> list[str]:
    """End the recorded stack: Dagster's process group, then the ``up`` process. Returns what was ended."""
    stack = state.read_stack() or {}
    ended = []
    dagster = stack.get("dagster_pid")
    if isinstance(dagster, int) and alive(dagster):
        _end(lambda sig: os.killpg(dagster, sig), lambda: alive(dagster))
        ended.append(f"dagster dev (pid {dagster})")
    up = stack.get("up_pid")
    if isinstance(up, int) and up != os.getpid() and alive(up):
        _end(lambda sig: os.kill(up, sig), lambda: alive(up))
        ended.append(f"txdagster up (pid {up})")
    state.forget_stack()
    return ended


def _end(send, running) -> None:
    try:
        send(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while running() and time.monotonic() < deadline:
            time.sleep(0.2)
        if running():
            send(signal.SIGKILL)
    except ProcessLookupError:
        pass
