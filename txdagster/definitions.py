"""The one Definitions object of the txdagster code location, loaded from ``txdagster/defs/``: one folder
per domain (contract -> lake -> current -> bi), each holding its assets, checks, jobs, sensors and
schedules."""

import dagster as dg

from txdagster.defs import migration_scripts, run_starter
from txdagster.defs.bi.assets import lake_views
from txdagster.defs.contract.assets import schema_registry
from txdagster.defs.current.assets import transactions_current
from txdagster.defs.current.jobs import refresh_views
from txdagster.defs.current.schedules import hourly_parity
from txdagster.defs.lake.assets import LAKE_ASSETS
from txdagster.defs.lake.compaction import COMPACTION_ASSETS
from txdagster.defs.lake.jobs import INGEST_JOBS, compact_lake
from txdagster.defs.lake.schedules import compaction
from txdagster.defs.lake.sensors import INGEST_SENSORS
from txdagster.defs.resources import lake_resources

run_starter.install()  # runs start from a forkserver that has this code imported (defs/run_starter.py)
migration_scripts.install()  # an instance's storages read alembic's scripts once per process

defs = dg.Definitions(
    assets=[schema_registry, *LAKE_ASSETS.values(), *COMPACTION_ASSETS.values(), transactions_current, lake_views],
    jobs=[*INGEST_JOBS.values(), refresh_views, compact_lake],
    sensors=list(INGEST_SENSORS.values()),
    schedules=[hourly_parity, compaction],
    resources=lake_resources(),
)
