"""SQS -> validate against the registry -> Data API. Rejections go to the DLQ; transient errors retry."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdas.source_validator.classify import Accepted, Rejection, classify
from lambdas.source_validator.data_api_client import create_transaction
from lambdas.source_validator.rejections import logger, metrics, reject

processor = BatchProcessor(event_type=EventType.SQS)


def process_message(body: str, message_id: str) -> str:
    """Handle one message; returns the outcome. Raises only for failures worth an SQS retry."""
    outcome = classify(body)
    if isinstance(outcome, Rejection):
        reject(body, message_id, outcome)
        return "rejected"
    if outcome.deprecated:  # accepted as ever; the metric names who still sends it
        with single_metric(name="DeprecatedSchemaMessages", unit=MetricUnit.Count, value=1,
                           namespace=metrics.namespace) as metric:  # fmt: skip
            metric.add_dimension(name="source_system", value=outcome.source_system)
            metric.add_dimension(name="schema_version", value=str(outcome.schema_version))
    response = create_transaction(outcome.record, correlation_id=message_id)
    if response.status in (200, 201):
        metrics.add_metric(name="AcceptedMessages", unit=MetricUnit.Count, value=1)
        return "stored"
    reject(body, message_id, _api_rejection(outcome, response.status, response.body))
    return "rejected"


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
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_record_handler, processor=processor, context=context)
