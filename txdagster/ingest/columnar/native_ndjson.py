"""The NDJSON reader of the common case: a block of canonical lines read in one pass of C
(``ingest/_native.c``) into the columns pyarrow's JSON reader gives for the contract's read schema,
three times as fast on one core, without the GIL, into memory it reuses from block to block.

It reads only what it is sure to read exactly as pyarrow would, and answers ``None`` for anything else,
which then takes pyarrow's reader (``nesting.read_json_block``) as before:

- every line holds one object (no blank line, nothing after it) of the contract's fields, each at most
  once; a field the contract does not know goes to pyarrow, which counts it;
- text fields are JSON strings of valid UTF-8 (escapes decoded; a lone surrogate is not taken) or null;
  integer fields are plain JSON integers of up to 18 digits or null;
- ``attributes`` is null or a non-empty object of text values, its entries in the order pyarrow infers
  a struct's fields: by when each key first came in the block.

It decides nothing about validity: the contract's checks (``records.typed_records``) run on its columns
as they run on pyarrow's, and a block they refuse goes row by row as before. A test reads generated
and mutated blocks both ways and compares the tables (``tests/unit/test_native_ndjson.py``).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from txdagster.contract.fields import FIELDS
from txdagster.ingest.columnar.attributes import MAP
from txdagster.ingest.native import NATIVE

_KIND = {"string": "s", "decimal": "s", "timestamp": "s", "integer": "i", "map": "m"}
_TYPES = {"s": pa.string(), "i": pa.int64()}
_NAMES = tuple(f.name for f in FIELDS)
_KINDS = "".join(_KIND[f.kind] for f in FIELDS)


def read_ndjson_block(block: bytes | pa.Buffer) -> pa.Table | None:
    """The block's columns as pyarrow's reader would give them, or None when it must read the block."""
    if NATIVE is None:
        return None
    got: Any = NATIVE.read_ndjson(block, _NAMES, _KINDS)
    if got is None:
        return None
    rows, columns, map_keys = got
    arrays: dict[str, pa.Array] = {}
    for f, column in zip(FIELDS, columns, strict=True):
        buffers: list[pa.Buffer | None] = [_buffer(b) for b in column[:-1]]
        nulls = int(column[-1])
        if nulls == rows and f.kind == "map":
            continue  # pyarrow has no attributes column when no row has the field
        if nulls == 0:
            buffers[0] = None  # every row present: no validity bitmap
        if f.kind == "map":
            arrays[f.name] = _map(rows, nulls, buffers, map_keys)
        else:
            kind = _KIND[f.kind]
            arrays[f.name] = pa.Array.from_buffers(_TYPES[kind], rows, buffers[:2] if kind == "i" else buffers, nulls)
    return pa.table(arrays)


def _buffer(given: tuple[Any, int, int]) -> pa.Buffer:
    """A buffer of the reader's: its memory goes back to the reader's pool when Arrow lets go of it."""
    owner, address, size = given
    return pa.foreign_buffer(address, size, base=owner)


def _map(rows: int, nulls: int, buffers: list[Any], map_keys: tuple[str, ...]) -> pa.Array:
    validity, offsets, key_ids, value_offsets, values = buffers
    entries = key_ids.size // 4
    items = pa.Array.from_buffers(pa.string(), entries, [None, value_offsets, values])
    keys = pa.array(map_keys, pa.string()).take(pa.Array.from_buffers(pa.int32(), entries, [None, key_ids]))
    offsets_array = pa.Array.from_buffers(pa.int32(), rows + 1, [None, offsets])
    mask = None
    if nulls:
        mask = pc.invert(pa.Array.from_buffers(pa.bool_(), rows, [None, validity]))
    return pa.MapArray.from_arrays(offsets_array, keys, items, type=MAP, mask=mask)
