"""The CPU each part of a local stack uses, from /proc: the emulator, Dagster's daemon, code server,
webserver and runs, and the caller's own process (the bench's threads and the Lambda runtime). For
``txdagster bench flow``: what grows when freshness does."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: Which part a process is, from the start of its command line (the first that matches: later arguments
#: such as Dagster's instance reference name other parts), after the run processes (children of the code
#: server's forkserver, with its command line) and the caller's own.
PARTS = (
    ("txdagster.local.emulator", "emulator"),
    ("forkserver", "forkserver"),
    ("dagster._daemon", "daemon"),
    ("dagster-daemon", "daemon"),
    ("webserver", "webserver"),
    ("grpc", "code server"),
    ("code-server", "code server"),
    (" dev ", "dagster dev"),
)
COMMAND_START = 100
TICKS = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, command line, CPU ticks used: user + system) of every process readable."""
    found: dict[int, tuple[int, str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) ": state, ppid, ...
        found[int(entry.name)] = (int(fields[1]), f" {command} ", int(fields[11]) + int(fields[12]))
    return found


def part_of(pid: int, processes: dict[int, tuple[int, str, int]], own: int) -> str:
    if pid == own:
        return "bench and Lambdas"
    parent, command, _ = processes[pid]
    if "forkserver" in command and parent in processes and "forkserver" in processes[parent][1]:
        return "runs"
    start = command[:COMMAND_START]
    return next((name for needle, name in PARTS if needle in start), "other")


class ProcessCpu:
    """The CPU (percent of one core) of each part of the caller's process tree between two readings."""

    def __init__(self, root: int | None = None) -> None:
        self.root = root or os.getpid()
        self.last: dict[int, int] = {}
        self.at = time.monotonic()
        self.percent()

    def _tree(self, processes: dict[int, tuple[int, str, int]]) -> list[int]:
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in processes.items():
            children.setdefault(parent, []).append(pid)
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            if pid in processes:
                tree.append(pid)
                todo.extend(children.get(pid, []))
        return tree

    def percent(self) -> dict[str, float]:
        found, now = processes(), time.monotonic()
        elapsed, self.at = max(now - self.at, 1e-6), now
        used: dict[str, float] = {}
        ticks: dict[int, int] = {}
        for pid in self._tree(found):
            ticks[pid] = found[pid][2]
            spent = ticks[pid] - self.last.get(pid, ticks[pid] if not self.last else 0)
            part = part_of(pid, found, self.root)
            used[part] = used.get(part, 0.0) + spent
        self.last = ticks
        return {part: round(100.0 * spent / TICKS / elapsed, 1) for part, spent in sorted(used.items())}
