"""The C readers of the common case (``ingest/_native.c``): a block of canonical lines read in one pass
into the columns pyarrow's JSON reader leads to, three to ten times as fast on one core, without the
GIL, into memory reused from block to block. Each answers ``None`` for anything it is not sure to read
exactly as pyarrow would, and that block takes pyarrow's reader as before.

NDJSON raw files (``read_ndjson_block``: the columns pyarrow gives for the contract's read schema):

- every line holds one object (no blank line, nothing after it) of the contract's fields, each at most
  once; a field the contract does not know goes to pyarrow, which counts it;
- text fields are JSON strings of valid UTF-8 (escapes decoded; a lone surrogate is not taken) or null;
  integer fields are plain JSON integers of up to 18 digits or null;
- ``attributes`` is null or a non-empty object of text values, its entries in the order pyarrow infers
  a struct's fields: by when each key first came in the block.

Change batches (``read_change_block``: what ``changes.py`` takes from pyarrow's read, per image):

- every line holds the exporter's fields, each at most once (``event_id`` text, ``keys`` the
  transaction id); ``approximate_creation_time`` a JSON number (cast from its text, as pyarrow does);
- an image is null or an object of the contract's attributes, each ``{"S": text}`` or ``{"N": text}``
  as its kind says, or null; ``attributes`` a non-empty ``{"M": {...}}`` of ``{"S": text}`` values.

CSV records (``read_csv_block``: every cell text, a blank one null; the timestamps are cast after from
text, which accepts what pyarrow's CSV reader does): exactly the header's cells a record, ``""`` a quote
inside a quoted cell, line breaks kept there; a quote inside an unquoted cell, text after a closing
quote, a lone carriage return or a blank line goes to pyarrow.

They decide nothing about validity: the contract's checks run on their columns as they run on
pyarrow's, and a block they refuse goes row by row as before. A test reads canonical, refused and
thousands of mutated lines both ways and compares the rows (``tests/unit/test_native.py``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from txdagster.contract.fields import FIELDS
from txdagster.ingest.columnar.attributes import MAP
from txdagster.ingest.native import NATIVE

_KIND = {"string": "s", "decimal": "s", "timestamp": "s", "integer": "i", "map": "m"}
_TYPES = {"s": pa.string(), "i": pa.int64()}
_NAMES = tuple(f.name for f in FIELDS)
_KINDS = "".join(_KIND[f.kind] for f in FIELDS)
_TAGS = "".join({"decimal": "N", "integer": "N", "map": "M"}.get(f.kind, "S") for f in FIELDS)
_SIDES = ("new_image", "old_image")


class ChangeImage(NamedTuple):
    """One side's images, column-wise: whether a row has one, each field's tagged text, and the
    attributes as ``attributes_map`` takes them (None: no image has them)."""

    present: pa.Array
    fields: dict[str, pa.Array]
    attributes: pa.Array | None


class ChangeColumns(NamedTuple):
    rows: int
    event: pa.Array
    sequence: pa.Array
    seconds: pa.Array  # float64
    images: dict[str, ChangeImage]


def read_ndjson_block(block: bytes | pa.Buffer) -> pa.Table | None:
    """The block's columns as pyarrow's reader would give them, or None when it must read the block."""
    if NATIVE is None:
        return None
    got: Any = NATIVE.read_ndjson(block, _NAMES, _KINDS)
    if got is None:
        return None
    rows, columns, (map_keys, _) = got
    arrays: dict[str, pa.Array] = {}
    for f, column in zip(FIELDS, columns, strict=True):
        if f.kind != "map" or int(column[-1]) < rows:  # pyarrow has no attributes column when no row has one
            arrays[f.name] = _array(_KIND[f.kind], rows, column, map_keys)
    return pa.table(arrays)


def read_csv_block(block: bytes | pa.Buffer, header: list[str]) -> pa.Table | None:
    """A block of whole CSV records (no header line) as text columns named by ``header``, a blank cell
    null, as pyarrow's CSV reader gives them before the timestamps are cast; or None."""
    if NATIVE is None:
        return None
    got: Any = NATIVE.read_csv(block, len(header))
    if got is None:
        return None
    rows, columns, _ = got
    return pa.table({name: _array("s", rows, column) for name, column in zip(header, columns, strict=True)})


def read_change_block(block: bytes | pa.Buffer) -> ChangeColumns | None:
    """A change batch's block column-wise, as ``changes.py`` takes it from pyarrow's read, or None when
    pyarrow must read it."""
    if NATIVE is None:
        return None
    got: Any = NATIVE.read_changes(block, _NAMES, _TAGS)
    if got is None:
        return None
    rows, columns, keys = got
    event, sequence, seconds = (_array("s", rows, column) for column in columns[:3])
    images: dict[str, ChangeImage] = {}
    width = len(FIELDS) + 1
    for side, (name, map_keys) in enumerate(zip(_SIDES, keys, strict=True)):
        own = columns[3 + side * width : 3 + (side + 1) * width]
        # every field is tagged text (a DynamoDB Number too: its text is checked and cast after)
        fields = {
            f.name: _array("m" if f.kind == "map" else "s", rows, c, map_keys)
            for f, c in zip(FIELDS, own, strict=False)
        }
        validity, _ = own[-1]
        present = pa.Array.from_buffers(pa.bool_(), rows, [None, foreign(validity)])
        images[name] = ChangeImage(
            present, {n: a for n, a in fields.items() if n != "attributes"}, fields["attributes"]
        )
    return ChangeColumns(rows, event, sequence, pc.cast(seconds, pa.float64()), images)


def _array(kind: str, rows: int, column: tuple[Any, ...], map_keys: tuple[str, ...] = ()) -> pa.Array:
    """A column of the reader's as an Arrow array: text, integer (``i``) or map (``m``)."""
    buffers: list[pa.Buffer | None] = [foreign(b) for b in column[:-1]]
    nulls = int(column[-1])
    if nulls == 0:
        buffers[0] = None  # every row present: no validity bitmap
    if kind == "m":
        return _map(rows, nulls, buffers, map_keys)
    return pa.Array.from_buffers(_TYPES[kind], rows, buffers[:2] if kind == "i" else buffers, nulls)


def foreign(given: tuple[Any, int, int]) -> pa.Buffer:
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
