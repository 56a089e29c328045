"""The current state: ``transactions_current``.

``transactions_current`` is an Iceberg table that every ingest run of change batches updates as it goes
(``lake/current.py``; the run logs a materialisation of this asset and checks parity on the batch's
keys). Materialising it here (``refresh_views``: hourly, or on demand) rewrites days of several files,
expires old snapshots and proves full parity with DynamoDB and with the full-log view (the tables are
created by ``catalog.ensure_lake``: at deploy, and when the local stack starts). The views on it are
in ``defs/bi``.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from txdagster.defs.bi.views import view_sql
from txdagster.defs.current.checks import (
    FRESHNESS_CHECK,
    LOG_PARITY_CHECK,
    PARITY_CHECK,
    freshness_check,
    parity_check,
)
from txdagster.defs.policies import LAKE_FRESHNESS, OWNERS
from txdagster.defs.resources import LakeResource
from txdagster.lake.freshness import ingestion_lag
from txdagster.lake.parity import check_parity, compare, lake_versions


@dg.asset(
    deps=["transaction_changes"],
    group_name="current",
    kinds={"iceberg", "glue", "athena"},
    owners=OWNERS,
    freshness_policy=LAKE_FRESHNESS,
    description="Latest non-deleted version of every transaction, an Apache Iceberg table kept up to date by every "
    "ingest run of change batches (newer sequence numbers only, REMOVE deletes). BI tools read it and the views on it.",
    check_specs=[
        dg.AssetCheckSpec(name, asset="transactions_current", description=description)
        for name, description in (
            (PARITY_CHECK, "count and checksum over transaction_id + version equal a DynamoDB scan"),
            (LOG_PARITY_CHECK, "equal to transactions_current_from_log, recomputed from the full change log"),
            (FRESHNESS_CHECK, "no change batch waits longer than TXD_INGESTION_BUDGET_MINUTES to reach the lake"),
        )
    ],
    metadata={"glue_table": "transactions_current", "table_type": "ICEBERG", "partitioned_by": "day(event_time)"},
)
def transactions_current(context: dg.AssetExecutionContext, lake: LakeResource):
    from txdagster.lake.current_upkeep import SNAPSHOT_RETENTION, maintain  # pyiceberg: only in runs that use it

    settings = lake.settings
    done = maintain(settings, SNAPSHOT_RETENTION, datetime.now(UTC))
    engine = lake.engine()
    rows = engine.query("SELECT count(*) AS n FROM transactions_current").column(0)[0].as_py()
    metadata = {
        "rows": int(rows),
        "data_files": done.data_files,
        "snapshots_expired": done.snapshots_expired,
        "orphan_files_deleted": done.orphans_deleted,
    }
    yield dg.MaterializeResult(
        metadata={**metadata, "days_rewritten": dg.MetadataValue.json(list(done.days_rewritten))}
    )
    report = check_parity(settings, engine)
    context.log.info(f"parity: dynamodb={report.dynamodb_count} lake={report.lake_count} ok={report.in_parity}")
    yield parity_check(report)
    from_log = lake_versions(engine, view_sql("transactions_current_from_log"), subquery=True)
    yield parity_check(compare(from_log, lake_versions(engine)), check_name=LOG_PARITY_CHECK)
    budget = timedelta(minutes=lake.settings.ingestion_budget_minutes)
    yield freshness_check(ingestion_lag(lake.settings, datetime.now(UTC), budget), budget)
