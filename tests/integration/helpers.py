"""Observations of the embedded stack that the integration tests assert on."""

from __future__ import annotations

from typing import Any

from tests.conftest import wait_for
from txdagster.lake import aws
from txdagster.lake.engines import query_engine
from txdagster.local.headless import HeadlessDagster
from txdagster.settings import Settings


def dlq_messages(settings: Settings) -> dict[str, dict[str, str]]:
    """Body -> message attributes of what is in the DLQ now (messages are left in place)."""
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    found: dict[str, dict[str, str]] = {}
    for _ in range(4):
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", []):
            found[message["Body"]] = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
    return found


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
