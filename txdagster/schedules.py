"""Schedules: an hourly full parity proof and Iceberg maintenance even when nothing changed (drift in
DynamoDB, lost batches), and
compaction of today's lake files (and yesterday's, in the first hour of a day)."""

from datetime import timedelta

import dagster as dg

from txdagster.jobs import compact_lake, refresh_views

hourly_parity = dg.ScheduleDefinition(
    name="hourly_parity",
    job=refresh_views,
    cron_schedule="17 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour: maintain transactions_current, (re)create the views and prove full parity with "
    "DynamoDB and with the full change log.",
)


@dg.schedule(
    name="compaction",
    job=compact_lake,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes, rewrite today's lake files into parts sized for readers.",
)
def compaction(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    at = context.scheduled_execution_time
    days = [at - timedelta(days=1), at] if at.hour == 0 else [at]
    return [dg.RunRequest(run_key=f"compact:{d:%Y-%m-%d}:{at:%H%M}", partition_key=f"{d:%Y-%m-%d}") for d in days]
