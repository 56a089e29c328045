"""An input object as a stream of byte chunks: gunzipped on the fly and cut into blocks of whole lines,
so that memory follows the block size, never the object's size."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, TypeVar

import numpy as np
import pyarrow as pa

from txdagster.ingest.native import NATIVE

BLOCK_BYTES = 4 << 20  # CSV records (and a block of lines by default) are typed about this many bytes at a time
#: NDJSON lines, which the C reader reads at about 1.8 GB/s, in larger blocks: a block's fixed cost (the
#: forty-some vectorised checks, a Python call each, holding the GIL between them) is then what counts
#: (1M-row bench: 1.0 s at 4 MiB, 0.72 s at 16; peak RSS 320 -> 460 MB, still flat in the file's size).
LINE_BLOCK_BYTES = 16 << 20
#: Objects are read this many bytes at a time. Small reads come from memory the allocator reuses; a
#: fresh MiB-sized ``bytes`` per read is new pages from the OS each time (docs/bench/README.md).
READ_CHUNK_BYTES = 64 << 10
GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
_NEWLINE = ord("\n")
B = TypeVar("B")


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


def split_first_line(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first line (without its line break) and the chunks of what follows it (a CSV's header)."""
    iterator = iter(chunks)
    held: list[bytes] = []
    for chunk in iterator:
        end = chunk.find(b"\n")
        if end >= 0:
            return b"".join([*held, chunk[:end]]), _chain(chunk[end + 1 :], iterator)
        held.append(chunk)
    return b"".join(held), iter(())


class _Pending:
    """The bytes read but not yet cut into a block: the chunks as they came, seen as one run of bytes
    without joining them (``find`` and ``count`` of one byte; ``take`` hands a block's parts over)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._head = 0  # where the first chunk's pending bytes start
        self.length = 0

    def add(self, chunk: bytes) -> None:
        if chunk:
            self._chunks.append(chunk)
            self.length += len(chunk)

    def _pieces(self, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
        """(chunk, from, to, offset of ``from``) for the pending bytes in [start, end)."""
        offset = 0
        for i, chunk in enumerate(self._chunks):
            head = self._head if i == 0 else 0
            size = len(chunk) - head
            if offset + size > start and offset < end:
                low, high = max(start - offset, 0), min(end - offset, size)
                yield chunk, head + low, head + high, offset + low
            offset += size
            if offset >= end:
                return

    def find(self, byte: bytes, start: int, end: int | None = None) -> int:
        """Where ``byte`` first is in [start, end) of the pending bytes, or -1 (memchr on each chunk)."""
        for chunk, low, high, offset in self._pieces(start, self.length if end is None else end):
            found = chunk.find(byte, low, high)
            if found >= 0:
                return offset + found - low
        return -1

    def count(self, byte: bytes, start: int, end: int) -> int:
        return sum(chunk.count(byte, low, high) for chunk, low, high, _ in self._pieces(start, end))

    def take(self, size: int) -> list[tuple[bytes, int, int]]:
        """The first ``size`` pending bytes, as (chunk, from, to) parts (no copy), forgotten here."""
        parts = [(chunk, low, high) for chunk, low, high, _ in self._pieces(0, size)]
        self.length -= size
        while size:
            left = len(self._chunks[0]) - self._head
            if size < left:
                self._head += size
                break
            size -= left
            self._chunks.pop(0)
            self._head = 0
        return parts


Parts = list[tuple[bytes, int, int]]


class Records(NamedTuple):
    """A block of whole CSV records, and whether a quote is in it (then quoted line breaks must be
    looked for)."""

    data: pa.Buffer
    quoted: bool


def _arrow_buffer(parts: Parts) -> pa.Buffer:
    """A block copied into memory that earlier blocks freed: a fresh Python ``bytes`` of a few MiB is new
    pages from the OS each time, whose page faults cost more than the copy. The C parts copy into their
    pool without the GIL; else numpy copies into Arrow's pool (which returns more of it to the OS)."""
    if NATIVE is not None and all(type(chunk) is bytes for chunk, _, _ in parts):
        owner, address, size = NATIVE.join(parts)
        return pa.foreign_buffer(address, size, base=owner)
    block = pa.allocate_buffer(sum(high - low for _, low, high in parts))
    target = np.frombuffer(block, dtype=np.uint8)
    offset = 0
    for chunk, low, high in parts:
        target[offset : offset + high - low] = np.frombuffer(chunk, dtype=np.uint8)[low:high]
        offset += high - low
    return block


def _records(parts: Parts) -> Records:
    return Records(_arrow_buffer(parts), any(chunk.find(b'"', low, high) >= 0 for chunk, low, high in parts))


def _blocks(
    chunks: Iterable[bytes], size: int, end_at: Callable[[_Pending, int], int], block: Callable[[Parts], B]
) -> Iterator[B]:
    """Blocks of about ``size`` bytes, each cut at the end ``end_at(pending, at)`` finds at or after
    ``at`` (-1: none yet) and copied once out of the chunks by ``block``. A record longer than
    ``size`` waits for more chunks, twice as many each time, so searching stays linear."""
    pending = _Pending()
    wanted = size
    for chunk in chunks:
        pending.add(chunk)
        while pending.length >= wanted:
            end = end_at(pending, size - 1)
            if end < 0:
                wanted = 2 * pending.length
                break
            yield block(pending.take(end + 1))
            wanted = size
    if pending.length:
        yield block(pending.take(pending.length))


def _line_end(pending: _Pending, at: int) -> int:
    return pending.find(b"\n", at)


def line_blocks(chunks: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterator[pa.Buffer]:
    """Blocks of whole lines of about ``size`` bytes, in Arrow buffers."""
    return _blocks(chunks, size, _line_end, _arrow_buffer)


def lines_in(block: bytes | pa.Buffer) -> int:
    """How many lines a block has: the rows it must give for row numbers to hold (no blank lines).
    Counted without the GIL (``bytes.count`` holds it while the other typing thread waits): by C's
    ``memchr``, else by numpy (ten times slower: a comparison array of the block's size)."""
    data = np.frombuffer(memoryview(block), dtype=np.uint8)
    newlines = NATIVE.count_lines(block) if NATIVE is not None else int(np.count_nonzero(data == _NEWLINE))
    return newlines + (0 if len(data) and data[-1] == _NEWLINE else 1)


def without_bom(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The chunks without a UTF-8 byte order mark at the start of the object."""
    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if len(head) >= len(UTF8_BOM) or not UTF8_BOM.startswith(head):
            break
    yield head.removeprefix(UTF8_BOM)
    yield from iterator


def record_blocks(chunks: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterator[Records]:
    """Blocks of whole CSV records of about ``size`` bytes, in Arrow buffers: cut only at a newline
    outside quotes (an even number of ``"`` before it; RFC 4180 doubles a quote inside a field, which
    keeps the count even)."""
    return _blocks(chunks, size, _record_end, _records)


def _record_end(pending: _Pending, at: int) -> int:
    """The first newline at or after ``at`` that ends a record (outside quotes), or -1."""
    end = pending.find(b"\n", at)
    if end >= 0 and pending.find(b'"', 0, end) < 0:  # no quote at all before it (memchr, not a count)
        return end
    quotes = pending.count(b'"', 0, at)
    while end >= 0:
        quotes += pending.count(b'"', at, end)
        if quotes % 2 == 0:
            return end
        at = end
        end = pending.find(b"\n", end + 1)
    return -1
