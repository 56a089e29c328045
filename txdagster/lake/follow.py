"""A real-time ingest run that stays a while: after its own batch, an ``ingest_changes`` run that its
sensor launched keeps taking the change batches that land in its day, as they land, for up to
``TXD_INGEST_FOLLOW_SECONDS`` (at most a third of the lease; 0 turns it off).

Why: starting a run costs time (forked from the code server's forkserver about 0.5 s here,
``defs/run_starter.py``; a fresh interpreter 7 s; a Fargate task 30-60 s), and the sensor waits while a run is in flight, so with one run per tick the
lake's freshness is a tick, a launch and a batch. A run that follows takes a new batch within
``POLL_SECONDS`` of its landing, still one run in flight per table.

Each poll lists the day folder after the newest key seen (``StartAfter``: the exporter's keys grow with
the stream's sequence numbers) and registers what it finds in the ledger under a batch of the run's
own, exactly as the sensor would; the ledger refuses content it already knows, so the sensor, which
lists the day again on its next tick, hands none of it out twice. An object the run does not see (a
key sorting before the newest one) is the sensor's to hand out, as always.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from txdagster.lake import aws
from txdagster.lake.ledger import Entry, Ledger
from txdagster.lake.listing import objects_after
from txdagster.lake.tables import LakeTable
from txdagster.settings import Settings

POLL_SECONDS = 0.5
#: A run tagged with this set to "false" never follows: the headless orchestrator's (``txdagster demo``,
#: the tests), which runs in its caller's thread, one run at a time.
FOLLOW_TAG = "txdagster/follow"


def wanted(tags: Mapping[str, str]) -> bool:
    """Whether a run follows: one its sensor launched (Dagster tags it with the sensor's name), not
    tagged otherwise. Backfills and runs started from the UI do not."""
    return "dagster/sensor_name" in tags and tags.get(FOLLOW_TAG) != "false"


def follow_seconds(settings: Settings) -> float:
    return max(0.0, min(settings.ingest_follow_seconds, settings.ingest_lease_seconds / 3))


def follow(
    settings: Settings,
    table: LakeTable,
    dt: str,
    after: str,
    run_id: str,
) -> Iterator[tuple[str, list[str]]]:
    """(batch, keys) for each group of new objects of ``dt`` after key ``after``, registered in the
    ledger under ``batch``; until the follow time is up or the day is over."""
    s3, ledger = aws.client("s3", settings), Ledger(settings)
    prefix = table.source_prefix(settings)
    deadline = time.monotonic() + follow_seconds(settings)
    polls = 0
    while time.monotonic() + POLL_SECONDS < deadline and datetime.now(UTC).date().isoformat() == dt:
        time.sleep(POLL_SECONDS)
        listed = objects_after(s3, settings.lake_bucket, prefix, dt, after)
        if not listed:
            continue
        after = max(o.key for o in listed)
        polls += 1
        batch = f"{table.name}:{dt}:follow:{run_id}:{polls}"
        now = time.time()
        taken: list[str] = []
        for found in listed:
            entry = Entry(bucket=settings.lake_bucket, key=found.key, etag=found.etag, table=table.name, dt=dt)
            if ledger.register(entry, batch, now):
                taken.append(found.key)
        if taken:
            yield batch, taken
