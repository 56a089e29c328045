"""Schedules: an hourly parity proof even when nothing changed (drift in DynamoDB, lost batches)."""

import dagster as dg

from txdagster.jobs import refresh_views

hourly_parity = dg.ScheduleDefinition(
    name="hourly_parity",
    job=refresh_views,
    cron_schedule="17 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Refresh the views and run the parity check against DynamoDB every hour.",
)
