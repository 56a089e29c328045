"""The columnar road's raw-file formats: NDJSON, CSV and Parquet blocks as canonical rows."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pj

from txdagster.contract.fields import AMOUNT_PRECISION, AMOUNT_SCALE, FIELDS, Field
from txdagster.ingest.chunks import BLOCK_BYTES
from txdagster.ingest.columnar.arrays import NotColumnar, one_array, string_values
from txdagster.ingest.columnar.checked_csv import read_checked_csv
from txdagster.ingest.columnar.native import read_csv_block, read_ndjson_block
from txdagster.ingest.columnar.nesting import read_json_block
from txdagster.ingest.columnar.records import TIMESTAMP, typed_records

_READ_TYPES = {"string": pa.string(), "decimal": pa.string(), "timestamp": pa.string(), "integer": pa.int64()}
_READ_SCHEMA = pa.schema([(f.name, _READ_TYPES[f.kind]) for f in FIELDS if f.kind in _READ_TYPES])
_PARSE = pj.ParseOptions(explicit_schema=_READ_SCHEMA, unexpected_field_behavior="infer")
_CSV_TYPES = {f.name: TIMESTAMP for f in FIELDS if f.kind == "timestamp"}


def typed_block(
    block: bytes | pa.Buffer, *, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    """A block of NDJSON lines as canonical rows (defaults filled, every rule checked), and the fields the
    contract does not know with how many rows carried them. Raises ``NotColumnar`` instead of guessing.
    The C reader reads the common case; pyarrow's reader what it leaves (``native.py``)."""
    table = read_ndjson_block(block)
    if table is None:
        table = read_json_block(block, _PARSE)
    return typed_records(table, source_system, ingested_at, latest_event_time)


def typed_csv_block(
    block: bytes | pa.Buffer,
    header: list[str],
    *,
    quoted: bool,
    source_system: str,
    ingested_at: datetime,
    latest_event_time: datetime,
) -> tuple[pa.Table, Counter[str]]:
    """A block of whole CSV records (no header line) read as columns named by ``header``, then as
    ``typed_block``. A row with too many or too few cells, or attributes (JSON text in a cell), sends
    the block row by row.

    - Only a blank cell is null (pyarrow's default would also take ``NA``, ``NULL``, ``nan``... for
      null, which the row road keeps as text): text columns are read without nulls, and their blank
      cells made null after (``_blanks_as_nulls``).
    - Timestamps are parsed by the reader, which accepts exactly what a cast from text does (pyarrow's
      JSON reader does not: it takes a time without a zone); the other columns are read as text.
    - Quoted line breaks are looked for only in a block with a quote (``quoted``).
    - A row with the wrong number of cells makes pyarrow raise (an ``invalid_row_handler`` would cost
      a Python call per row and a slower parser).
    - The common case, every cell passing its rule, is read and checked in one pass of C
      (``checked_csv.py``); else the C reader reads the cells as text (a blank one null, the timestamps
      cast after from text), and pyarrow's reader what it leaves (``native.py``), before the checks."""
    checked = read_checked_csv(
        block, header, source_system=source_system, ingested_at=ingested_at, latest_event_time=latest_event_time
    )
    if checked is not None:
        return checked, Counter()
    table = read_csv_block(block, header)
    if table is None:
        table = read_csv_with_pyarrow(block, header, quoted=quoted)
    return typed_csv_table(table, source_system, ingested_at, latest_event_time)


def read_csv_with_pyarrow(block: bytes | pa.Buffer, header: list[str], *, quoted: bool) -> pa.Table:
    try:
        table = pacsv.read_csv(
            pa.BufferReader(block),
            read_options=pacsv.ReadOptions(column_names=header, use_threads=False, block_size=BLOCK_BYTES * 2),
            parse_options=pacsv.ParseOptions(newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(
                column_types={name: _CSV_TYPES.get(name, pa.string()) for name in header},
                null_values=[""],  # in the timestamp columns; text columns keep "" (``_blanks_as_nulls``)
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:  # a row with too many or too few cells, or not UTF-8
        raise NotColumnar(str(exc)) from exc
    return _blanks_as_nulls(table)


def typed_csv_table(
    table: pa.Table, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    """A CSV block's columns, from either reader, checked and typed (attributes as JSON text refused)."""
    if "attributes" in table.column_names and table.column("attributes").null_count < table.num_rows:
        raise NotColumnar("attributes come as JSON text")
    return typed_records(
        table.drop_columns(["attributes"]) if "attributes" in table.column_names else table,
        source_system,
        ingested_at,
        latest_event_time,
    )


def _blanks_as_nulls(table: pa.Table) -> pa.Table:
    """A CSV block's blank text cells as nulls. The reader could null them itself
    (``strings_can_be_null``), but that costs about a tenth of its time on every cell, where the
    lengths of a column show at once whether it has a blank cell at all."""
    for i, name in enumerate(table.column_names):
        column = one_array(table.column(i))
        offsets, _ = string_values(column) if pa.types.is_string(column.type) else ((), None)
        if len(offsets) > 1 and int(np.diff(offsets).min()) == 0:
            blank = pc.equal(pc.binary_length(column), 0)
            table = table.set_column(i, name, pc.if_else(blank, pa.scalar(None, pa.string()), column))
    return table


_FIELD = {f.name: f for f in FIELDS}


def _parquet_column(f: Field, column: pa.Array) -> pa.Array:
    """A Parquet column in the form the checks take: text as text, a decimal that fits as its text, a
    time-zone aware timestamp, an integer; any other type sends the batch row by row."""
    if pa.types.is_null(column.type):
        return column.cast(pa.string()) if f.kind != "map" else column
    if f.kind == "map" or pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string()) if pa.types.is_large_string(column.type) else column
    if f.kind == "decimal" and pa.types.is_decimal(column.type):
        try:
            return column.cast(pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)).cast(pa.string())
        except pa.ArrowInvalid as exc:
            raise NotColumnar(f"{f.name}: {exc}") from exc
    if f.kind == "timestamp" and pa.types.is_timestamp(column.type) and column.type.tz is not None:
        return column
    if f.kind == "integer" and pa.types.is_integer(column.type):
        return column.cast(pa.int64())
    raise NotColumnar(f"{f.name} is a Parquet {column.type}")


def typed_parquet_block(
    table: pa.Table, *, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    """A batch of a Parquet file's rows, checked and typed as ``typed_block`` does NDJSON."""
    columns = {name: one_array(table.column(name)) for name in table.column_names}
    typed = {
        name: (_parquet_column(_FIELD[name], column) if name in _FIELD else column) for name, column in columns.items()
    }
    return typed_records(pa.table(typed), source_system, ingested_at, latest_event_time)
