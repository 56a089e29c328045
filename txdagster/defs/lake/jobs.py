"""Asset jobs; the in-process executor keeps a sensor-triggered run to one process. The ingest jobs are
real-time (an ingest run of change batches also updates transactions_current): in production a
sensor's run of them starts inside the daemon's task, not as a task of its own
(``txdagster/defs/launcher.py``).

Ingest runs are retried by the daemon (``run_retries`` in dagster.yaml) when they fail, e.g. on an
infrastructure error: a re-executed run claims only what its batch still holds in the ledger, and
blanks the follow's tags it inherits from the failed run (``lake/follow.py``'s ``inherited``).
"""

import dagster as dg

from txdagster.defs.launcher import LANE_TAG, REALTIME
from txdagster.defs.partitions import DAILY
from txdagster.lake.tables import LAKE_TABLES

RUN_RETRIES = 2

INGEST_JOBS = {
    table.name: dg.define_asset_job(
        table.job,
        selection=[table.name],
        partitions_def=DAILY,
        executor_def=dg.in_process_executor,
        tags={"dagster/max_retries": str(RUN_RETRIES), "dagster/retry_strategy": "ALL_STEPS", LANE_TAG: REALTIME},
        description=f"Ingest a batch of {table.source} into {table.name}.",
    )
    for table in LAKE_TABLES
}
compact_lake = dg.define_asset_job(
    "compact_lake",
    selection=[f"{table.name}_compacted" for table in LAKE_TABLES],
    partitions_def=DAILY,
    executor_def=dg.in_process_executor,
    description="Rewrite a day of every lake table into files sized for readers.",
)
