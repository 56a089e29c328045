"""The free ``attributes`` object as the contract's string map, within its limits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from txdagster.contract.fields import ATTRIBUTE_KEY_MAX_LENGTH, ATTRIBUTE_VALUE_MAX_LENGTH, ATTRIBUTES_MAX_KEYS
from txdagster.ingest.columnar.arrays import NotColumnar
from txdagster.ingest.columnar.text import lengths_clearly_within

MAP = pa.map_(pa.string(), pa.string())


def attributes_map(column: pa.Array | None, rows: int) -> pa.Array:
    """The free ``attributes`` object, inferred by pyarrow as a struct (or a Parquet string map), as the
    contract's string map."""
    if column is None or pa.types.is_null(column.type):
        return pa.nulls(rows, MAP)
    if pa.types.is_map(column.type):
        if column.type.key_type != pa.string() or column.type.item_type != pa.string():
            raise NotColumnar("attributes hold something other than text values")
        _within_limits(pa.array(np.diff(np.asarray(column.offsets))), column.keys, column.items)
        return column.cast(MAP)
    if not pa.types.is_struct(column.type) or any(
        column.type.field(i).type != pa.string() for i in range(column.type.num_fields)
    ):
        raise NotColumnar("attributes hold something other than text values")
    width = column.type.num_fields
    names = pa.array([column.type.field(i).name for i in range(width)], pa.string())
    # row-major (row, field) pairs, keeping the fields a row has (one field: its column as it is)
    if width == 1:
        values = column.field(0)
    else:
        order = np.add.outer(np.arange(rows, dtype=np.int64), np.arange(width, dtype=np.int64) * rows).reshape(-1)
        values = pa.concat_arrays([column.field(i) for i in range(width)]).take(pa.array(order))
    keys = names.take(pa.array(np.tile(np.arange(width, dtype=np.int32), rows)))
    if values.null_count:
        kept = pc.is_valid(values)
        per_row = np.asarray(kept, dtype=np.int64).reshape(rows, width).sum(axis=1)
        keys, values = keys.filter(kept), values.filter(kept)
    else:  # every row has every field
        per_row = np.full(rows, width, dtype=np.int64)
    _within_limits(pa.array(per_row), names, values)
    offsets = pa.array(np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32))
    mask = pc.invert(column.is_valid())
    return pa.MapArray.from_arrays(offsets, keys, values, type=MAP, mask=mask)


def _within_limits(keys_per_row: pa.Array, keys: pa.Array, values: pa.Array) -> None:
    """The contract's attribute limits: keys per object, key and value lengths (the row road names them)."""
    if (pc.max(keys_per_row).as_py() or 0) > ATTRIBUTES_MAX_KEYS:
        raise NotColumnar("attributes with too many keys")
    for texts, longest, what in (
        (keys, ATTRIBUTE_KEY_MAX_LENGTH, "key"),
        (values, ATTRIBUTE_VALUE_MAX_LENGTH, "value"),
    ):
        if not lengths_clearly_within(texts, 0, longest) and (pc.max(pc.utf8_length(texts)).as_py() or 0) > longest:
            raise NotColumnar(f"an attribute {what} too long")
