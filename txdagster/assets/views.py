"""Athena views over the lake tables, (re)created from ``txdagster/sql``; its checks prove
``transactions_current`` equals DynamoDB and that no change batch waits too long to reach it."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from txdagster.checks import FRESHNESS_CHECK, PARITY_CHECK, freshness_check, parity_check
from txdagster.lake.freshness import ingestion_lag
from txdagster.lake.parity import check_parity
from txdagster.resources import LakeResource
from txdagster.sql import view_sql


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
    yield parity_check(report)
    budget = timedelta(minutes=lake.settings.ingestion_budget_minutes)
    yield freshness_check(ingestion_lag(lake.settings, datetime.now(UTC), budget), budget)
