"""Asset checks: their specs and their results, from facts the lake code establishes.

On every lake table: rows are accounted for, published rows pass the contract, Glue matches the
contract, no object is poisoned, no object waits under a day that has not opened. On
``transaction_files``: no transaction id came in more than one file. On ``transaction_changes``: the
batch's keys in transactions_current hold DynamoDB's versions. On ``transactions_current``: full
parity with DynamoDB and with the full change log, and freshness of the change batches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd
import pandera.errors
import pyarrow.parquet as pq

from txdagster.contract.arrow import glue_columns
from txdagster.contract.pandera_schema import lake_schema
from txdagster.defs.current.checks import SAMPLE, parity_check
from txdagster.defs.resources import LakeResource
from txdagster.defs.sql import sql_text
from txdagster.ingest.pipeline import ObjectResult
from txdagster.ingest.write import ROW_GROUP_SIZE
from txdagster.lake import aws, catalog
from txdagster.lake.layout import is_day
from txdagster.lake.ledger import POISONED, Ledger
from txdagster.lake.listing import objects_since
from txdagster.lake.parity import check_batch_parity
from txdagster.lake.tables import CHANGES, FILES, LAKE_TABLES

if TYPE_CHECKING:
    from txdagster.lake.current import Applied

BATCH_PARITY_CHECK = "batch_parity_with_dynamodb"


def lake_check_specs(table: str) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec("rows_accounted", asset=table, description="rows in = rows published + quarantined"),
        dg.AssetCheckSpec("valid_rows", asset=table, description="published rows pass the contract's pandera schema"),
        dg.AssetCheckSpec(
            "schema_matches_contract",
            asset=table,
            description="Glue columns equal the contract's, and the inputs carry no field the contract does not know",
        ),
        dg.AssetCheckSpec(
            "no_poisoned_objects",
            asset=table,
            description="no source object failed TXD_INGEST_MAX_ATTEMPTS times or sits under a dt= folder that is "
            "no usable day (each is named with its reason)",
        ),
        dg.AssetCheckSpec(
            "no_objects_ahead", asset=table, description="no source object waits under a day that has not begun"
        ),
    ]
    if table == CHANGES.name:
        specs.append(
            dg.AssetCheckSpec(
                BATCH_PARITY_CHECK,
                asset=table,
                description="after the batch is applied to transactions_current, its keys hold DynamoDB's versions "
                "(BatchGetItem: costs the batch, not the table; a key DynamoDB changed since is named)",
            )
        )
    if table == FILES.name:
        specs.append(
            dg.AssetCheckSpec(
                "unique_across_files",
                asset=table,
                description="no transaction id came in more than one file (ids and files are named)",
            )
        )
    return specs


def lake_checks(
    lake: LakeResource, table: str, done: list[ObjectResult], more: tuple[Callable[[], dg.AssetCheckResult], ...] = ()
) -> Iterator[dg.AssetCheckResult]:
    """Every check of a lake table after a run (and ``more``). They wait on S3, Glue and DynamoDB rather
    than on the CPU, so they run side by side: a real-time run is over sooner."""
    written = sorted({k for r in done for k in r.published_keys})  # the run's one file, and the SQL road's
    by_sql = {k for r in done if r.road == "sql" for k in r.published_keys}  # checked by its SQL: not read again
    quarantined = sum(r.rows_quarantined for r in done)
    checks = [
        lambda: _rows_accounted(lake, written, done),
        lambda: _valid_rows(
            lake,
            table,
            [k for k in written if k not in by_sql],
            quarantined=quarantined,
            done=done,
            sql_files=len(by_sql),
        ),
        lambda: _schema_matches_contract(lake, table, unknown_fields(done)),
        lambda: _no_poisoned_objects(lake, table),
        lambda: _no_objects_ahead(lake, table),
    ]
    if table == FILES.name:
        checks.append(lambda: _unique_across_files(lake))
    checks.extend(more)
    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="check") as pool:
        yield from pool.map(lambda check: check(), checks)


def _rows_accounted(lake: LakeResource, written: list[str], done: list[ObjectResult]) -> dg.AssetCheckResult:
    filesystem = lake.filesystem()
    rows_in = sum(r.rows_in for r in done)
    quarantined = sum(r.rows_quarantined for r in done)
    published = sum(
        pq.ParquetFile(filesystem.open_input_file(f"{lake.settings.lake_bucket}/{key}")).metadata.num_rows
        for key in written
    )  # read back from the footers: what is really in the lake
    return dg.AssetCheckResult(
        check_name="rows_accounted",
        passed=rows_in == published + quarantined,
        metadata={"rows_in": rows_in, "rows_published": published, "rows_quarantined": quarantined},
    )


def _valid_rows(
    lake: LakeResource, table: str, keys: list[str], *, quarantined: int, done: list[ObjectResult], sql_files: int = 0
) -> dg.AssetCheckResult:
    failures = 0
    for key in keys:  # a row group at a time: memory follows the row group, not the run's file
        with lake.filesystem().open_input_file(f"{lake.settings.lake_bucket}/{key}") as stream:
            for batch in pq.ParquetFile(stream).iter_batches(batch_size=ROW_GROUP_SIZE):
                try:
                    # ids repeated across files are unique_across_files' to report
                    rows = batch.to_pandas(types_mapper=pd.ArrowDtype)
                    lake_schema(table, unique_keys=False).validate(rows, lazy=True)
                except pandera.errors.SchemaErrors as exc:
                    failures += len(exc.failure_cases)
    return dg.AssetCheckResult(
        check_name="valid_rows",
        passed=failures == 0,
        severity=dg.AssetCheckSeverity.ERROR if failures else dg.AssetCheckSeverity.WARN,
        metadata={
            "failing_published_values": failures,
            "sql_road_files_not_reread": sql_files,
            "rows_quarantined": quarantined,
            "sample_reasons": dg.MetadataValue.json([reason for r in done for reason in r.reasons][:10]),
        },
    )


def unknown_fields(done: list[ObjectResult]) -> dict[str, int]:
    """Fields the inputs carried that the contract does not know -> rows that carried them."""
    counts: Counter[str] = Counter()
    for result in done:
        counts.update(result.unknown_fields)
    return dict(counts.most_common())


def _schema_matches_contract(lake: LakeResource, table: str, unknown: dict[str, int]) -> dg.AssetCheckResult:
    """Glue equals the contract, and the inputs carry no field the contract does not know."""
    expected = [(c["Name"], c["Type"]) for c in glue_columns(table)]
    actual = [(c["Name"], c["Type"]) for c in catalog.table_columns(lake.settings, table)]
    return dg.AssetCheckResult(
        check_name="schema_matches_contract",
        passed=expected == actual and not unknown,
        severity=dg.AssetCheckSeverity.ERROR if expected != actual else dg.AssetCheckSeverity.WARN,
        metadata={
            "missing_in_glue": dg.MetadataValue.json([c for c in expected if c not in actual]),
            "unexpected_in_glue": dg.MetadataValue.json([c for c in actual if c not in expected]),
            "unknown_input_fields": dg.MetadataValue.json(unknown),
        },
    )


def _no_poisoned_objects(lake: LakeResource, table: str) -> dg.AssetCheckResult:
    poisoned = Ledger(lake.settings).open_entries(table, POISONED)
    return dg.AssetCheckResult(
        check_name="no_poisoned_objects",
        passed=not poisoned,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "poisoned": len(poisoned),
            "objects": dg.MetadataValue.json({e.object: e.error for e in poisoned[:SAMPLE]}),
            "replay": dg.MetadataValue.text("txdagster replay KEY (after fixing the object or the bug)"),
        },
    )


def _no_objects_ahead(lake: LakeResource, table: str) -> dg.AssetCheckResult:
    settings = lake.settings
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    prefix = next(t for t in LAKE_TABLES if t.name == table).source_prefix(settings)
    listed = objects_since(aws.client("s3", settings), settings.lake_bucket, prefix, tomorrow)
    ahead = [o for o in listed if is_day(o.dt)]  # a folder that is no day is misplaced (no_poisoned_objects)
    return dg.AssetCheckResult(
        check_name="no_objects_ahead",
        passed=not ahead,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "objects_ahead": len(ahead),
            "objects": dg.MetadataValue.json([o.key for o in ahead][:SAMPLE]),
            "note": dg.MetadataValue.text("ingested on the first sensor tick of their day (UTC)"),
        },
    )


def _unique_across_files(lake: LakeResource) -> dg.AssetCheckResult:
    rows = lake.engine().query(sql_text(__name__.rpartition(".")[0], "duplicate_ids_across_files")).to_pylist()
    return dg.AssetCheckResult(
        check_name="unique_across_files",
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "duplicated_ids": int(rows[0]["duplicated_ids"]) if rows else 0,
            "ids": dg.MetadataValue.json({r["transaction_id"]: list(r["files"]) for r in rows}),
        },
    )


def current_after_batch(
    context: dg.AssetExecutionContext, lake: LakeResource, applied: list[Applied], current: list
) -> Callable[[], dg.AssetCheckResult]:
    """Log what a run of change batches did to transactions_current (a materialisation of it); return
    the parity check on the batch's keys (BatchGetItem on DynamoDB against the current table as the run
    left it, in ``current``; O(batch)), to run beside the table's other checks."""
    keys = sorted({key for chunk in applied for key in chunk.keys})
    if applied:
        context.log_event(
            dg.AssetMaterialization(
                asset_key="transactions_current",
                metadata={
                    "changes": sum(a.changes for a in applied),
                    "keys": len(keys),
                    "keys_applied": sum(a.newer for a in applied),
                    "deleted": sum(a.deleted for a in applied),
                    "stale_skipped": sum(a.stale for a in applied),
                    "run": dg.MetadataValue.text(context.run_id),
                },
            )
        )

    def batch_parity() -> dg.AssetCheckResult:
        from txdagster.lake.current import versions_of  # pyiceberg: imported only by runs that use it

        found = versions_of(lake.settings, keys, current[-1] if current else None) if keys else {}
        report = check_batch_parity(lake.settings, found, keys)
        return parity_check(report, check_name=BATCH_PARITY_CHECK, severity=dg.AssetCheckSeverity.WARN)

    return batch_parity
