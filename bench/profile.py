"""Where the road's time goes: one run of the road per input under py-spy (its samples of every thread,
waits left out), summed per thread and per function, written as Markdown (``make bench`` stores it
in ``.local/bench-profile.md``; docs/bench/ keeps the profiles the issues cite).

py-spy slows the road by a third to a half; the figures say where the time goes, not how long it is.
Without py-spy (or without the right to trace a process, as in some containers) the profile is a line
that says so, and the bench goes on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

RATE = 250  # samples a second, per thread
TOP = 12
#: Leaves where a thread waits (py-spy counts a thread blocked in C as busy when it cannot tell)
WAITS = ("Condition.wait (", "_worker (concurrent/futures/thread.py)", "Thread.join (", "Queue.get (", "Event.wait (")
_LINE = re.compile(r":\d+\)$")


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def summary(raw: str, rate: int = RATE, timed: str = "road_run (", main: str = "_run_module_as_main (") -> str:
    """py-spy's raw samples (``thread (id): name;frame;...;leaf count`` a line) as Markdown: busy time
    per thread, then the functions with the most samples of their own and all told. The main thread's
    samples count only inside the timed call (``timed``: not the imports before it); a sample waiting
    (``WAITS``) does not count."""
    busy: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    per_thread: dict[str, Counter[str]] = defaultdict(Counter)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        thread, *frames = stack.split(";")
        functions = [_LINE.sub(")", f) for f in frames]
        on_main = any(f.startswith(main) for f in functions)
        if (on_main and not any(f.startswith(timed) for f in functions)) or (
            functions and functions[-1].startswith(WAITS)
        ):
            continue
        name = "MainThread" if on_main else thread.split(": ", 1)[-1]
        busy[name] += int(count)
        if functions:
            own[functions[-1]] += int(count)
            per_thread[name][functions[-1]] += int(count)
        for f in set(functions):
            inclusive[f] += int(count)
    total = sum(busy.values())
    lines = [f"{total} busy samples at {rate} Hz (waits left out)", "", "| thread | busy s | its top function |"]
    lines.append("|---|---|---|")
    for name, count in busy.most_common():
        top = per_thread[name].most_common(1)
        lines.append(f"| {name} | {count / rate:.2f} | {top[0][0] if top else ''} |")
    for title, counter in (("Own samples", own), ("All told (with what it calls)", inclusive)):
        lines += ["", f"{title}, top {TOP}:", "", "```"]
        lines += [f"{n:>6} {100 * n / max(total, 1):5.1f}%  {f}" for f, n in counter.most_common(TOP)]
        lines.append("```")
    return "\n".join(lines)


def profile(kind: str, source: Path, folder: Path) -> str:
    """The road's run on ``source`` profiled, as a Markdown section."""
    spy = _py_spy()
    if spy is None:
        return f"### {kind}\n\nnot profiled: py-spy is not installed"
    with tempfile.TemporaryDirectory(prefix="txd-profile-", dir=folder) as work:
        raw = Path(work, "samples.txt")
        road = [sys.executable, "-m", "bench.approaches", "road", kind, str(source), str(Path(work, "out"))]
        done = subprocess.run(
            [spy, "record", "-r", str(RATE), "-f", "raw", "--threads", "-o", str(raw), "--", *road],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        if done.returncode or not raw.exists():
            reason = (done.stderr.strip().splitlines() or ["no samples"])[-1]
            return f"### {kind}\n\nnot profiled: py-spy failed ({reason[:300]})"
        return f"### {kind}\n\n{summary(raw.read_text())}"
