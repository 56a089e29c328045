"""Sensors: new objects under ``cdc/`` and ``raw/`` become one run per day per tick; new changes
refresh the views (and so run the parity check)."""

import hashlib

import dagster as dg

from txdagster.assets.lake import CDC_PREFIX, RAW_PREFIX
from txdagster.jobs import ingest_changes, ingest_files, refresh_views
from txdagster.lake.listing import ListingCursor, new_keys_by_day
from txdagster.partitions import DAILY
from txdagster.resources import LakeResource

INTERVAL_SECONDS = 5


def _run_key(dt: str, keys: list[str]) -> str:
    return f"{dt}:{hashlib.sha256(chr(10).join(keys).encode()).hexdigest()[:24]}"


def batch_requests(context: dg.SensorEvaluationContext, lake: LakeResource, prefix: str, asset: str) -> dg.SensorResult:
    """One RunRequest per day with every new key of that day; the cursor marks them seen."""
    found, cursor = new_keys_by_day(lake.settings, prefix, ListingCursor.from_json(context.cursor))
    requests = []
    for dt, keys in sorted(found.items()):
        if not DAILY.has_partition_key(dt):
            context.log.warning(f"{len(keys)} objects under dt={dt} are outside the lake's days; skipped: {keys[:3]}")
            continue
        requests.append(
            dg.RunRequest(
                run_key=_run_key(dt, keys),
                partition_key=dt,
                run_config=dg.RunConfig(ops={asset: {"config": {"object_keys": keys}}}),
                tags={"txdagster/objects": str(len(keys))},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor.to_json())


@dg.sensor(
    job=ingest_changes,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New change batches under cdc/transactions/ -> transaction_changes, one run per day.",
)
def cdc_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
    return batch_requests(context, lake, CDC_PREFIX, "transaction_changes")


@dg.sensor(
    job=ingest_files,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="New files under raw/<source_system>/dt=YYYY-MM-DD/ -> transaction_files, one run per day.",
)
def raw_sensor(context: dg.SensorEvaluationContext, lake: LakeResource) -> dg.SensorResult:
    return batch_requests(context, lake, RAW_PREFIX, "transaction_files")


@dg.asset_sensor(
    asset_key=dg.AssetKey("transaction_changes"),
    job=refresh_views,
    minimum_interval_seconds=INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After new changes land, refresh transactions_current and prove parity with DynamoDB.",
)
def views_after_changes(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"after-{asset_event.run_id}-{asset_event.timestamp}")
