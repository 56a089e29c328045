"""The columnar fast path for NDJSON raw files: a block of lines read by pyarrow with the contract's
types, checked with vectorised rules derived from ``FIELDS``, typed without a Python loop.

A block is taken whole or not at all: when pyarrow cannot read it with the contract's types (a JSON
number where text belongs, an object as a name...) or any of its rows breaks a rule, the caller sends
that block alone down the row-by-row road, which quarantines exactly the bad rows with their reasons.
The rules here and there come from the same contract, so both roads publish the same rows.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from txdagster.contract.arrow import table_arrow_schema
from txdagster.contract.fields import (
    AMOUNT_PRECISION,
    AMOUNT_SCALE,
    EVENT_TIME_EARLIEST,
    FIELD_NAMES,
    FIELDS,
    INTEGER_MAX,
    INTEGER_MIN,
    KEY,
)

#: A text form of a decimal (the row road's own check), then the contract's digit limits.
_DECIMAL_FORM = rf"^-?(0|[1-9][0-9]{{0,{AMOUNT_PRECISION - AMOUNT_SCALE - 1}}})(\.[0-9]{{1,{AMOUNT_SCALE}}})?$"
_READ_TYPES = {"string": pa.string(), "decimal": pa.string(), "timestamp": pa.string(), "integer": pa.int64()}
_READ_SCHEMA = pa.schema([(f.name, _READ_TYPES[f.kind]) for f in FIELDS if f.kind in _READ_TYPES])
_READ = pj.ReadOptions(block_size=1 << 20, use_threads=True)  # a block is parsed on every core
_PARSE = pj.ParseOptions(explicit_schema=_READ_SCHEMA, unexpected_field_behavior="infer")
_TIMESTAMP = pa.timestamp("us", tz="UTC")
_MAP = pa.map_(pa.string(), pa.string())


class NotColumnar(ValueError):
    """This block needs the row-by-row road."""


MAX_NESTING = 64  # deeper blocks go row by row: pyarrow's type inference slows down with depth


_BRACKETS = np.zeros(256, dtype=np.int8)
_BRACKETS[[ord("{"), ord("[")]] = 1
_BRACKETS[[ord("}"), ord("]")]] = -1


def _nesting(block: bytes) -> int:
    """An upper bound of the block's bracket nesting (brackets inside strings may only raise it)."""
    steps = _BRACKETS[np.frombuffer(block, dtype=np.uint8)]
    depth = np.cumsum(steps[steps != 0], dtype=np.int32)
    return int(depth.max() - min(depth.min(), 0)) if len(depth) else 0


def _read(block: bytes) -> pa.Table:
    if _nesting(block) > MAX_NESTING:
        raise NotColumnar(f"nested deeper than {MAX_NESTING} levels")
    try:
        return pj.read_json(io.BytesIO(block), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise NotColumnar(str(exc)) from exc


def _attributes(table: pa.Table) -> pa.Array:
    """The free ``attributes`` object, inferred by pyarrow as a struct, as the contract's string map."""
    if "attributes" not in table.column_names:
        return pa.nulls(table.num_rows, _MAP)
    column = table.column("attributes").combine_chunks()
    if pa.types.is_null(column.type):
        return pa.nulls(table.num_rows, _MAP)
    if not pa.types.is_struct(column.type) or any(
        column.type.field(i).type != pa.string() for i in range(column.type.num_fields)
    ):
        raise NotColumnar("attributes hold something other than text values")
    rows, width = len(column), column.type.num_fields
    names = pa.array([column.type.field(i).name for i in range(width)], pa.string())
    # row-major (row, field) pairs, keeping the fields a row has
    order = (np.arange(rows)[:, None] + np.arange(width)[None, :] * rows).ravel()
    values = pa.concat_arrays([column.field(i) for i in range(width)]).take(pa.array(order))
    keys = names.take(pa.array(np.tile(np.arange(width), rows)))
    kept = pc.is_valid(values)
    per_row = np.asarray(kept, dtype=np.int64).reshape(rows, width).sum(axis=1) if width else np.zeros(rows, np.int64)
    offsets = pa.array(np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32))
    mask = pc.invert(column.is_valid())
    return pa.MapArray.from_arrays(offsets, keys.filter(kept), values.filter(kept), type=_MAP, mask=mask)


def _fail_if(mask: pa.Array) -> None:
    if pc.any(pc.fill_null(mask, True)).as_py():
        raise NotColumnar("a row breaks a rule")


def _checked_text(column: pa.Array, pattern: str | None, enum: tuple[str, ...] | None, max_length: int | None) -> None:
    present = column.drop_null()
    if enum:
        _fail_if(pc.invert(pc.is_in(present, value_set=pa.array(enum))))
    if pattern:
        _fail_if(pc.invert(pc.match_substring_regex(present, pattern)))
    if max_length:
        _fail_if(pc.greater(pc.utf8_length(present), max_length))


def typed_block(
    block: bytes, *, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    """The block's rows as the canonical columns (defaults filled, every rule checked), and the fields the
    contract does not know with how many rows carried them. Raises ``NotColumnar`` instead of guessing."""
    table = _read(block)
    unknown = Counter({name: table.num_rows - table.column(name).null_count for name in table.column_names
                       if name not in FIELD_NAMES and table.column(name).null_count < table.num_rows})  # fmt: skip
    defaults = {"source_system": source_system, "version": 1, "ingested_at": ingested_at.isoformat()}
    columns: dict[str, pa.Array] = {}
    for f in FIELDS:
        if f.kind == "map":
            columns[f.name] = _attributes(table)
            continue
        column = table.column(f.name).combine_chunks()
        if f.name in defaults:
            column = pc.fill_null(column, pa.scalar(defaults[f.name], column.type))
        if f.required:
            _fail_if(column.is_null())
        if f.kind == "string":
            _checked_text(column, f.pattern, f.enum, f.max_length)
        elif f.kind == "decimal":
            _fail_if(pc.invert(pc.match_substring_regex(column.drop_null(), _DECIMAL_FORM)))
            column = pc.cast(column, pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE))
        elif f.kind == "timestamp":
            try:
                column = pc.cast(column, _TIMESTAMP)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise NotColumnar(f"{f.name}: {exc}") from exc
        elif f.kind == "integer":
            _fail_if(pc.or_(pc.less(column, INTEGER_MIN), pc.greater(column, INTEGER_MAX)))
        columns[f.name] = column
    event_time = columns["event_time"]
    _fail_if(pc.or_(pc.less(event_time, pa.scalar(EVENT_TIME_EARLIEST, _TIMESTAMP)),
                    pc.greater(event_time, pa.scalar(latest_event_time, _TIMESTAMP))))  # fmt: skip
    if pc.count_distinct(columns[KEY]).as_py() != table.num_rows:
        raise NotColumnar(f"{KEY} repeats inside the block")
    canonical = table_arrow_schema("transaction_files")
    schema = pa.schema([canonical.field(f.name) for f in FIELDS])
    return pa.table([columns[f.name] for f in FIELDS], schema=schema), unknown
