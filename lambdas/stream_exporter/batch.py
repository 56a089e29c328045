"""DynamoDB stream records -> one gzip JSON-lines change batch with a deterministic S3 key.

A retried invocation sees the same records and so writes the same key: at-least-once delivery,
exactly-once in effect.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from typing import Any

SEQUENCE_DIGITS = 40


def pad_sequence(sequence_number: str) -> str:
    """Stream sequence numbers are 21-40 digits: pad so that text order is numeric order."""
    return sequence_number.zfill(SEQUENCE_DIGITS)


def _stream_label(event_source_arn: str) -> str:
    # arn:aws:dynamodb:region:account:table/NAME/stream/LABEL -> LABEL, safe for a key
    label = event_source_arn.rsplit("/stream/", 1)[-1]
    return "".join(ch if ch.isalnum() else "-" for ch in label)


def change_lines(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for record in records:
        ddb = record["dynamodb"]
        lines.append(
            {
                "event_id": record["eventID"],
                "event_name": record["eventName"],
                "sequence_number": pad_sequence(ddb["SequenceNumber"]),
                "approximate_creation_time": float(ddb["ApproximateCreationDateTime"]),
                "keys": ddb["Keys"],
                "new_image": ddb.get("NewImage"),
                "old_image": ddb.get("OldImage"),
            }
        )
    lines.sort(key=lambda line: line["sequence_number"])
    return lines


def batch_key(prefix: str, records: list[dict[str, Any]], lines: list[dict[str, Any]]) -> str:
    """``<prefix>dt=YYYY-MM-DD/<stream>/<first_seq>-<last_seq>.jsonl.gz``, dt from the first change.

    Lambda events do not name the shard; sequence numbers are unique within a stream, so the stream
    label stands in the shard's place.
    """
    first_time = datetime.fromtimestamp(lines[0]["approximate_creation_time"], tz=UTC)
    stream = _stream_label(records[0].get("eventSourceARN", "stream"))
    return (
        f"{prefix.rstrip('/')}/dt={first_time:%Y-%m-%d}/{stream}/"
        f"{lines[0]['sequence_number']}-{lines[-1]['sequence_number']}.jsonl.gz"
    )


def encode(lines: list[dict[str, Any]]) -> bytes:
    text = "".join(json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n" for line in lines)
    return gzip.compress(text.encode(), mtime=0)


def write(s3: Any, bucket: str, prefix: str, records: list[dict[str, Any]]) -> str:
    """Write the change batch of ``records`` (Lambda's stream event records) to the lake; its key.
    The same records always give the same key, so writing them again is harmless."""
    lines = change_lines(records)
    key = batch_key(prefix, records, lines)
    s3.put_object(
        Bucket=bucket, Key=key, Body=encode(lines), ContentType="application/x-ndjson", ContentEncoding="gzip"
    )
    return key


def stream_event(records: list[dict[str, Any]], stream_arn: str, region: str) -> dict[str, Any]:
    """Records read with GetRecords as the Lambda receives them from its stream mapping (the local
    stack's poller, and a redrive of dead-lettered batches). boto3 gives ApproximateCreationDateTime as a
    datetime; Lambda events carry epoch seconds."""
    out = []
    for record in records:
        ddb = dict(record["dynamodb"])
        created = ddb.get("ApproximateCreationDateTime")
        ddb["ApproximateCreationDateTime"] = created.timestamp() if isinstance(created, datetime) else created
        out.append(
            {
                "eventID": record["eventID"],
                "eventName": record["eventName"],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": ddb,
                "eventSourceARN": stream_arn,
            }
        )
    return {"Records": out}
