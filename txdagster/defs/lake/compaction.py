"""Compaction as assets, one per lake table: a day's small files rewritten into parts sized for
readers, atomically for queries (``lake/compaction.py``). Scheduled every 15 minutes for today (and
yesterday in the first hour of a day); a backfill of any range compacts those days.
"""

import os

import dagster as dg

from txdagster.defs.partitions import DAILY
from txdagster.defs.policies import OWNERS
from txdagster.defs.resources import LakeResource
from txdagster.lake.compaction import compact_day
from txdagster.lake.tables import LAKE_TABLES, LakeTable

SCHEDULE_TAG = "dagster/schedule_name"
#: A scheduled compaction's niceness (a run process of its own). At 100 changes a second locally, a
#: compaction of today's 400 small files beside ingestion doubled the source stage's latency for a
#: minute: its calls queued before the stack's at the emulator. Niced, it gets the CPU the rest leaves.
SCHEDULED_NICENESS = 10


def _compaction_asset(table: LakeTable) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{table.name}_compacted",
        partitions_def=DAILY,
        group_name="lake",
        deps=[table.name],
        kinds={"s3", "parquet"},
        owners=OWNERS,
        description=f"{table.name}'s day rewritten into files of 128-512 MB (one when the day is smaller); "
        "the Glue partition moves to them in one step.",
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        if SCHEDULE_TAG in context.run.tags:
            os.nice(SCHEDULED_NICENESS)  # background work: yields the CPU to ingestion (and to the stack locally)
        result = compact_day(
            lake.settings, table.name, context.partition_key, holder=f"run:{context.run_id}", log=context.log.info
        )
        return dg.MaterializeResult(
            metadata={
                "files_in": len(result.files_in),
                "parts": len(result.parts),
                "rows_in": result.rows_in,
                "rows_out": result.rows_out,
                "stale_rows_dropped": dg.MetadataValue.json(dict(result.dropped.most_common(20))),
                "generation": dg.MetadataValue.text(result.generation or "unchanged (already one part)"),
                "old_files_deleted": len(result.deleted),
            }
        )

    return _asset


COMPACTION_ASSETS = {table.name: _compaction_asset(table) for table in LAKE_TABLES}
