"""DynamoDB Streams -> change batches under the lake's cdc prefix (``TXD_CDC_PREFIX``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from lambdas.common import aws
from lambdas.common.config import setting
from lambdas.stream_exporter.batch import batch_key, change_lines, encode

logger = Logger(service="stream_exporter")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    if not records:
        return {"written": None, "records": 0}
    lines = change_lines(records)
    key = batch_key(setting("cdc_prefix"), records, lines)
    aws.client("s3").put_object(
        Bucket=setting("lake_bucket"),
        Key=key,
        Body=encode(lines),
        ContentType="application/x-ndjson",
        ContentEncoding="gzip",
    )
    logger.info("change batch written", extra={"key": key, "records": len(lines)})
    return {"written": key, "records": len(lines)}
