"""The one day partitioning of the lake: ``dt`` is the UTC day the data arrived in S3."""

import dagster as dg

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1, timezone="UTC")
