"""What the assets share: who owns them and how fresh the real-time ones must be."""

from datetime import timedelta

import dagster as dg

OWNERS = ["team:data-platform"]
#: Late when nothing was materialised for 2 minutes (warn) or for the ingestion budget (fail). Only where
#: data flows all the time: change batches and the current state (raw files come when they come).
LAKE_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(minutes=15), warn_window=timedelta(minutes=2))
