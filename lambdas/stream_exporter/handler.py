"""DynamoDB Streams -> change batches under the lake's cdc prefix (``TXD_CDC_PREFIX``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from lambdas.common import aws
from lambdas.common.config import setting
from lambdas.stream_exporter.batch import write

logger = Logger(service="stream_exporter")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    if not records:
        return {"written": None, "records": 0}
    key = write(aws.client("s3"), setting("lake_bucket"), setting("cdc_prefix"), records)
    logger.info("change batch written", extra={"key": key, "records": len(records)})
    return {"written": key, "records": len(records)}
