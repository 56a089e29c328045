"""Columns as canonical rows: defaults filled, each field checked with the contract's rules and cast to
its lake type, the fields the contract does not know counted."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from txdagster.contract.arrow import table_arrow_schema
from txdagster.contract.fields import (
    AMOUNT_PRECISION,
    AMOUNT_SCALE,
    EVENT_TIME_EARLIEST,
    FIELD_NAMES,
    FIELDS,
    INTEGER_MAX,
    INTEGER_MIN,
    Field,
)
from txdagster.ingest.columnar.arrays import fail_if, one_array
from txdagster.ingest.columnar.attributes import attributes_map
from txdagster.ingest.columnar.numbers import cast_column, check_number_text, decimals_from_text
from txdagster.ingest.columnar.text import check_text

DECIMAL = pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)
TIMESTAMP = pa.timestamp("us", tz="UTC")
CANONICAL = pa.schema([table_arrow_schema("transaction_files").field(f.name) for f in FIELDS])


def typed_column(f: Field, column: pa.Array) -> pa.Array:
    """One canonical column checked with the contract's rules and cast to its lake type."""
    if f.required:
        fail_if(column.is_null())
    if f.kind == "string":
        check_text(column, f.pattern, f.enum, f.max_length, f.min_length)
        return column
    if f.kind == "decimal":
        if (decimals := decimals_from_text(column)) is not None:
            return decimals
        check_number_text(column.drop_null(), point=True)
        return cast_column(f, column, DECIMAL)
    if f.kind == "timestamp":
        return cast_column(f, column, TIMESTAMP)
    if pa.types.is_string(column.type):  # an integer as text (a DynamoDB Number, a CSV cell)
        check_number_text(column.drop_null(), point=False)
        column = cast_column(f, column, pa.int64())
    fail_if(pc.or_(pc.less(column, INTEGER_MIN), pc.greater(column, INTEGER_MAX)))
    return column


def canonical_table(columns: dict[str, pa.Array], attributes: pa.Array) -> pa.Table:
    typed = [attributes if f.kind == "map" else typed_column(f, columns[f.name]) for f in FIELDS]
    return pa.table(typed, schema=CANONICAL)


def field_defaults(source_system: str, ingested_at: datetime) -> dict[str, str | int | datetime]:
    """What a missing or blank cell of these fields takes: the source from the object's key, version 1,
    the time of ingestion."""
    return {"source_system": source_system, "version": 1, "ingested_at": ingested_at}


def typed_records(
    table: pa.Table, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    rows = table.num_rows
    unknown = Counter(
        {
            name: rows - table.column(name).null_count
            for name in table.column_names
            if name not in FIELD_NAMES and table.column(name).null_count < rows
        }
    )
    defaults = field_defaults(source_system, ingested_at)
    columns: dict[str, pa.Array] = {}
    for f in FIELDS:
        if f.kind == "map":
            continue
        column = one_array(table.column(f.name)) if f.name in table.column_names else pa.nulls(rows, pa.string())
        if f.name in defaults and column.null_count:
            default = defaults[f.name]
            if pa.types.is_string(column.type) or pa.types.is_null(column.type):  # typed later, from text
                default = default.isoformat() if isinstance(default, datetime) else str(default)
                column = column.cast(pa.string())
            column = pc.fill_null(column, pa.scalar(default, column.type))
        columns[f.name] = column
    given = one_array(table.column("attributes")) if "attributes" in table.column_names else None
    result = canonical_table(columns, attributes_map(given, rows))
    event_time = result.column("event_time")
    fail_if(
        pc.or_(
            pc.less_equal(event_time, pa.scalar(EVENT_TIME_EARLIEST, TIMESTAMP)),
            pc.greater(event_time, pa.scalar(latest_event_time, TIMESTAMP)),
        )
    )
    return result, unknown
