"""Lake tables as assets, one per declaration in ``txdagster/lake/tables.py``.

Each run works on the objects its sensor batch was handed (or, with no keys given, every object of
the partition's day: a backfill), with the ingestion ledger deciding what it may take and recording
what became of each object (``lake/ingest_run.py``).
"""

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from txdagster.defs.lake import checks
from txdagster.defs.lake.following import Follower, wait_for_predecessors
from txdagster.defs.partitions import DAILY
from txdagster.defs.policies import LAKE_FRESHNESS, OWNERS
from txdagster.defs.resources import LakeAthena, LakeResource
from txdagster.lake import layout
from txdagster.lake.follow import INGESTS_TAG, follow, follow_seconds, inherited, wanted
from txdagster.lake.ingest_run import BatchOutcome, BatchRequest, run_batch
from txdagster.lake.tables import LAKE_TABLES, LakeTable

#: A following run's niceness once its follow is over: its checks (seconds: what it published read back
#: and validated, its keys' parity with DynamoDB) ran beside its successor's first batch, which took
#: 2.6-3.6 s at every handover on a 2-core machine instead of about 0.7 s.
CHECKS_NICENESS = 10


class BatchConfig(dg.Config):
    object_keys: list[str] = []  # empty: every object of the partition's day (a backfill)
    batch: str = ""  # the sensor's batch in the ledger; empty: the run enlists the objects itself
    force: bool = False  # a backfill also redoes the objects the ledger calls done
    follow_on: bool = False  # a following run's successor: no keys means none (not the day), then it follows


def _materialize(
    context: dg.AssetExecutionContext, lake: LakeResource, athena: LakeAthena, config: BatchConfig, table: LakeTable
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    dt = context.partition_key
    settings = lake.settings
    blanked = inherited(context.run.tags)
    if blanked:  # a re-executed run: what its parent said of its follow is not this run's
        context.instance.add_run_tags(context.run_id, blanked)
    applied: list = []  # what the run did to transactions_current
    current: list = []  # the table and its tombstones, loaded once and as the run's commits left them

    def apply(path) -> None:
        from txdagster.lake.current import Loaded, apply_run_file  # pyiceberg: only in runs that use it
        from txdagster.lake.current_upkeep import tidy

        started = time.monotonic()
        if not current:
            current.append(Loaded(settings))
        batch = apply_run_file(settings, path, current[0])
        applied.extend(batch)
        tidied = tidy(settings, datetime.now(UTC), current[0].table, current[0].removed)
        context.log.info(
            f"transactions_current: {sum(a.newer for a in batch)} keys applied, days rewritten "
            f"{list(tidied.days_rewritten)}, {tidied.snapshots_expired} snapshots expired, "
            f"{tidied.data_files} data files ({tidied.tombstone_files} of tombstones), "
            f"in {time.monotonic() - started:.2f} s"
        )

    def batch(keys: list[str], batch_id: str) -> BatchOutcome:
        started = time.monotonic()
        after_publish = apply if table.updates_current else None
        request = BatchRequest(
            table,
            dt,
            keys,
            batch_id,
            context.run_id,
            force=config.force,
            sql_engine=athena.sql_engine,
            after_publish=after_publish,
        )
        outcome = run_batch(settings, request, context.log.info)
        context.log.info(f"{len(outcome.with_state('done'))} objects done in {time.monotonic() - started:.2f} s")
        return outcome

    follows = table.follows and wanted(context.run.tags) and follow_seconds(settings) > 0  # a retry follows too
    after = max(config.object_keys, default="")
    if follows and table.updates_current:  # made ready while its predecessor follows: imports, catalog, clients
        from txdagster.lake.current import Loaded

        current.append(Loaded(settings))
    if follows:  # never two ingesting at once: a predecessor that still follows finishes first
        after = max(after, wait_for_predecessors(context))
        for loaded in current:
            loaded.reload()  # as the predecessor's last commit left it
    context.instance.add_run_tags(context.run_id, {INGESTS_TAG: f"{time.time():.3f}"})
    outcomes: list[BatchOutcome] = []
    if config.object_keys or not config.follow_on:
        outcomes.append(batch(list(config.object_keys), config.batch or f"run:{context.run_id}"))
    if follows and after:
        follower = Follower(context, time.time() + follow_seconds(settings), after)
        try:
            for follow_batch, keys in follow(
                settings, table, dt, after, run_id=context.run_id, ends=follower.ends, on_poll=follower.saw
            ):
                outcomes.append(batch(keys, follow_batch))
                follower.took += 1
        finally:
            follower.stop()
        os.nice(CHECKS_NICENESS)  # what is left (checks) yields the CPU to the successor, which ingests now
    objects = [o for outcome in outcomes for o in outcome.objects]
    done = [o.result for o in objects if o.state == "done" and o.result]
    yield dg.MaterializeResult(
        metadata={
            "batches": len(outcomes),  # more than one: the run followed its day (lake/follow.py)
            "objects": len(objects),
            "objects_done": len(done),
            "objects_failed": dg.MetadataValue.json(
                [f"{o.key}: {o.error}" for o in objects if o.state == "failed"][:20]
            ),
            "objects_poisoned": dg.MetadataValue.json([o.key for o in objects if o.state == "poisoned"][:20]),
            "objects_skipped": sum(len(outcome.skipped) for outcome in outcomes),
            "rows_in": sum(r.rows_in for r in done),
            "rows_published": sum(r.rows_valid for r in done),
            "rows_quarantined": sum(r.rows_quarantined for r in done),
            "bytes_written": sum(outcome.bytes_written for outcome in outcomes),
            "unknown_fields": dg.MetadataValue.json(checks.unknown_fields(done)),
            "partition_registered": dg.MetadataValue.text(
                f"dt={dt}" + (" (new)" if any(outcome.new_partition for outcome in outcomes) else "")
            ),
            "files": dg.MetadataValue.json([o.run_file for o in outcomes if o.run_file]),  # none: no valid rows
            "sql_road_objects": dg.MetadataValue.json([r.source_key for r in done if r.road == "sql"][:20]),
            "quarantine": dg.MetadataValue.json([r.quarantine_key for r in done if r.quarantine_key][:50]),
        }
    )
    started = time.monotonic()
    tables = [loaded.table for loaded in current]
    more = (checks.current_after_batch(context, lake, applied, tables),) if table.updates_current else ()
    yield from checks.lake_checks(lake, table.name, done, more)
    context.log.info(f"checks in {time.monotonic() - started:.2f} s")


def _lake_asset(table: LakeTable) -> dg.AssetsDefinition:
    @dg.asset(
        name=table.name,
        partitions_def=DAILY,
        group_name="lake",
        deps=["schema_registry"],  # rows are checked against the contract the registry publishes
        kinds=set(table.kinds),
        owners=OWNERS,
        description=table.description,
        check_specs=checks.lake_check_specs(table.name),
        freshness_policy=LAKE_FRESHNESS if table.updates_current else None,
        metadata={
            "glue_table": table.name,
            "location": f"{layout.table_prefix(table.name)}{layout.day_folder('YYYY-MM-DD')}",
            "source": table.source,
        },
    )
    def _asset(context: dg.AssetExecutionContext, config: BatchConfig, lake: LakeResource, athena: LakeAthena):
        yield from _materialize(context, lake, athena, config, table)

    return _asset


LAKE_ASSETS = {table.name: _lake_asset(table) for table in LAKE_TABLES}
transaction_changes = LAKE_ASSETS["transaction_changes"]
transaction_files = LAKE_ASSETS["transaction_files"]
