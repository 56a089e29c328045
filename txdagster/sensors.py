"""Sensors: each lake table's sensor hands out what the ledger does not call done, one run per day
per tick; new changes refresh the views (and so run the parity check).

The rules live in ``lake/handout.py`` (pure); here they meet S3, the ledger and Dagster.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from txdagster.assets.batch import poison
from txdagster.jobs import INGEST_JOBS, refresh_views
from txdagster.lake import aws
from txdagster.lake.handout import Cursor, Plan, plan
from txdagster.lake.ledger import FAILED, PENDING, Entry, Ledger
from txdagster.lake.listing import objects_since
from txdagster.partitions import FIRST_DAY
from txdagster.resources import LakeResource
from txdagster.tables import LAKE_TABLES, LakeTable

INTERVAL_SECONDS = 5


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
    settings = lake.settings
    now = utc_now()
    cursor = Cursor.from_json(context.cursor)
    listed = objects_since(
        aws.client("s3", settings), settings.lake_bucket, table.source_prefix(settings), cursor.since()
    )
    ledger = Ledger(settings)
    result = plan(
        cursor,
        listed,
        ledger.open_entries(table.name, PENDING) + ledger.open_entries(table.name, FAILED),
        today=now.date().isoformat(),
        first_day=FIRST_DAY,
        max_attempts=settings.ingest_max_attempts,
        now=now.timestamp(),
    )
    if result.ahead:
        context.log.info(f"{len(result.ahead)} objects wait for their day to open: {[o.key for o in result.ahead][:3]}")
    if result.out_of_range:
        keys = [o.key for o in result.out_of_range]
        context.log.warning(f"{len(keys)} objects are under a day before {FIRST_DAY}, outside the lake: {keys[:3]}")
    requests = list(_requests(context, lake, table, result, now.timestamp()))
    return dg.SensorResult(run_requests=requests, cursor=result.cursor.to_json())


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


@dg.asset_sensor(
    asset_key=dg.AssetKey("transaction_changes"),
    job=refresh_views,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After new changes land, refresh transactions_current and prove parity with DynamoDB.",
)
def views_after_changes(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"after-{asset_event.run_id}-{asset_event.timestamp}")
