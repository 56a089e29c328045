"""The source stage's dead letters, for operators: what is there, grouped by error code, and a redrive
back to the inbound queue once the cause is fixed (a schema published, a source corrected).

A redriven message is sent to the inbound queue before it leaves the DLQ, so a failure half way loses
nothing; a message sent twice is harmless, because storing the same transaction again is a replay the
Data API answers with the stored one. Messages that SQS's redrive policy moved after too many failed
attempts carry no error code: they are listed as ``POISON``.

The change batches the stream mapping gave up on wait in their own queue (``redrive_changes``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lambdas.stream_exporter import batch
from txdagster.lake import aws
from txdagster.settings import Settings

POISON = "POISON"
SAMPLES = 3
_VISIBILITY_SECONDS = 60  # a message read here stays invisible to the next receive of the same pass


@dataclass
class CodeSummary:
    count: int = 0
    samples: list[dict[str, str]] = field(default_factory=list)  # error detail, source, a body excerpt


def _dlq_url(settings: Settings) -> str:
    return aws.client("sqs", settings).get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]


def _letters(settings: Settings, url: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every message of the queue at ``url`` once (with its code); each stays invisible for the pass."""
    sqs = aws.client("sqs", settings)
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=_VISIBILITY_SECONDS
        ).get("Messages", [])
        if not messages:
            return
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            yield message, attributes.get("error_code", {}).get("StringValue", POISON)


def _release(settings: Settings, handles: list[str], url: str) -> None:
    sqs = aws.client("sqs", settings)
    for start in range(0, len(handles), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(handles[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def summary(settings: Settings) -> dict[str, CodeSummary]:
    """Error code -> how many dead letters and a few samples; the messages stay in the DLQ."""
    found: dict[str, CodeSummary] = {}
    handles = []
    url = _dlq_url(settings)
    for message, code in _letters(settings, url):
        attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
        entry = found.setdefault(code, CodeSummary())
        entry.count += 1
        if len(entry.samples) < SAMPLES:
            entry.samples.append(
                {
                    "detail": attributes.get("error_detail", "")[:300],
                    "source_system": attributes.get("source_system", ""),
                    "body": message["Body"][:200],
                }
            )
        handles.append(message["ReceiptHandle"])
    _release(settings, handles, url)
    return dict(sorted(found.items()))


def redrive(settings: Settings, code: str | None = None, log: Callable[[str], None] = print) -> int:
    """Move the dead letters (of ``code``, or all) back to the inbound queue; returns how many moved."""
    sqs = aws.client("sqs", settings)
    dlq = _dlq_url(settings)
    inbound = sqs.get_queue_url(QueueName=settings.inbound_queue)["QueueUrl"]
    kept, moved = [], 0
    for message, message_code in _letters(settings, dlq):
        if code is not None and message_code != code:
            kept.append(message["ReceiptHandle"])
            continue
        sqs.send_message(QueueUrl=inbound, MessageBody=message["Body"])  # first: a failure here loses nothing
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        moved += 1
    _release(settings, kept, dlq)
    log(f"{moved} dead letters moved back to {settings.inbound_queue}" + (f" (code {code})" if code else ""))
    return moved


def redrive_changes(settings: Settings, log: Callable[[str], None] = print) -> int:
    """Replay the change batches the stream mapping gave up on (its on-failure queue). Each dead letter
    names a shard and a range of sequence numbers; the records are read again from the stream and
    written to the lake by the stream exporter's own code (the same records give the same key, so a
    replay is harmless). A dead letter leaves the queue only once its records are in the lake; one whose
    records the stream no longer holds (after 24 h) stays, and is named."""
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.cdc_dead_letter_queue)["QueueUrl"]
    s3, streams = aws.client("s3", settings), aws.client("dynamodbstreams", settings)
    kept, replayed = [], 0
    for message, _ in _letters(settings, url):
        info = json.loads(message["Body"])["DDBStreamBatchInfo"]
        records = _stream_range(streams, info)
        if len(records) != int(info["batchSize"]):
            log(
                f"kept: {info['batchSize']} changes of {info['shardId']} from {info['startSequenceNumber']}; the "
                f"stream holds {len(records)} of them now"
            )
            kept.append(message["ReceiptHandle"])
            continue
        batch.write(
            s3,
            settings.lake_bucket,
            settings.cdc_prefix,
            batch.stream_event(records, info["streamArn"], settings.region)["Records"],
        )
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        replayed += 1
    _release(settings, kept, url)
    log(f"{replayed} change batches replayed into s3://{settings.lake_bucket}/{settings.cdc_prefix}")
    return replayed


def _stream_range(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a shard from the start to the end sequence number of ``info``, both included."""
    start, end = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
    except (streams.exceptions.ResourceNotFoundException, streams.exceptions.TrimmedDataAccessException):
        return []  # the stream, or these records, expired
    found: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page.get("Records", []):
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > end:
                return found
            if sequence >= start:
                found.append(record)
        if not page.get("Records"):
            return found
        iterator = page.get("NextShardIterator")
    return found
