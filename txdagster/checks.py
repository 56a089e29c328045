"""Checks that look across stages: is every change batch ingested within its time budget?

A change batch counts as ingested once ``transaction_changes`` wrote its Parquet file or its
quarantine file (both named from the batch's key), so the answer needs no Dagster state.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime, timedelta

from txdagster.assets.lake import CDC_PREFIX
from txdagster.ingest.pipeline import output_stem
from txdagster.lake import aws
from txdagster.lake.listing import day_prefixes, objects
from txdagster.settings import Settings

TABLE = "transaction_changes"
LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class IngestionLag:
    waiting: list[str]  # batches older than the budget with no output yet
    oldest_waiting_minutes: float


def _produced_stems(s3, bucket: str, dt: str) -> set[str]:
    stems = set()
    for area in ("curated", "quarantine"):
        for key, _ in objects(s3, bucket, f"{area}/{TABLE}/dt={dt}/"):
            stems.add(posixpath.basename(key).rsplit(".", 1)[0])
    return stems


def ingestion_lag(settings: Settings, now: datetime, budget: timedelta) -> IngestionLag:
    s3 = aws.client("s3", settings)
    since = (now - LOOKBACK).date().isoformat()
    waiting: list[tuple[str, datetime]] = []
    for dt, day_prefix in day_prefixes(s3, settings.lake_bucket, CDC_PREFIX, since):
        produced = _produced_stems(s3, settings.lake_bucket, dt)
        waiting += [
            (key, modified)
            for key, modified in objects(s3, settings.lake_bucket, day_prefix)
            if modified < now - budget and output_stem(key) not in produced
        ]
    oldest = max(((now - modified).total_seconds() / 60 for _, modified in waiting), default=0.0)
    return IngestionLag(waiting=sorted(key for key, _ in waiting), oldest_waiting_minutes=round(oldest, 1))
