"""The pyarrow schemas of the lake tables and the Glue columns, both derived from ``FIELDS``."""

from __future__ import annotations

import pyarrow as pa

from txdagster.contract.fields import AMOUNT_PRECISION, AMOUNT_SCALE, FIELDS, Kind

_ARROW: dict[Kind, pa.DataType] = {
    "string": pa.string(),
    "decimal": pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "integer": pa.int64(),
    "map": pa.map_(pa.string(), pa.string()),
}
_GLUE: dict[Kind, str] = {
    "string": "string",
    "decimal": f"decimal({AMOUNT_PRECISION},{AMOUNT_SCALE})",
    "timestamp": "timestamp",
    "integer": "bigint",
    "map": "map<string,string>",
}

CHANGE_TYPES = ("INSERT", "MODIFY", "REMOVE")
#: Columns each lake table adds after the canonical ones, as (name, arrow type, description).
CHANGE_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("change_type", pa.string(), "INSERT, MODIFY or REMOVE, from the DynamoDB stream."),
    ("sequence_number", pa.string(), "Stream sequence number, left-padded with zeros to 40 digits."),
    ("change_time", pa.timestamp("us", tz="UTC"), "When DynamoDB recorded the change (UTC)."),
)
FILE_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("source_file", pa.string(), "The input object (raw file or change batch) the row came from."),
    ("source_row", pa.int64(), "1-based row number inside that file."),
)
#: Every lake row keeps its origin, so that a day's files can be merged and an input's rows withdrawn.
TABLE_EXTRA_COLUMNS = {"transaction_changes": CHANGE_COLUMNS + FILE_COLUMNS, "transaction_files": FILE_COLUMNS}
PARTITION_COLUMN = "dt"


def canonical_arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(f.name, _ARROW[f.kind], nullable=not f.required) for f in FIELDS])


def table_arrow_schema(table: str) -> pa.Schema:
    schema = canonical_arrow_schema()
    for name, dtype, _ in TABLE_EXTRA_COLUMNS[table]:
        schema = schema.append(pa.field(name, dtype))
    return schema


def _glue_type(dtype: pa.DataType) -> str:
    for kind, arrow_type in _ARROW.items():
        if arrow_type == dtype:
            return _GLUE[kind]
    if dtype == pa.int64():
        return "bigint"
    raise TypeError(f"no Glue type declared for arrow type {dtype}")


def glue_columns(table: str) -> list[dict[str, str]]:
    described = {f.name: f.description for f in FIELDS}
    described.update({name: desc for name, _, desc in TABLE_EXTRA_COLUMNS[table]})
    return [
        {"Name": fld.name, "Type": _glue_type(fld.type), "Comment": described[fld.name][:255]}
        for fld in table_arrow_schema(table)
    ]
