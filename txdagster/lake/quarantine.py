"""Whole objects the lake gives up on: one quarantine line naming the object and why, and an alert.

Two kinds reach here: a *poisoned* object (it failed every attempt) and a *misplaced* one (its ``dt=``
folder is no calendar day, or a day before the lake's first; no run could give its rows a partition).
Both are recorded in the ledger as ``poisoned`` with the reason, counted in the ``PoisonedLakeObjects``
metric and alerted on the topic; ``txdagster trace`` shows the reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from txdagster.ingest.rows import Reject
from txdagster.ingest.write import quarantine_line
from txdagster.lake import aws, layout
from txdagster.lake.ledger import Entry, Ledger
from txdagster.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def quarantine_whole(s3: S3Client, entry: Entry, reason: str) -> str:
    """Write the object's one quarantine line (row 0: the whole object) under its table and ``entry.dt``."""
    key = layout.quarantine_key(entry.table, entry.dt, entry.key, entry.etag)
    line = quarantine_line(Reject(entry.key, 0, reason, None))
    s3.put_object(Bucket=entry.bucket, Key=key, Body=(line + "\n").encode())
    return key


def alert(settings: Settings, subject: str, event: dict[str, Any]) -> None:
    """Publish ``event`` on the alerts topic, when one is configured."""
    if settings.alerts_topic_arn:
        aws.client("sns", settings).publish(
            TopicArn=settings.alerts_topic_arn, Subject=subject[:100], Message=json.dumps(event)
        )


def quarantine_misplaced(settings: Settings, entry: Entry, reason: str, now: float) -> bool:
    """Quarantine an object that sits under no usable day, once per content (False: already done)."""
    s3 = aws.client("s3", settings)
    ledger = Ledger(settings)
    known = ledger.get(entry.bucket, entry.key)
    if known is not None and known.etag == entry.etag:
        return False
    quarantined = quarantine_whole(s3, entry, reason)
    if not ledger.mark_misplaced(entry, now, reason, [quarantined]):
        return False
    alert(
        settings,
        f"txdagster: {entry.table} object misplaced",
        {"event": "lake_object_misplaced", "object": entry.object, "etag": entry.etag, "error": reason},
    )
    return True
