"""The source stage's dead letters, for operators: what is there, grouped by error code, and a redrive
back to the inbound queue once the cause is fixed (a schema published, a source corrected).

A redriven message is sent to the inbound queue before it leaves the DLQ, so a failure half way loses
nothing; a message sent twice is harmless, because storing the same transaction again is a replay the
Data API answers with the stored one. Messages that SQS's redrive policy moved after too many failed
attempts carry no error code: they are listed as ``POISON``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from txdagster.lake import aws
from txdagster.settings import Settings

POISON = "POISON"
SAMPLES = 3
_VISIBILITY_SECONDS = 60  # a message read here stays invisible to the next receive of the same pass


@dataclass
class CodeSummary:
    count: int = 0
    samples: list[dict[str, str]] = field(default_factory=list)  # error detail, source, a body excerpt


def _letters(settings: Settings) -> Iterator[tuple[dict[str, Any], str]]:
    """Every message of the DLQ once (with its code); each stays invisible for the pass."""
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                       VisibilityTimeout=_VISIBILITY_SECONDS).get("Messages", [])  # fmt: skip
        if not messages:
            return
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            yield message, attributes.get("error_code", {}).get("StringValue", POISON)


def _release(settings: Settings, handles: list[str]) -> None:
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    for start in range(0, len(handles), 10):
        entries = [{"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                   for i, h in enumerate(handles[start : start + 10])]  # fmt: skip
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


def summary(settings: Settings) -> dict[str, CodeSummary]:
    """Error code -> how many dead letters and a few samples; the messages stay in the DLQ."""
    found: dict[str, CodeSummary] = {}
    handles = []
    for message, code in _letters(settings):
        attributes = {k: v.get("StringValue", "") for k, v in message.get("MessageAttributes", {}).items()}
        entry = found.setdefault(code, CodeSummary())
        entry.count += 1
        if len(entry.samples) < SAMPLES:
            entry.samples.append({"detail": attributes.get("error_detail", "")[:300],
                                  "source_system": attributes.get("source_system", ""),
                                  "body": message["Body"][:200]})  # fmt: skip
        handles.append(message["ReceiptHandle"])
    _release(settings, handles)
    return dict(sorted(found.items()))


def redrive(settings: Settings, code: str | None = None, log: Callable[[str], None] = print) -> int:
    """Move the dead letters (of ``code``, or all) back to the inbound queue; returns how many moved."""
    sqs = aws.client("sqs", settings)
    dlq = sqs.get_queue_url(QueueName=settings.dead_letter_queue)["QueueUrl"]
    inbound = sqs.get_queue_url(QueueName=settings.inbound_queue)["QueueUrl"]
    kept, moved = [], 0
    for message, message_code in _letters(settings):
        if code is not None and message_code != code:
            kept.append(message["ReceiptHandle"])
            continue
        sqs.send_message(QueueUrl=inbound, MessageBody=message["Body"])  # first: a failure here loses nothing
        sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        moved += 1
    _release(settings, kept)
    log(f"{moved} dead letters moved back to {settings.inbound_queue}" + (f" (code {code})" if code else ""))
    return moved
