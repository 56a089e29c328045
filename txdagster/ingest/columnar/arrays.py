"""What every part of the columnar road shares: a column as one Arrow array, a string column's bytes as
numpy views or as small pieces of text, and the refusal that sends a block row by row."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TEXT_PIECE = 64 << 10


def one_array(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array, at offset 0 (a struct's ``field`` ignores its offset): its only chunk as it
    is when it starts at 0 (``combine_chunks`` copies even that)."""
    if column.num_chunks == 1 and column.chunk(0).offset == 0:
        return column.chunk(0)
    return column.combine_chunks()


class NotColumnar(ValueError):
    """This block needs the row-by-row road."""


#: What sends a block row by row: a refusal here, or any error pyarrow raises on it (the row road then
#: says what is wrong with which row).
FALLBACK = (NotColumnar, pa.ArrowException)


def fail_if(mask: pa.Array) -> None:
    """A row where ``mask`` is true, or null (a rule that cannot be decided), breaks a rule."""
    if mask.null_count or pc.any(mask).as_py():
        raise NotColumnar("a row breaks a rule")


@functools.cache
def value_set(values: tuple[str, ...]) -> pa.Array:
    return pa.array(values, pa.string())


def string_values(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string column's offsets (from 0) and the UTF-8 bytes of its values, as numpy views (no copy)."""
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)[column.offset : column.offset + len(column) + 1]
    if data_buffer is None or len(offsets) < 2:
        return offsets - offsets[0] if len(offsets) else offsets, np.empty(0, dtype=np.uint8)
    return offsets - offsets[0], np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]


def text_pieces(column: pa.Array) -> Iterator[bytes]:
    """The UTF-8 bytes of a string column's values, one after the other, in pieces of about
    ``TEXT_PIECE`` bytes cut between values (never inside one): ``bytes.translate`` needs ``bytes``,
    and a piece that small comes from memory the allocator reuses, where a block's whole column would
    be new pages from the OS each time."""
    offsets, _ = string_values(column)
    data = column.buffers()[2]
    if data is None or len(offsets) < 2 or not offsets[-1]:
        return
    start = int(np.frombuffer(column.buffers()[1], dtype=offsets.dtype)[column.offset])
    total = int(offsets[-1])
    before = np.searchsorted(offsets, np.arange(TEXT_PIECE, total, TEXT_PIECE), side="right") - 1
    bounds = np.unique(np.concatenate([[0], offsets[before], [total]]))
    for low, high in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        yield data.slice(start + low, high - low).to_pybytes()
