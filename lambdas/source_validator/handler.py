"""SQS -> validate against the registry -> Data API. Rejections go to the DLQ; transient errors retry.

A batch's messages are stored ``CONCURRENT_CALLS`` at a time: an invocation mostly waits for the Data
API, so ten messages one after the other took ten round trips (a hundred messages a second needed ten
invocations in flight). The messages of one transaction stay in their order, one after the other: a
state and its update in one batch are applied as they came.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdas.source_validator.classify import Accepted, Rejection, classify
from lambdas.source_validator.data_api_client import (
    TransientApiError,
    create_transaction,
    get_transaction,
    update_transaction,
)
from lambdas.source_validator.rejections import logger, metrics, reject

UPDATE_ATTEMPTS = 3
CONCURRENT_CALLS = 4
_metrics_lock = threading.Lock()  # Powertools' metric set is shared: one add at a time


def _count(name: str) -> None:
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor, with the batch's transactions worked on concurrently (each in a
    copy of the invocation's context, so its logs are the invocation's) and each transaction's messages
    in order; the partial batch response is the same."""

    def process(self) -> list[tuple[Any, ...]]:
        groups: dict[str, list[int]] = {}
        for index, record in enumerate(self.records):
            groups.setdefault(_transaction_of(record), []).append(index)
        results: list[Any] = [None] * len(self.records)

        def run(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = self._process_record(self.records[index])

        with ThreadPoolExecutor(max_workers=CONCURRENT_CALLS) as pool:
            done = [pool.submit(contextvars.copy_context().run, run, indexes) for indexes in groups.values()]
            for future in done:
                future.result()
        return results


def _transaction_of(record: dict[str, Any]) -> str:
    """The transaction a message is about (its message id when it has none: a rejection)."""
    outcome = classify(str(record.get("body", "")))
    return (
        str(outcome.record["transaction_id"]) if isinstance(outcome, Accepted) else f"message:{record.get('messageId')}"
    )


def process_message(body: str, message_id: str) -> str:
    """Handle one message; returns the outcome. Raises only for failures worth an SQS retry."""
    outcome = classify(body)
    if isinstance(outcome, Rejection):
        reject(body, message_id, outcome)
        return "rejected"
    if outcome.deprecated:  # accepted as ever; the metric names who still sends it
        with single_metric(
            name="DeprecatedSchemaMessages", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="source_system", value=outcome.source_system)
            metric.add_dimension(name="schema_version", value=str(outcome.schema_version))
    response = create_transaction(outcome.record, correlation_id=message_id)
    if response.status in (200, 201):
        _count("AcceptedMessages")
        return "stored"
    if response.status == 409 and outcome.ordering:  # stored with other content: a newer or older state
        return _update(body, message_id, outcome)
    reject(body, message_id, _api_rejection(outcome, response.status, response.body))
    return "rejected"


def _position(record: dict[str, Any], field: str, rank: dict[str, int]) -> tuple[Any, int]:
    """Where a state of a transaction sits: its ``field`` value, then its status's lifecycle tier."""
    value = record.get(field)
    if field in ("event_time", "ingested_at"):
        value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value, rank.get(str(record.get("status")), -1)


def _why_stale(accepted: Accepted, stored: dict[str, Any]) -> str | None:
    """None when the message's state is newer than the stored one: a later ``ordering`` time, or the same
    time and a later tier of the source's lifecycle (captured, then refunded in the same millisecond).
    Otherwise why it is not, for the dead-letter queue."""
    field, rank = accepted.ordering or "event_time", accepted.state_rank or {}
    (mine, my_tier), (theirs, their_tier) = (_position(r, field, rank) for r in (accepted.record, stored))
    if mine > theirs or (mine == theirs and my_tier > their_tier):
        return None
    tid, status = accepted.record["transaction_id"], accepted.record.get("status")
    held = f"{tid} is stored at version {stored.get('version')} with {field} {theirs} and status {stored.get('status')}"
    if mine < theirs:
        return f"{held}; this message's {field} {mine} (status {status}) is older"
    return f"{held}; this message has the same {field}, and its status {status} does not come later in the lifecycle"


def _update(body: str, message_id: str, accepted: Accepted) -> str:
    """Apply a source's newer state as the next version (If-Match); an older or equal one is a dead letter
    (STALE_UPDATE, with the stored state in its reason) and counted."""
    record = accepted.record
    for _ in range(UPDATE_ATTEMPTS):
        current = get_transaction(record["transaction_id"], correlation_id=message_id)
        if current.status == 404:  # deleted meanwhile: store it afresh
            created = create_transaction(record, correlation_id=message_id)
            if created.status in (200, 201):
                return "stored"
            continue
        if current.status != 200:
            reject(body, message_id, _api_rejection(accepted, current.status, current.body))
            return "rejected"
        stale = _why_stale(accepted, current.body)
        if stale is not None:
            with single_metric(
                name="StaleUpdates", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
            ) as metric:
                metric.add_dimension(name="source_system", value=accepted.source_system)
            reject(
                body,
                message_id,
                Rejection("STALE_UPDATE", stale, accepted.source_system, str(accepted.schema_version)),
            )
            return "stale"
        updated = update_transaction(record, int(current.body["version"]), correlation_id=message_id)
        if updated.status == 200:
            _count("UpdatedMessages")
            return "updated"
        if updated.status != 412:  # 412: another update came first; read again
            reject(body, message_id, _api_rejection(accepted, updated.status, updated.body))
            return "rejected"
    raise TransientApiError(f"{record['transaction_id']}: updated by others {UPDATE_ATTEMPTS} times meanwhile")


def _api_rejection(accepted: Accepted, status: int, body: dict[str, Any]) -> Rejection:
    detail = body.get("detail") or body.get("title") or body.get("message") or str(body)
    return Rejection(
        "API_CONFLICT" if status == 409 else "API_REJECTED",
        f"Data API answered {status}: {detail}",
        accepted.source_system,
        str(accepted.schema_version),
    )


def _record_handler(record: SQSRecord) -> str:
    return process_message(record.body, record.message_id)


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="Records[0].messageId")
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    processor = ConcurrentBatchProcessor(event_type=EventType.SQS)  # one per invocation: it holds the batch
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
