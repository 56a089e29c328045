"""The current state's upkeep job: run hourly by ``hourly_parity`` and on demand from the UI."""

import dagster as dg

from txdagster.defs.bi.views import VIEWS

refresh_views = dg.define_asset_job(
    "refresh_views",
    selection=["transactions_current", *VIEWS],
    executor_def=dg.in_process_executor,
    description="Maintain transactions_current (small files, old snapshots), (re)create the views, prove full parity.",
)
