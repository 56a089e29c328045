"""Shared fixtures: one embedded AWS stack per test session (moto server over real HTTP)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

T = TypeVar("T")

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

#: The files that take longest (seconds of one worker, measured with ``--durations=0`` on 2026-12-05),
#: heaviest first. ``make test`` hands whole files to its workers in collection order
#: (``--dist loadfile --no-loadscope-reorder``): starting the long ones first keeps one of them from
#: being the last file of a worker that is otherwise done. A file not listed runs after these.
SLOWEST_FILES = (
    "tests/integration/test_ledger.py",  # 217 s: a killed run, queries during ingestion, outages
    "tests/e2e/test_cli.py",  # 155 s: one `txdagster up`, the UI in chromium
    "tests/e2e/test_cli_lifecycle.py",  # 150 s: the demo, a reset under traffic
    "tests/integration/test_follow.py",  # 87 s: a handover, a killed follower
    "tests/integration/test_source_stage.py",  # 83 s
    "tests/integration/test_compaction.py",  # 82 s
    "tests/integration/test_openapi.py",  # 69 s: schemathesis
    "tests/integration/test_current.py",  # 41 s
    "tests/integration/test_stream_mapping.py",  # 40 s
    "tests/integration/test_infra.py",  # 39 s: cfn-lint and checkov
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

    local = LocalStack(emulator_process=False)  # starts sooner; the suite's workers share the cores anyway
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def settings(stack):
    return stack.settings
