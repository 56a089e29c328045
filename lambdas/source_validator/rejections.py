"""Where rejected messages go: the DLQ with the reason attached, an EMF metric and an SNS alert."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambdas.common import aws
from lambdas.common.config import setting
from lambdas.source_validator.classify import Rejection

logger = Logger(service="source_validator")
metrics = Metrics(namespace=setting("metrics_namespace", "txdagster"), service="source_validator")


def _queue_url(name: str) -> str:
    return aws.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


def reject(body: str, message_id: str, rejection: Rejection) -> None:
    """Send the original body to the DLQ with the reason as message attributes, count it, alert."""
    attributes = {
        "error_code": rejection.code,
        "error_detail": rejection.detail[:1000],
        "source_system": rejection.source_system,
        "schema_version": rejection.schema_version,
        "original_message_id": message_id,
    }
    aws.client("sqs").send_message(
        QueueUrl=_queue_url(setting("dead_letter_queue")),
        MessageBody=body,
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    with single_metric(name="RejectedMessages", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="error_code", value=rejection.code)
        metric.add_dimension(name="source_system", value=rejection.source_system)
    with single_metric(name="RejectedMessages", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="service", value="source_validator")  # the total, which the template alarms on
    aws.client("sns").publish(
        TopicArn=setting("alerts_topic_arn"),
        Subject=f"txdagster: message rejected ({rejection.code})"[:100],
        Message=json.dumps(attributes),
        MessageAttributes={"error_code": {"DataType": "String", "StringValue": rejection.code}},
    )
    logger.warning("message rejected", extra=attributes)
