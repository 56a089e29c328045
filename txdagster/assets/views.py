"""Athena views over the lake tables, (re)created from ``txdagster/sql``; its checks prove
``transactions_current`` equals DynamoDB and that no change batch waits too long to reach it."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from txdagster.checks import ingestion_lag
from txdagster.lake.parity import check_parity
from txdagster.resources import LakeResource
from txdagster.sql import view_sql

PARITY_CHECK = "parity_with_dynamodb"
FRESHNESS_CHECK = "changes_ingested_in_time"


@dg.asset(
    deps=["transaction_changes"],
    group_name="views",
    kinds={"athena", "sql"},
    owners=["team:data-platform"],
    description="Latest non-deleted version of every transaction: the table BI tools (QuickSight, Power BI) read.",
    check_specs=[
        dg.AssetCheckSpec(
            PARITY_CHECK,
            asset="transactions_current",
            description="count and checksum over transaction_id + version equal a DynamoDB scan",
        ),
        dg.AssetCheckSpec(
            FRESHNESS_CHECK,
            asset="transactions_current",
            description="no change batch waits longer than TXD_INGESTION_BUDGET_MINUTES to reach the lake",
        ),
    ],
    metadata={"sql": dg.MetadataValue.md(f"```sql\n{view_sql('transactions_current')}\n```")},
)
def transactions_current(context: dg.AssetExecutionContext, lake: LakeResource):
    engine = lake.engine()
    engine.create_view("transactions_current", view_sql("transactions_current"))
    rows = engine.query("SELECT count(*) AS n FROM transactions_current").column(0)[0].as_py()
    yield dg.MaterializeResult(metadata={"rows": int(rows)})
    report = check_parity(lake.settings, engine)
    context.log.info(f"parity: dynamodb={report.dynamodb_count} lake={report.lake_count} ok={report.in_parity}")
    yield dg.AssetCheckResult(
        check_name=PARITY_CHECK,
        passed=report.in_parity,
        metadata={
            "dynamodb_count": report.dynamodb_count,
            "lake_count": report.lake_count,
            "dynamodb_checksum": report.dynamodb_checksum,
            "lake_checksum": report.lake_checksum,
            "missing_in_lake": dg.MetadataValue.json(report.missing_in_lake),
            "extra_in_lake": dg.MetadataValue.json(report.extra_in_lake),
            "version_mismatch": dg.MetadataValue.json(report.version_mismatch),
        },
    )
    budget = timedelta(minutes=lake.settings.ingestion_budget_minutes)
    lag = ingestion_lag(lake.settings, datetime.now(UTC), budget)
    yield dg.AssetCheckResult(
        check_name=FRESHNESS_CHECK,
        passed=not lag.waiting,
        metadata={
            "budget_minutes": budget.total_seconds() / 60,
            "batches_waiting": len(lag.waiting),
            "oldest_waiting_minutes": lag.oldest_waiting_minutes,
            "waiting": dg.MetadataValue.json(lag.waiting[:20]),
        },
    )
