"""Observations of the embedded stack that the integration tests assert on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import wait_for
from txdagster.lake import aws
from txdagster.lake.engines import query_engine
from txdagster.local import functions, queues
from txdagster.local.headless import HeadlessDagster
from txdagster.settings import Settings


@contextmanager
def function_environment(settings: Settings, name: str, **changes: str) -> Iterator[None]:
    """Change variables of the deployed function ``<stack>-<name>`` (UpdateFunctionConfiguration), as an
    operator would; the next invocation runs with them. Restored after."""
    lam = aws.client("lambda", settings)
    function_name = f"{settings.stack_name}-{name}"
    before = lam.get_function_configuration(FunctionName=function_name)["Environment"]["Variables"]
    lam.update_function_configuration(FunctionName=function_name, Environment={"Variables": {**before, **changes}})
    functions.forget_configurations()  # else the runtime may use what it read up to a second ago
    try:
        yield
    finally:
        lam.update_function_configuration(FunctionName=function_name, Environment={"Variables": before})
        functions.forget_configurations()


def dlq_messages(settings: Settings) -> dict[str, dict[str, str]]:
    """Body -> message attributes of what is in the DLQ now (messages are left in place)."""
    return queues.peek(settings, settings.dead_letter_queue)


def view_rows(settings: Settings, where: str = "") -> dict[str, dict[str, Any]]:
    table = query_engine(settings).query(f"SELECT * FROM transactions_current {where}")
    return {row["transaction_id"]: row for row in table.to_pylist()}


def until_in_view(
    settings: Settings, orchestrator: HeadlessDagster, predicate, what: str, timeout: float = 60
) -> dict[str, dict[str, Any]]:
    """Run sensor ticks until the view satisfies ``predicate``; returns the view's rows."""

    def probe():
        orchestrator.tick()
        if orchestrator.parity is None:
            return None
        rows = view_rows(settings)
        return rows if predicate(rows) else None

    return wait_for(probe, timeout=timeout, interval=1, what=what)
