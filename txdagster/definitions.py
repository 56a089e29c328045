"""The one Definitions object of the txdagster code location."""

import dagster as dg

from txdagster.assets.compaction import COMPACTION_ASSETS
from txdagster.assets.lake import LAKE_ASSETS
from txdagster.assets.registry import schema_registry
from txdagster.assets.views import lake_views, transactions_current
from txdagster.jobs import INGEST_JOBS, compact_lake, refresh_views
from txdagster.resources import lake_resources
from txdagster.schedules import compaction, hourly_parity
from txdagster.sensors import INGEST_SENSORS

defs = dg.Definitions(
    assets=[schema_registry, *LAKE_ASSETS.values(), *COMPACTION_ASSETS.values(), transactions_current, lake_views],
    jobs=[*INGEST_JOBS.values(), refresh_views, compact_lake],
    sensors=list(INGEST_SENSORS.values()),
    schedules=[hourly_parity, compaction],
    resources=lake_resources(),
)
