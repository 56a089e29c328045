"""Asset jobs; the in-process executor keeps a sensor-triggered run to one process."""

import dagster as dg

from txdagster.partitions import DAILY

ingest_changes = dg.define_asset_job(
    "ingest_changes", selection=["transaction_changes"], partitions_def=DAILY, executor_def=dg.in_process_executor
)
ingest_files = dg.define_asset_job(
    "ingest_files", selection=["transaction_files"], partitions_def=DAILY, executor_def=dg.in_process_executor
)
refresh_views = dg.define_asset_job(
    "refresh_views", selection=["transactions_current"], executor_def=dg.in_process_executor
)
