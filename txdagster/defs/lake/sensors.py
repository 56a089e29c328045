"""Sensors: each lake table's sensor hands out what the ledger does not call done, one run per day
per tick, and none while a run of its job is in flight: under load the next run takes everything that
arrived meanwhile (natural batching, a bounded backlog). The one exception is a following run's last
seconds, when its successor is launched (the handover, ``lake/follow.py``). At the turn of a day, the
late objects of the day before come in a run of their own in the same tick. An ingest run of change
batches also updates transactions_current: no run of its own.

The rules live in ``lake/handout.py`` and ``lake/follow.py`` (pure); here they meet S3, the ledger and
Dagster.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from txdagster.defs.lake.following import runs_in_flight
from txdagster.defs.lake.jobs import INGEST_JOBS
from txdagster.defs.partitions import FIRST_DAY
from txdagster.defs.resources import LakeResource
from txdagster.lake import aws, raw_events
from txdagster.lake.follow import FOLLOWS_ON_TAG, followed_after, follows_on, wait_reason
from txdagster.lake.handout import Cursor, Plan, left_to_follower, plan
from txdagster.lake.ingest_run import poison
from txdagster.lake.ledger import FAILED, PENDING, Entry, Ledger
from txdagster.lake.listing import objects_since
from txdagster.lake.quarantine import quarantine_misplaced
from txdagster.lake.tables import LAKE_TABLES, LakeTable
from txdagster.settings import Settings

#: The sensor daemon evaluates sensors in a loop of about 5 s; an interval of exactly 5 s often misses a
#: loop and ticks every 10 s, so ask for less and get every loop.
INTERVAL_SECONDS = 1


def utc_now() -> datetime:
    """The sensors' clock (tests move it to check what happens when a day opens)."""
    return datetime.now(UTC)


def _requests(context: dg.SensorEvaluationContext, lake: LakeResource, table: LakeTable, result: Plan, now: float):
    settings = lake.settings
    ledger = Ledger(settings)
    for entry, error in result.poison:
        if poison(settings, ledger, entry, error, now):
            context.log.error(f"{entry.key}: poisoned after {entry.attempts} attempts: {error}")
    for dt, items in result.batches.items():
        batch = result.batch_id(table.name, dt)
        taken = []
        for item in items:
            if item.entry is None:
                entry = Entry(bucket=settings.lake_bucket, key=item.key, etag=item.etag, table=table.name, dt=dt)
                handed = ledger.register(entry, batch, now)
            else:
                handed = ledger.hand_out_again(item.entry, batch, now, item.attempts, item.error)
            if handed:
                taken.append(item.key)
        if taken:
            retries = sum(1 for item in items if item.entry is not None and item.key in taken)
            yield dg.RunRequest(
                run_key=batch,
                partition_key=dt,
                run_config=dg.RunConfig(ops={table.name: {"config": {"object_keys": taken, "batch": batch}}}),
                tags={"txdagster/objects": str(len(taken)), "txdagster/retried_objects": str(retries)},
            )


def hand_out(context: dg.SensorEvaluationContext, lake: LakeResource, table: LakeTable) -> dg.SensorResult:
    """Nothing while a run of the table's job is in flight (the cursor stays: whatever arrives meanwhile
    goes into the next run, which batches it all), unless that run follows and stops within
    ``HANDOVER_SECONDS``: then its successor (``lake/follow.py``); else a run per day with objects to
    hand out."""
    settings = lake.settings
    now = utc_now()
    runs = runs_in_flight(context.instance, table.job)
    waiting = wait_reason(runs, now.timestamp(), settings.ingest_lease_seconds)
    if waiting:
        return dg.SensorResult(skip_reason=f"{waiting}; new objects wait for the next run")
    predecessor = follows_on(runs, now.timestamp(), settings.ingest_lease_seconds) if table.follows else None
    cursor = Cursor.from_json(context.cursor)
    listed = objects_since(
        aws.client("s3", settings), settings.lake_bucket, table.source_prefix(settings), cursor.since()
    )
    after = followed_after(runs, now.timestamp()) if table.follows else None
    listed, _ = left_to_follower(listed, now.date().isoformat(), after)  # it takes them within a poll
    drained = raw_events.drain(settings, table.source_prefix(settings)) if _notified(table, settings) else None
    ledger = Ledger(settings)
    result = plan(
        cursor,
        listed,
        ledger.open_entries(table.name, PENDING) + ledger.open_entries(table.name, FAILED),
        today=now.date().isoformat(),
        first_day=FIRST_DAY,
        max_attempts=settings.ingest_max_attempts,
        now=now.timestamp(),
        notified=drained.objects if drained else (),
    )
    if result.late:
        keys = [o.key for o in result.late]
        context.log.info(f"{len(keys)} objects came late, into days before the open ones: {keys[:3]}")
    if result.ahead:
        context.log.info(f"{len(result.ahead)} objects wait for their day to open: {[o.key for o in result.ahead][:3]}")
    for obj, reason in result.misplaced:
        entry = Entry(
            bucket=settings.lake_bucket, key=obj.key, etag=obj.etag, table=table.name, dt=now.date().isoformat()
        )
        if quarantine_misplaced(settings, entry, reason, now.timestamp()):
            context.log.warning(f"{obj.key}: quarantined whole: {reason}")
    requests = list(_requests(context, lake, table, result, now.timestamp()))
    today = now.date().isoformat()
    if predecessor and not any(r.partition_key == today for r in requests):
        requests.append(_follow_on(table, today, predecessor.run_id))
    if drained:
        raw_events.acknowledge(settings, drained)  # their objects are in the ledger now
    return dg.SensorResult(run_requests=requests, cursor=result.cursor.to_json())


def _follow_on(table: LakeTable, dt: str, predecessor: str) -> dg.RunRequest:
    """A successor with nothing handed out: it follows on after ``predecessor`` (the stream flows)."""
    return dg.RunRequest(
        run_key=f"{table.name}:{dt}:follow-on:{predecessor}",
        partition_key=dt,
        run_config=dg.RunConfig(ops={table.name: {"config": {"object_keys": [], "follow_on": True}}}),
        tags={"txdagster/objects": "0", FOLLOWS_ON_TAG: predecessor},
    )


def _notified(table: LakeTable, settings: Settings) -> bool:
    return table.notified and bool(settings.raw_events_queue)


def _ingest_sensor(table: LakeTable) -> dg.SensorDefinition:
    @dg.sensor(
        name=table.sensor,
        job=INGEST_JOBS[table.name],
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Hands out {table.source} that the ingestion ledger does not call done (new, overwritten, "
        f"or failed and due again) -> {table.name}, one run per day.",
    )
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
        return hand_out(context, lake, table)

    return _sensor


INGEST_SENSORS = {table.name: _ingest_sensor(table) for table in LAKE_TABLES}
cdc_sensor = INGEST_SENSORS["transaction_changes"]
raw_sensor = INGEST_SENSORS["transaction_files"]
