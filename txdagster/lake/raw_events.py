"""The lake bucket's ObjectCreated events under ``raw/`` (``RawEventsQueue`` in infra/template.yaml): how
the raw sensor sees a file dropped into any day, however old, without listing that day.

Listing stays, as the backstop for the open days (an event lost or not yet delivered). Events are at
least once and may come out of order: the ledger, which registers an object once per ETag, makes a
repeated event harmless. A message is deleted only after the tick registered its objects in the ledger,
so a tick that dies leaves them to the next one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote_plus

from txdagster.lake import aws, layout
from txdagster.lake.listing import Listed, is_data_key
from txdagster.settings import Settings

RECEIVES_PER_TICK = 10  # of up to 10 messages each: a tick takes at most 100 events, the next the rest
VISIBILITY_SECONDS = 60  # a tick that dies gives its messages back after this


@dataclass
class Drained:
    """What one tick took from the queue: the objects it names, and the messages to delete once they are
    registered."""

    url: str = ""
    objects: list[Listed] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)


def _object(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: a message's shape is not trusted."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def objects_of(body: str, bucket: str, prefix: str) -> list[Listed]:
    """The objects an S3 event message names under ``prefix`` (S3's test event and others name none)."""
    try:
        event = _object(json.loads(body))
    except ValueError:
        return []
    records: Any = event.get("Records")
    found: list[Listed] = []
    for item in cast("list[Any]", records) if isinstance(records, list) else []:
        record = _object(item)
        s3 = _object(record.get("s3"))
        if not s3 or not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        if _object(s3.get("bucket")).get("name") != bucket:
            continue
        named = _object(s3.get("object"))
        key = unquote_plus(str(named.get("key", "")))  # S3 sends keys URL-encoded
        if key.startswith(prefix) and is_data_key(key):
            found.append(Listed(key, str(named.get("eTag", "")).strip('"'), layout.day_of(key) or ""))
    return found


def drain(settings: Settings, prefix: str) -> Drained:
    """Receive what the queue holds now (without waiting), up to ``RECEIVES_PER_TICK`` receives."""
    sqs = aws.client("sqs", settings)
    drained = Drained(url=sqs.get_queue_url(QueueName=settings.raw_events_queue)["QueueUrl"])
    for _ in range(RECEIVES_PER_TICK):
        messages = sqs.receive_message(
            QueueUrl=drained.url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=VISIBILITY_SECONDS
        ).get("Messages", [])
        for message in messages:
            drained.receipts.append(message["ReceiptHandle"])
            drained.objects.extend(objects_of(message.get("Body", ""), settings.lake_bucket, prefix))
        if len(messages) < 10:
            break
    return drained


def acknowledge(settings: Settings, drained: Drained) -> None:
    """Delete the drained messages (their objects are registered in the ledger now)."""
    sqs = aws.client("sqs", settings)
    for start in range(0, len(drained.receipts), 10):
        chunk = drained.receipts[start : start + 10]
        sqs.delete_message_batch(
            QueueUrl=drained.url, Entries=[{"Id": str(n), "ReceiptHandle": r} for n, r in enumerate(chunk)]
        )
