"""Lake tables: ``transaction_changes`` from the CDC batches, ``transaction_files`` from raw files.

Each run takes the objects a sensor batched for one day (or, with no keys given, every object of
that day: a backfill), writes validated Parquet, quarantines what fails, and registers the day's
Glue partition only after every file is complete.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pandera.errors
import pyarrow.parquet as pq

from txdagster.contract.arrow import glue_columns
from txdagster.contract.pandera_schema import lake_schema
from txdagster.ingest.changes import parse_change_batch
from txdagster.ingest.files import parse_raw_file
from txdagster.ingest.pipeline import ObjectResult, Parser, ingest_object
from txdagster.ingest.rows import Parsed
from txdagster.lake import catalog
from txdagster.lake.listing import day_keys
from txdagster.partitions import DAILY
from txdagster.resources import LakeResource

CDC_PREFIX = "cdc/transactions/"
RAW_PREFIX = "raw/"
OWNERS = ["team:data-platform"]


class BatchConfig(dg.Config):
    object_keys: list[str] = []  # empty: every object of the partition's day


def _checks(table: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec("rows_accounted", asset=table, description="rows in = rows published + quarantined"),
        dg.AssetCheckSpec("valid_rows", asset=table, description="published rows pass the contract's pandera schema"),
        dg.AssetCheckSpec("schema_matches_contract", asset=table, description="Glue columns equal the contract's"),
    ]


def _materialize(
    context: dg.AssetExecutionContext, lake: LakeResource, config: BatchConfig, table: str, prefix: str, parse: Parser
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    dt = context.partition_key
    keys = config.object_keys or day_keys(lake.settings, prefix, dt)
    settings = lake.settings
    filesystem = lake.filesystem()
    results: list[ObjectResult] = []
    for key in keys:
        result = ingest_object(
            table=table,
            dt=dt,
            source_key=key,
            data=lake.read_object(key),
            parse=parse,
            filesystem=filesystem,
            bucket=settings.lake_bucket,
        )
        context.log.info(
            f"{key}: {result.rows_valid} published, {result.rows_quarantined} quarantined"
            + (f" ({'; '.join(result.reasons[:2])})" if result.reasons else "")
        )
        results.append(result)
    written = [r.parquet_key for r in results if r.parquet_key]
    new_partitions = catalog.add_partitions(settings, table, [dt]) if written else []
    rows_in = sum(r.rows_in for r in results)
    quarantined = sum(r.rows_quarantined for r in results)
    published = _published_rows(filesystem, settings.lake_bucket, written)
    yield dg.MaterializeResult(
        metadata={
            "objects": len(keys),
            "rows_in": rows_in,
            "rows_published": published,
            "rows_quarantined": quarantined,
            "bytes_written": sum(r.parquet_bytes for r in results),
            "partition_registered": dg.MetadataValue.text(f"dt={dt}" + (" (new)" if new_partitions else "")),
            "files": dg.MetadataValue.json(written[:50]),
            "quarantine": dg.MetadataValue.json([r.quarantine_key for r in results if r.quarantine_key][:50]),
        }
    )
    yield dg.AssetCheckResult(
        check_name="rows_accounted",
        passed=rows_in == published + quarantined,
        metadata={"rows_in": rows_in, "rows_published": published, "rows_quarantined": quarantined},
    )
    yield _validity(table, filesystem, settings.lake_bucket, written, quarantined, results)
    yield _schema_drift(settings, table)


def _published_rows(filesystem, bucket: str, keys: list[str]) -> int:
    """Read the row counts back from the written files' footers: what is really in the lake."""
    return sum(pq.ParquetFile(filesystem.open_input_file(f"{bucket}/{key}")).metadata.num_rows for key in keys)


def _validity(table, filesystem, bucket, keys, quarantined, results) -> dg.AssetCheckResult:
    failures = 0
    for key in keys:
        frame = pq.read_table(filesystem.open_input_file(f"{bucket}/{key}")).to_pandas(types_mapper=pd.ArrowDtype)
        try:
            lake_schema(table).validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            failures += len(exc.failure_cases)
    return dg.AssetCheckResult(
        check_name="valid_rows",
        passed=failures == 0,
        severity=dg.AssetCheckSeverity.ERROR if failures else dg.AssetCheckSeverity.WARN,
        metadata={
            "failing_published_values": failures,
            "rows_quarantined": quarantined,
            "sample_reasons": dg.MetadataValue.json([reason for r in results for reason in r.reasons][:10]),
        },
    )


def _schema_drift(settings, table: str) -> dg.AssetCheckResult:
    expected = [(c["Name"], c["Type"]) for c in glue_columns(table)]
    actual = [(c["Name"], c["Type"]) for c in catalog.table_columns(settings, table)]
    return dg.AssetCheckResult(
        check_name="schema_matches_contract",
        passed=expected == actual,
        metadata={
            "missing_in_glue": dg.MetadataValue.json([c for c in expected if c not in actual]),
            "unexpected_in_glue": dg.MetadataValue.json([c for c in actual if c not in expected]),
        },
    )


def _lake_asset(table: str, prefix: str, parse: Parser, description: str, kinds: set[str]) -> Callable:
    @dg.asset(
        name=table,
        partitions_def=DAILY,
        group_name="lake",
        kinds=kinds,
        owners=OWNERS,
        description=description,
        check_specs=_checks(table),
        metadata={"glue_table": table, "location": f"curated/{table}/dt=YYYY-MM-DD/", "source_prefix": prefix},
    )
    def _asset(context: dg.AssetExecutionContext, config: BatchConfig, lake: LakeResource):
        yield from _materialize(context, lake, config, table, prefix, parse)

    return _asset


transaction_changes = _lake_asset(
    "transaction_changes",
    CDC_PREFIX,
    parse_change_batch,
    "Every change DynamoDB Streams recorded on `transactions` (INSERT/MODIFY/REMOVE with sequence numbers), "
    "from the stream exporter's batches under cdc/, as zstd Parquet partitioned by arrival day.",
    {"s3", "parquet", "glue", "dynamodb"},
)


def _parse_file(data: bytes, key: str) -> Parsed:
    return parse_raw_file(data, key, datetime.now(UTC))


transaction_files = _lake_asset(
    "transaction_files",
    RAW_PREFIX,
    _parse_file,
    "Transactions from files dropped under raw/<source_system>/dt=YYYY-MM-DD/ (NDJSON, JSON, CSV, gzip), "
    "validated against the contract, as zstd Parquet partitioned by arrival day.",
    {"s3", "parquet", "glue"},
)
