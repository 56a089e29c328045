"""The one Definitions object of the txdagster code location."""

import dagster as dg

from txdagster.assets.lake import transaction_changes, transaction_files
from txdagster.assets.views import transactions_current
from txdagster.jobs import ingest_changes, ingest_files, refresh_views
from txdagster.resources import LakeResource
from txdagster.schedules import hourly_parity
from txdagster.sensors import cdc_sensor, raw_sensor, views_after_changes

defs = dg.Definitions(
    assets=[transaction_changes, transaction_files, transactions_current],
    jobs=[ingest_changes, ingest_files, refresh_views],
    sensors=[cdc_sensor, raw_sensor, views_after_changes],
    schedules=[hourly_parity],
    resources={"lake": LakeResource()},
)
