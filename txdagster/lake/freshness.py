"""Is every change batch ingested within its time budget? The ledger answers (done or poisoned: it
has found its place); the listing of the last day says what exists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from txdagster.lake import aws
from txdagster.lake.ledger import DONE, POISONED, Ledger
from txdagster.lake.listing import objects_since
from txdagster.settings import Settings

LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class IngestionLag:
    waiting: list[str]  # batches older than the budget that are not done yet
    oldest_waiting_minutes: float


def ingestion_lag(settings: Settings, now: datetime, budget: timedelta) -> IngestionLag:
    s3 = aws.client("s3", settings)
    since = (now - LOOKBACK).date().isoformat()
    old = [
        o
        for o in objects_since(s3, settings.lake_bucket, settings.cdc_prefix, since)
        if o.last_modified is not None and o.last_modified < now - budget
    ]
    entries = Ledger(settings).get_many(settings.lake_bucket, [o.key for o in old])
    waiting = [o for o in old if o.key not in entries or entries[o.key].state not in (DONE, POISONED)]
    ages = [(now - o.last_modified).total_seconds() / 60 for o in waiting if o.last_modified is not None]
    oldest = max(ages, default=0.0)
    return IngestionLag(waiting=sorted(o.key for o in waiting), oldest_waiting_minutes=round(oldest, 1))
