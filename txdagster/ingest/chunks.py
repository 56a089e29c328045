"""An input object as a stream of byte chunks: gunzipped on the fly and cut into blocks of whole lines,
so that memory follows the block size, never the object's size."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

BLOCK_BYTES = 4 << 20  # lines are typed a block of about this many bytes at a time
GZIP_MAGIC = b"\x1f\x8b"


def gunzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The decompressed content of gzip ``chunks`` (several concatenated members allowed).
    Raises ``zlib.error`` for damaged data and ``EOFError`` for a stream cut short."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    in_member = False
    for chunk in chunks:
        while chunk:
            in_member = True
            out = decompressor.decompress(chunk)
            if out:
                yield out
            if not decompressor.eof:
                break
            chunk = decompressor.unused_data  # the next member, if any
            decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            in_member = False
    if in_member:
        raise EOFError("the gzip stream ends in the middle of a member (a truncated object?)")


def content(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The object's content: gunzipped when it starts with the gzip magic number, else as it is."""
    iterator = iter(chunks)
    first = b""
    for chunk in iterator:
        first = chunk
        if chunk:
            break
    if first[:2] == GZIP_MAGIC:
        yield from gunzipped(_chain(first, iterator))
    else:
        yield from _chain(first, iterator)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def line_blocks(chunks: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines of about ``size`` bytes, with the number of each block's first line."""
    pending, start, line = b"", 0, 1
    for chunk in chunks:
        pending = pending[start:] + chunk if start or not pending else pending + chunk
        start = 0
        while len(pending) - start >= size:
            end = pending.find(b"\n", start + size - 1)
            if end < 0:
                break
            block = pending[start : end + 1]
            start = end + 1
            yield line, block
            line += block.count(b"\n")
    if len(pending) > start:
        yield line, pending[start:]


def lines_in(block: bytes) -> int:
    """How many lines a block has: the rows it must give for row numbers to hold (no blank lines)."""
    return block.count(b"\n") + (0 if block.endswith(b"\n") else 1)


def record_blocks(chunks: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Blocks of whole CSV records of about ``size`` bytes: cut only at a newline outside quotes (an even
    number of ``"`` before it; RFC 4180 doubles a quote inside a field, which keeps the count even)."""
    pending, start = b"", 0
    for chunk in chunks:
        pending = pending[start:] + chunk if start or not pending else pending + chunk
        start = 0
        while len(pending) - start >= size:
            end = _record_end(pending, start, start + size - 1)
            if end < 0:
                break
            yield pending[start : end + 1]
            start = end + 1
    if len(pending) > start:
        yield pending[start:]


def _record_end(data: bytes, start: int, at: int) -> int:
    """The first newline at or after ``at`` that ends a record (outside quotes), or -1."""
    quotes = data.count(b'"', start, at)
    end = data.find(b"\n", at)
    while end >= 0:
        quotes += data.count(b'"', at, end)
        if quotes % 2 == 0:
            return end
        at = end
        end = data.find(b"\n", end + 1)
    return -1
