"""One Parquet file from row groups encoded apart: each part is a whole Parquet file of its own (written
by pyarrow in memory, on any thread), and the file is the parts' row-group bytes one after the other
with one footer that lists every part's row groups, their offsets shifted to where their bytes landed.

pyarrow encodes a file's row groups one after the other on one thread (its ``use_threads`` writer
option is not in its Python API, and serves buffered row groups only); encoding each row group as a
part lets two threads encode two row groups at once, and the file is the same a single writer would
give but for the bytes pyarrow leaves between row groups (none) and the footer's order of offsets.

The footer is Thrift (``thrift_compact.py``). The offsets shifted (parquet.thrift):
``RowGroup.file_offset`` (5), ``ColumnChunk.file_offset`` (2), ``offset_index_offset`` (4) and
``column_index_offset`` (6), ``ColumnMetaData.data_page_offset`` (9), ``index_page_offset`` (10),
``dictionary_page_offset`` (11) and ``bloom_filter_offset`` (14); ``RowGroup.ordinal`` (7) renumbered,
``FileMetaData.num_rows`` (3) summed. A part holding anything else with an offset (encryption) is
refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from txdagster.ingest.thrift_compact import I64, Field, Items, ThriftError, field, read_struct, write_struct

MAGIC = b"PAR1"
_NUM_ROWS, _ROW_GROUPS, _ENCRYPTION = 3, 4, 8
_GROUP_COLUMNS, _GROUP_OFFSET, _GROUP_ORDINAL = 1, 5, 7
_CHUNK_OFFSETS, _CHUNK_META, _CHUNK_CRYPTO = (2, 4, 6), 3, 8
_META_OFFSETS = (9, 10, 11, 14)


@dataclass
class Part:
    """A whole Parquet file split: its row groups' bytes (the body) and its footer, read."""

    body: pa.Buffer
    footer: list[Field]


def split(data: pa.Buffer) -> Part:
    """A Parquet file's body (after the leading magic, before the footer) and its footer."""
    view = memoryview(data)
    if len(view) < 12 or bytes(view[:4]) != MAGIC or bytes(view[-4:]) != MAGIC:
        raise ThriftError("not a Parquet file")
    size = int.from_bytes(view[-8:-4], "little")
    if size > len(view) - 12:
        raise ThriftError("a footer longer than the file")
    footer = read_struct(view[-8 - size : -8])
    if field(footer, _ENCRYPTION) is not None:
        raise ThriftError("an encrypted footer")
    return Part(data.slice(4, len(view) - 12 - size), footer)


def _shift(fields: list[Field], ids: tuple[int, ...], by: int) -> None:
    for f in fields:
        if f.id in ids and f.type == I64 and f.value >= 0:
            f.value += by


def joined_footer(parts: list[tuple[list[Field], int]]) -> bytes:
    """The footer of the parts' bodies laid one after the other: ``parts`` holds each footer and where
    its body starts in the file (the first at 4, after the magic). Every footer must come from the same
    schema and options; the first gives all but the row groups and the row count."""
    if not parts:
        raise ValueError("no part to join")
    first, _ = parts[0]
    groups: list[list[Field]] = []
    rows = 0
    for footer, start in parts:
        by = start - 4  # offsets in a part count from its own file's start, its body at 4
        listed = field(footer, _ROW_GROUPS)
        counted = field(footer, _NUM_ROWS)
        if listed is None or counted is None:
            raise ThriftError("a footer without row groups or a row count")
        rows += counted.value
        for group in listed.value.values:
            _shift(group, (_GROUP_OFFSET,), by)
            chunks = field(group, _GROUP_COLUMNS)
            for chunk in chunks.value.values if chunks else ():
                if field(chunk, _CHUNK_CRYPTO) is not None:
                    raise ThriftError("an encrypted column chunk")
                _shift(chunk, _CHUNK_OFFSETS, by)
                meta = field(chunk, _CHUNK_META)
                if meta is not None:
                    _shift(meta.value, _META_OFFSETS, by)
            ordinal = field(group, _GROUP_ORDINAL)
            if ordinal is not None:
                ordinal.value = len(groups)
            groups.append(group)
    joined: list[Field] = []
    for f in first:
        if f.id == _NUM_ROWS:
            f = Field(f.id, f.type, rows)
        elif f.id == _ROW_GROUPS:
            f = Field(f.id, f.type, Items(f.value.type, groups))
        joined.append(f)
    encoded = write_struct(joined)
    return encoded + len(encoded).to_bytes(4, "little") + MAGIC
