"""Shared fixtures: one embedded AWS stack per test session (moto server over real HTTP)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

T = TypeVar("T")

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

#: The files that take longest (seconds of one worker, measured with ``--durations=0`` on 2026-12-04),
#: heaviest first. ``make test`` hands whole files to its workers in collection order
#: (``--dist loadfile --no-loadscope-reorder``): starting the long ones first keeps one of them from
#: being the last file of a worker that is otherwise done. A file not listed runs after these.
SLOWEST_FILES = (
    "tests/e2e/test_cli.py",  # 155 s: one `txdagster up`, the UI in chromium
    "tests/integration/test_ledger.py",  # 139 s
    "tests/integration/test_compaction.py",  # 134 s
    "tests/e2e/test_cli_lifecycle.py",  # 103 s: the demo, a reset
    "tests/integration/test_openapi.py",  # 95 s: schemathesis
    "tests/integration/test_source_stage.py",  # 89 s
    "tests/integration/test_lake.py",  # 64 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def weight(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return SLOWEST_FILES.index(path) if path in SLOWEST_FILES else len(SLOWEST_FILES)

    items.sort(key=weight)  # stable: a file's tests keep their order


def wait_for(probe: Callable[[], T], timeout: float = 60, interval: float = 0.5, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        time.sleep(interval)
        last = probe()
    return last


@pytest.fixture(scope="session")
def stack() -> Iterator[object]:
    from txdagster.local.stack import LocalStack

    local = LocalStack()
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def settings(stack):
    return stack.settings
