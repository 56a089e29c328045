"""An hourly full parity proof and Iceberg maintenance, even when nothing changed (drift in DynamoDB,
lost batches)."""

import dagster as dg

from txdagster.defs.current.jobs import refresh_views

hourly_parity = dg.ScheduleDefinition(
    name="hourly_parity",
    job=refresh_views,
    cron_schedule="17 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: maintain transactions_current, (re)create the views and prove full parity with "
    "DynamoDB and with the full change log.",
)
