"""An input object as a stream of byte chunks: gunzipped on the fly and cut into blocks of whole lines,
so that memory follows the block size, never the object's size."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator

import numpy as np

BLOCK_BYTES = 4 << 20  # lines are typed a block of about this many bytes at a time
GZIP_MAGIC = b"\x1f\x8b"
_NEWLINE = ord("\n")


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


def _blocks(chunks: Iterable[bytes], size: int, end_at: Callable[[bytes, int, int], int]) -> Iterator[bytes]:
    """Blocks of about ``size`` bytes, each cut at the end ``end_at(data, start, at)`` finds at or after
    ``at`` (-1: none yet). Chunks are joined once per block, not once per chunk; a record longer than
    ``size`` waits for more chunks, twice as many each time, so joining stays linear."""
    held: list[bytes] = []
    length, wanted = 0, size
    for chunk in chunks:
        held.append(chunk)
        length += len(chunk)
        if length < wanted:
            continue
        data = b"".join(held) if len(held) > 1 else held[0]
        start = 0
        while len(data) - start >= size:
            end = end_at(data, start, start + size - 1)
            if end < 0:
                break
            yield data[start : end + 1]
            start = end + 1
        rest = data[start:] if start else data
        held, length = ([rest] if rest else []), len(rest)
        wanted = max(size, 2 * length) if length >= size else size
    if length:
        yield b"".join(held)


def _line_end(data: bytes, start: int, at: int) -> int:
    return data.find(b"\n", at)


def line_blocks(chunks: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Blocks of whole lines of about ``size`` bytes (the typing threads count their lines)."""
    return _blocks(chunks, size, _line_end)


def lines_in(block: bytes) -> int:
    """How many lines a block has: the rows it must give for row numbers to hold (no blank lines).
    Counted by numpy, which lets go of the GIL (``bytes.count`` holds it, 4x slower, while the other
    typing thread waits)."""
    newlines = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == _NEWLINE))
    return newlines + (0 if block.endswith(b"\n") else 1)


def record_blocks(chunks: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Blocks of whole CSV records of about ``size`` bytes: cut only at a newline outside quotes (an even
    number of ``"`` before it; RFC 4180 doubles a quote inside a field, which keeps the count even)."""
    return _blocks(chunks, size, _record_end)


def _record_end(data: bytes, start: int, at: int) -> int:
    """The first newline at or after ``at`` that ends a record (outside quotes), or -1."""
    end = data.find(b"\n", at)
    if end >= 0 and data.find(b'"', start, end) < 0:  # no quote at all before it (memchr, not a count)
        return end
    quotes = data.count(b'"', start, at)
    while end >= 0:
        quotes += data.count(b'"', at, end)
        if quotes % 2 == 0:
            return end
        at = end
        end = data.find(b"\n", end + 1)
    return -1
