"""The checks of transactions_current: parity with DynamoDB (full, per batch) and with the full change
log, and the freshness of the change batches. Their facts come from ``lake/parity.py`` and
``lake/freshness.py``."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from txdagster.lake.freshness import IngestionLag
from txdagster.lake.parity import ParityReport

SAMPLE = 20
PARITY_CHECK = "parity_with_dynamodb"
LOG_PARITY_CHECK = "equals_full_log"
FRESHNESS_CHECK = "changes_ingested_in_time"


def parity_check(
    report: ParityReport, check_name: str = PARITY_CHECK, severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=report.in_parity,
        severity=severity,
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


def freshness_check(lag: IngestionLag, budget: timedelta) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=FRESHNESS_CHECK,
        passed=not lag.waiting,
        metadata={
            "budget_minutes": budget.total_seconds() / 60,
            "batches_waiting": len(lag.waiting),
            "oldest_waiting_minutes": lag.oldest_waiting_minutes,
            "waiting": dg.MetadataValue.json(lag.waiting[:SAMPLE]),
        },
    )
