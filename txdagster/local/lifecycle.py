"""Start and stop the local stack safely: ``txdagster up`` refuses while a previous stack's processes
live or its ports are taken (naming them), and ``txdagster down`` ends a stack by the PIDs it recorded,
even one whose ``up`` was killed."""

from __future__ import annotations

import os
import signal
import socket
import time

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
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def why_not_up(ui_port: int, emulator_port: int) -> str | None:
    """What stands in the way of a new stack, or None."""
    running = recorded_processes()
    if running:
        listed = ", ".join(f"{name} (pid {pid})" for name, pid in running.items())
        return f"a local stack is running: {listed}; stop it with `txdagster down`"
    taken = [str(port) for port in (ui_port, emulator_port) if port and port_taken(port)]
    if taken:
        return f"port {' and '.join(taken)} is taken by another program; free it or choose another with --port"
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
