"""CSV records read and checked in one pass of C (``ingest/_checked_csv.c``): the common case of a CSV
block, where every cell passes its rule, straight into canonical rows, without the text columns the
checks would otherwise read again (``formats.typed_csv_block`` tries it first).

It takes a block only when it is sure to give exactly the rows the text road gives (``read_csv_block``
then ``typed_csv_table``); anything else makes it answer None, and that road runs and says what is
wrong. What it takes:

- a header of the contract's fields only (an unknown column is counted by the text road), each text
  field with an enum, free text or a pattern a byte lookup checks (``text.byte_rule``);
- records as ``read_csv_block`` reads them, but no line break or carriage return inside quotes;
- text cells passing the field's enum, byte rule or free-text rule (valid UTF-8, no forbidden code
  point) and its length in characters;
- amounts in the contract's form (``DECIMAL_PATTERN``); timestamps only in the canonical form
  ``YYYY-MM-DDTHH:MM:SS(.f{1,6})?Z`` of a real date of years 1900-9999 (the cast takes more forms:
  those go the text road); integers of 1 to 18 digits without a leading zero, within the contract's
  range; ``event_time`` within its bounds;
- a blank cell: null where the field is optional, the default where it has one (``field_defaults``,
  whose text is checked here once), else the block is refused; ``attributes`` always blank.

A test reads canonical, refused and thousands of mutated records both ways and compares the rows
(``tests/unit/test_native.py``).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from txdagster.contract.fields import (
    AMOUNT_PRECISION,
    AMOUNT_SCALE,
    DECIMAL_PATTERN,
    EVENT_TIME_EARLIEST,
    FIELDS,
    FORBIDDEN_RANGES,
    FREE_TEXT_PATTERN,
    INTEGER_MAX,
    INTEGER_MIN,
    Field,
)
from txdagster.ingest.columnar.arrays import FALLBACK
from txdagster.ingest.columnar.attributes import attributes_map
from txdagster.ingest.columnar.native import foreign
from txdagster.ingest.columnar.records import CANONICAL, DECIMAL, TIMESTAMP, field_defaults
from txdagster.ingest.columnar.text import byte_rule, check_text
from txdagster.ingest.native import NATIVE

_EPOCH = datetime(1970, 1, 1, tzinfo=EVENT_TIME_EARLIEST.tzinfo)
_INT64 = (-(2**63), 2**63 - 1)
_FIELD = {f.name: f for f in FIELDS}
_TYPES = {"string": pa.string(), "decimal": DECIMAL, "timestamp": TIMESTAMP, "integer": pa.int64()}


def read_checked_csv(
    block: bytes | pa.Buffer,
    header: list[str],
    *,
    source_system: str,
    ingested_at: datetime,
    latest_event_time: datetime,
) -> pa.Table | None:
    """A block of whole CSV records (no header line) as canonical rows, or None: the text road reads it."""
    if NATIVE is None:
        return None
    rules = _rules(tuple(header), source_system, ingested_at, latest_event_time)
    if rules is None:
        return None
    got: Any = NATIVE.read_checked_csv(block, rules)
    if got is None:
        return None
    rows, columns = got
    given = dict(zip(header, columns, strict=True))
    defaults = field_defaults(source_system, ingested_at)
    arrays: list[pa.Array] = []
    for f in FIELDS:
        if f.kind == "map":
            arrays.append(attributes_map(None, rows))
        elif f.name in given:
            arrays.append(_array(_TYPES[f.kind], rows, given[f.name]))
        else:  # not in the header: optional, or its default (else no rules were made)
            nulls = pa.nulls(rows, _TYPES[f.kind])
            arrays.append(pc.fill_null(nulls, pa.scalar(defaults[f.name], nulls.type)) if f.name in defaults else nulls)
    return pa.table(arrays, schema=CANONICAL)


def _array(kind: pa.DataType, rows: int, column: tuple[Any, ...]) -> pa.Array:
    *buffers, nulls = column
    arrow: list[pa.Buffer | None] = [foreign(b) for b in buffers]
    if nulls == 0:
        arrow[0] = None  # every row present: no validity bitmap
    return pa.Array.from_buffers(kind, rows, arrow, nulls)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


@functools.lru_cache(maxsize=16)
def _rules(header: tuple[str, ...], source_system: str, ingested_at: datetime, latest_event_time: datetime) -> Any:
    """The C reader's rules for this header (a capsule), or None when it cannot take such blocks."""
    assert NATIVE is not None
    defaults = field_defaults(source_system, ingested_at)
    texts = {f.name: _checked_default(f, defaults.get(f.name)) for f in FIELDS if f.kind == "string"}
    if any(name not in _FIELD for name in header):
        return None
    for f in FIELDS:  # a column not in the header: the text road fills it with its default, then checks it
        if f.name in header or f.kind == "map":
            continue
        if (f.required and f.name not in defaults) or (f.name in defaults and texts.get(f.name, "") is None):
            return None
    bounds = {"event_time": (_micros(EVENT_TIME_EARLIEST) + 1, _micros(latest_event_time))}
    specs: list[tuple[Any, ...]] = []
    for name in header:
        f = _FIELD[name]
        default = defaults.get(name)
        if f.kind == "string":
            spec = _text_rule(f, texts[name])
        elif f.kind == "decimal" and f.pattern == DECIMAL_PATTERN:
            spec = ("d", f.required, AMOUNT_SCALE, AMOUNT_PRECISION - AMOUNT_SCALE)
        elif f.kind == "timestamp":
            fill = _micros(default) if isinstance(default, datetime) else None
            spec = ("T", f.required, fill, *bounds.get(name, _INT64))
        elif f.kind == "integer":
            spec = ("n", f.required, default, INTEGER_MIN, INTEGER_MAX)
        elif f.kind == "map":
            spec = ("a",)
        else:
            return None
        if spec is None:
            return None
        specs.append(spec)
    return NATIVE.csv_rules(tuple(specs), FORBIDDEN_RANGES)


def _checked_default(f: Field, default: Any) -> str | None:
    """A text field's default when it passes the field's rules (else a blank cell refuses the block, as
    the text road refuses it)."""
    if not isinstance(default, str):
        return None
    try:
        check_text(pa.array([default]), f.pattern, f.enum, f.max_length, f.min_length)
    except FALLBACK:
        return None
    return default


def _text_rule(f: Field, default: str | None) -> tuple[Any, ...] | None:
    free = f.pattern == FREE_TEXT_PATTERN
    rule = byte_rule(f.pattern) if f.pattern and not free else None
    if (f.pattern and not free and rule is None) or not (free or rule or f.enum):
        return None
    first, rest, shortest, longest = (
        (bytes(np.flatnonzero(rule[0]).astype(np.uint8)), *rule[1:]) if rule else (None, None, 0, 0)
    )
    enums = tuple(value.encode() for value in f.enum) if f.enum else None
    return (
        "t",
        f.required,
        default.encode() if default is not None else None,
        first,
        rest,
        shortest,
        longest,
        free,
        f.min_length or -1,
        f.max_length or -1,
        enums,
    )
