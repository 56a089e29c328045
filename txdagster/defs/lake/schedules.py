"""Compaction of today's lake files (and yesterday's, in the first hour of a day)."""

from datetime import timedelta

import dagster as dg

from txdagster.defs.lake.jobs import compact_lake


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
