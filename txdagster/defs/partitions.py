"""The one day partitioning of the lake: ``dt`` is the UTC day the data arrived in S3."""

import dagster as dg

FIRST_DAY = "2024-01-01"
DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1, timezone="UTC")
