"""A real-time ingest run that stays a while: after its own batch, an ``ingest_changes`` run that its
sensor launched keeps taking the change batches that land in its day, as they land, for up to
``TXD_INGEST_FOLLOW_SECONDS`` (0 turns it off).

Why: starting a run costs time (forked from the code server's forkserver about 0.5 s here,
``defs/run_starter.py``; a fresh interpreter 7 s; a Fargate task 30-60 s), the sensor daemon ticks
every 5 s, and the sensor waits while a run is in flight, so with one run per tick the lake's
freshness is a tick, a launch and a batch. A run that follows takes a new batch within
``POLL_SECONDS`` of its landing, still one run in flight per table.

Each poll lists the day folder after the newest key seen (``StartAfter``: the exporter's keys grow with
the stream's sequence numbers) and registers what it finds in the ledger under a batch of the run's
own, exactly as the sensor would; the ledger refuses content it already knows, so the sensor, which
lists the day again on its next tick, hands none of it out twice. An object the run does not see (a
key sorting before the newest one) is the sensor's to hand out, as always; an object after the
newest key is the followers' (``followed_after``): the sensor does not hand it out at a handover, where
it would wait in the successor until its predecessor stopped (up to ``HANDOVER_SECONDS``).

Handover: a following run says when it stops following (``ENDS_TAG``) and that it is alive
(``BEAT_TAG``, every ``BEAT_SECONDS``); in the last ``HANDOVER_SECONDS`` of its follow the sensor ticks
again and launches its successor (with what it hands out, or nothing: then it only follows on), which
waits until its predecessor has stopped following and starts after the newest key that one saw
(``AFTER_TAG``). So a launch is never on a batch's path while the stream flows, and still one run
ingests per table at a time. A follower whose beat stops (killed) is not waited for after
``DEAD_AFTER_SECONDS``; the ledger's lease brings back what it held.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
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
ENDS_TAG = "txdagster/follow_ends"  # epoch seconds: when the run plans to stop following
BEAT_TAG = "txdagster/follow_beat"  # epoch seconds of its last poll, written every BEAT_SECONDS
AFTER_TAG = "txdagster/follow_after"  # the newest key it saw: its successor lists after it
STOPPED_TAG = "txdagster/follow_stopped"  # set when it has left its follow, its last batch done
FOLLOWS_ON_TAG = "txdagster/follows_on"  # on a successor: the run it follows on after (it starts after its key)
TOOK_TAG = "txdagster/follow_batches"  # how many batches its follow took: none, and no successor follows on
#: epoch seconds: when the run began to ingest, its predecessors' follows over (it ingests until
#: ``STOPPED_TAG``, or its end if it does not follow): what ``txdagster bench flow`` checks for overlaps
INGESTS_TAG = "txdagster/ingests_from"
#: What a run says of its follow, which a retried run inherits from the one it re-executes (Dagster
#: copies the parent's tags): blanked at its start (``inherited``), "" means unsaid.
STATE_TAGS = (ENDS_TAG, BEAT_TAG, AFTER_TAG, STOPPED_TAG, TOOK_TAG, INGESTS_TAG)
RETRY_TAG = "dagster/retry_number"  # on a run the daemon re-executes
BEAT_SECONDS = 2.0
DEAD_AFTER_SECONDS = 15.0  # a follower whose last beat is older is dead (killed): not waited for
#: The sensor daemon ticks every 5 s and a run starts in about 0.5 s: a successor asked for this long
#: before its predecessor stops is there when it does.
HANDOVER_SECONDS = 8.0


@dataclass(frozen=True)
class RunInFlight:
    """A run of an ingest job that has not ended, as the sensor and a successor see it."""

    run_id: str
    created: float  # epoch seconds
    tags: Mapping[str, str]

    def number(self, tag: str) -> float:
        try:
            return float(self.tags.get(tag) or 0)
        except ValueError:
            return 0.0

    def alive(self, now: float, lease_seconds: float) -> bool:
        """A follower beats; any other run counts as alive for the lease (then it died unmarked)."""
        beat = self.number(BEAT_TAG)
        return now - beat < DEAD_AFTER_SECONDS if beat else now - self.created < lease_seconds

    def following(self, now: float) -> bool:
        """It follows (it beats), has not said it stopped, and its beat is fresh."""
        beat = self.number(BEAT_TAG)
        return bool(beat) and not self.tags.get(STOPPED_TAG) and now - beat < DEAD_AFTER_SECONDS


def wait_reason(runs: list[RunInFlight], now: float, lease_seconds: float) -> str | None:
    """Why the sensor must not hand out now, or None: no live run, or the one live run is a follower in
    its last ``HANDOVER_SECONDS`` (its successor is due)."""
    live = [run for run in runs if run.alive(now, lease_seconds)]
    if not live:
        return None
    if len(live) > 1:
        return f"run {live[0].run_id} hands over to {live[1].run_id}"
    ends = live[0].number(ENDS_TAG)
    if ends and ends - now <= HANDOVER_SECONDS:
        return None
    return f"run {live[0].run_id} is in flight"


def follows_on(runs: list[RunInFlight], now: float, lease_seconds: float) -> RunInFlight | None:
    """The live follower in its last ``HANDOVER_SECONDS`` whose follow took batches (the stream flows),
    if any: a successor follows on after it even when the sensor has nothing to hand out."""
    live = [run for run in runs if run.alive(now, lease_seconds)]
    if len(live) == 1 and live[0].number(BEAT_TAG) and live[0].number(TOOK_TAG) > 0:
        return live[0] if live[0].number(ENDS_TAG) - now <= HANDOVER_SECONDS else None
    return None


def followed_after(runs: list[RunInFlight], now: float) -> str | None:
    """The newest key a live follower has said it saw (``AFTER_TAG``), or None: the objects of its day
    after that key are its to take (within ``POLL_SECONDS``, or its successor's, which starts after
    its last key), so the sensor does not hand them out at a handover."""
    following = [run.tags.get(AFTER_TAG, "") for run in runs if run.following(now)]
    return max(following) if following else None


def inherited(tags: Mapping[str, str]) -> dict[str, str]:
    """The follow's tags a retried run carries from the run it re-executes, blanked: else it would count
    as stopped (no successor waits for it) or as its parent, still beating."""
    if RETRY_TAG not in tags:
        return {}
    return {tag: "" for tag in STATE_TAGS if tags.get(tag)}


def wanted(tags: Mapping[str, str]) -> bool:
    """Whether a run follows: one its sensor launched (Dagster tags it with the sensor's name), not
    tagged otherwise. Backfills and runs started from the UI do not."""
    return "dagster/sensor_name" in tags and tags.get(FOLLOW_TAG) != "false"


def follow_seconds(settings: Settings) -> float:
    return max(0.0, float(settings.ingest_follow_seconds))


def follow(
    settings: Settings,
    table: LakeTable,
    dt: str,
    after: str,
    *,
    run_id: str,
    ends: float,
    on_poll: Callable[[str], None] = lambda after: None,
) -> Iterator[tuple[str, list[str]]]:
    """(batch, keys) for each group of new objects of ``dt`` after key ``after``, registered in the
    ledger under ``batch``; until ``ends`` (epoch seconds) or the day is over. ``on_poll`` hears the
    newest key seen after every poll (the run's beat)."""
    s3, ledger = aws.client("s3", settings), Ledger(settings)
    prefix = table.source_prefix(settings)
    polls = 0
    while time.time() + POLL_SECONDS < ends and datetime.now(UTC).date().isoformat() == dt:
        time.sleep(POLL_SECONDS)
        listed = objects_after(s3, settings.lake_bucket, prefix, dt, after)
        after = max([after, *(o.key for o in listed)])
        on_poll(after)
        if not listed:
            continue
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
