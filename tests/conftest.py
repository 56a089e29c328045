"""Shared fixtures: one embedded AWS stack per test session (moto server over real HTTP)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

T = TypeVar("T")

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


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
