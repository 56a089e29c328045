"""The Glue catalog: the lake tables (from the contract), their day partitions, and the views."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from txdagster.contract.arrow import PARTITION_COLUMN, TABLE_EXTRA_COLUMNS, glue_columns
from txdagster.lake import aws, layout
from txdagster.settings import Settings

GLUE_BATCH_LIMIT = 100  # real Glue rejects more partitions per BatchCreatePartition call
#: the Glue tables of the lake, by name (the contract declares each one's columns)
GLUE_TABLES = tuple(TABLE_EXTRA_COLUMNS)
_PARQUET_SERDE = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}


QUARANTINE_SUFFIX = "_quarantine"
_JSON_SERDE = {
    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
}
#: A lake table's quarantine as a Glue table (JSON lines under ``quarantine/<table>/``): where the SQL
#: road's INSERT INTO puts rejected rows. ``record`` holds the row's CSV cells by column name.
QUARANTINE_COLUMNS = [
    {"Name": "source_key", "Type": "string", "Comment": "The input object the row came from."},
    {"Name": "row_number", "Type": "bigint", "Comment": "1-based row number (NULL from the SQL road)."},
    {"Name": "reason", "Type": "string", "Comment": "Why the row was refused; names the field."},
    {"Name": "record", "Type": "map<string,string>", "Comment": "The row as it came, cell by column."},
]


class CatalogError(RuntimeError):
    pass


def table_location(settings: Settings, table: str) -> str:
    return f"s3://{settings.lake_bucket}/{layout.table_prefix(table)}"


def partition_location(settings: Settings, table: str, dt: str) -> str:
    return f"s3://{settings.lake_bucket}/{layout.partition_prefix(table, dt)}"


def ensure_database(settings: Settings) -> None:
    glue = aws.client("glue", settings)
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": settings.glue_database})


def _table_input(settings: Settings, table: str) -> dict[str, Any]:
    return {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "parquet.compression": "ZSTD", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string", "Comment": "Day the data arrived (UTC)"}],
        "StorageDescriptor": {
            "Columns": glue_columns(table),
            "Location": table_location(settings, table),
            **_PARQUET_SERDE,
        },
    }


def quarantine_table(table: str) -> str:
    return f"{table}{QUARANTINE_SUFFIX}"


def _quarantine_input(settings: Settings, table: str) -> dict[str, Any]:
    return {
        "Name": quarantine_table(table),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string", "Comment": "Day the data arrived (UTC)"}],
        "StorageDescriptor": {
            "Columns": QUARANTINE_COLUMNS,
            "Location": f"s3://{settings.lake_bucket}/{layout.QUARANTINE_PREFIX}{table}/",
            **_JSON_SERDE,
        },
    }


def is_parquet(table: dict[str, Any]) -> bool:
    """A Glue table of Parquet files (a lake table), not a view or a quarantine table."""
    return table.get("StorageDescriptor", {}).get("InputFormat") == _PARQUET_SERDE["InputFormat"]


def is_iceberg(table: dict[str, Any]) -> bool:
    """A Glue table Athena reads as Apache Iceberg (``transactions_current``)."""
    return table.get("Parameters", {}).get("table_type", "").upper() == "ICEBERG"


def ensure_lake(settings: Settings) -> None:
    """The database, the lake tables with their quarantine tables, and the Iceberg tables of the current
    state (``transactions_current`` and its tombstones)."""
    from txdagster.lake.current import ensure_current_table, ensure_removed_table  # pyiceberg: only here

    ensure_database(settings)
    for table in GLUE_TABLES:
        ensure_table(settings, table)
    ensure_current_table(settings)
    ensure_removed_table(settings)


def ensure_table(settings: Settings, table: str) -> None:
    """Create the table and its quarantine table, or bring their columns back to the contract's (schema
    drift is fixed here)."""
    for table_input in (_table_input(settings, table), _quarantine_input(settings, table)):
        _put_table(settings, table_input)


def _put_table(settings: Settings, table_input: dict[str, Any]) -> None:
    glue = aws.client("glue", settings)
    try:
        glue.create_table(DatabaseName=settings.glue_database, TableInput=table_input)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=settings.glue_database, TableInput=table_input)


def table_columns(settings: Settings, table: str) -> list[dict[str, str]]:
    glue = aws.client("glue", settings)
    found = glue.get_table(DatabaseName=settings.glue_database, Name=table)["Table"]
    return found["StorageDescriptor"]["Columns"]


def add_partitions(settings: Settings, table: str, days: Iterable[str]) -> list[str]:
    """Register day partitions (idempotent); returns the days that were new. A quarantine table's days sit
    under ``quarantine/<table>/`` (as Athena's INSERT INTO registers them)."""
    glue = aws.client("glue", settings)
    quarantined = table.removesuffix(QUARANTINE_SUFFIX) if table.endswith(QUARANTINE_SUFFIX) else None
    columns, serde = (QUARANTINE_COLUMNS, _JSON_SERDE) if quarantined else (glue_columns(table), _PARQUET_SERDE)
    days = sorted(set(days))
    created: list[str] = []
    for start in range(0, len(days), GLUE_BATCH_LIMIT):
        chunk = days[start : start + GLUE_BATCH_LIMIT]
        response = glue.batch_create_partition(
            DatabaseName=settings.glue_database,
            TableName=table,
            PartitionInputList=[
                {
                    "Values": [dt],
                    "StorageDescriptor": {
                        "Columns": columns,
                        "Location": (
                            f"s3://{settings.lake_bucket}/{layout.quarantine_prefix(quarantined, dt)}"
                            if quarantined
                            else partition_location(settings, table, dt)
                        ),
                        **serde,
                    },
                }
                for dt in chunk
            ],
        )
        failed = {tuple(e["PartitionValues"]): e["ErrorDetail"] for e in response.get("Errors", [])}
        for dt in chunk:
            error = failed.get((dt,))
            if error is None:
                created.append(dt)
            elif error.get("ErrorCode") != "AlreadyExistsException":
                raise CatalogError(f"Glue refused partition {table}/dt={dt}: {error}")
    return created


def partitions(settings: Settings, table: str) -> dict[str, str]:
    """Each registered day with its location (``s3://bucket/prefix/``): what readers read."""
    glue = aws.client("glue", settings)
    found: dict[str, str] = {}
    for page in glue.get_paginator("get_partitions").paginate(DatabaseName=settings.glue_database, TableName=table):
        found.update({p["Values"][0]: p["StorageDescriptor"]["Location"] for p in page["Partitions"]})
    return dict(sorted(found.items()))


def partition_days(settings: Settings, table: str) -> list[str]:
    return list(partitions(settings, table))


def live_prefix(settings: Settings, table: str, dt: str) -> str:
    """The key prefix a day's data lives under: its partition's location (a compacted generation
    moves it), or the layout's day folder for a day not registered yet."""
    glue = aws.client("glue", settings)
    try:
        found = glue.get_partition(DatabaseName=settings.glue_database, TableName=table, PartitionValues=[dt])
    except glue.exceptions.EntityNotFoundException:
        return layout.partition_prefix(table, dt)
    location = found["Partition"]["StorageDescriptor"]["Location"]
    return location.removeprefix(f"s3://{settings.lake_bucket}/").rstrip("/") + "/"


def move_partition(settings: Settings, table: str, dt: str, prefix: str) -> None:
    """Point the day's partition at ``prefix``: one Glue call, so a query reads the old files or the new."""
    aws.client("glue", settings).update_partition(
        DatabaseName=settings.glue_database,
        TableName=table,
        PartitionValueList=[dt],
        PartitionInput={
            "Values": [dt],
            "StorageDescriptor": {
                "Columns": glue_columns(table),
                "Location": f"s3://{settings.lake_bucket}/{prefix}",
                **_PARQUET_SERDE,
            },
        },
    )


def list_tables(settings: Settings) -> list[dict[str, Any]]:
    glue = aws.client("glue", settings)
    tables: list[dict[str, Any]] = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=settings.glue_database):
        tables.extend(page["TableList"])
    return tables


def put_view(settings: Settings, name: str, athena_sql: str, columns: list[dict[str, str]]) -> None:
    """Record a view the way Athena does (a VIRTUAL_VIEW table); used where Athena itself is absent."""
    glue = aws.client("glue", settings)
    table_input: dict[str, Any] = {
        "Name": name,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": athena_sql,
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {"Columns": columns, "SerdeInfo": {}},
    }
    try:
        glue.create_table(DatabaseName=settings.glue_database, TableInput=table_input)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=settings.glue_database, TableInput=table_input)
