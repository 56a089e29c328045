"""The nesting guard: pyarrow's JSON reader slows down with depth and overflows its stack on very deep
lines, so a block nested deeper than ``MAX_NESTING`` goes row by row; a block of short lines is proven
shallow without counting brackets."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from txdagster.ingest.chunks import LINE_BLOCK_BYTES
from txdagster.ingest.columnar.arrays import TEXT_PIECE, NotColumnar

_READ = pj.ReadOptions(block_size=LINE_BLOCK_BYTES * 2, use_threads=False)  # blocks are typed two at a time already


#: Deeper blocks go row by row: pyarrow's JSON reader slows down with depth (1 s per 2 MB of lines 10k
#: levels deep, against 0.03 s at 1k) and overflows its stack by 100k levels.
MAX_NESTING = 1024
_NEWLINE = ord("\n")


_BRACKETS = np.zeros(256, dtype=np.int8)
_BRACKETS[[ord("{"), ord("[")]] = 1
_BRACKETS[[ord("}"), ord("]")]] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if _BRACKETS[b] == 0)


def lines_shorter_than(block: bytes | pa.Buffer, limit: int) -> bool:
    """Whether every line of the block is shorter than ``limit`` bytes (then no line nests deeper): each
    aligned window of ``limit // 2`` bytes holds a line break, so two breaks are never ``limit`` bytes
    apart. One comparison and one ``any`` per window in numpy, without the GIL; a block of long lines
    gets ``False`` and its brackets are counted (``_nesting``)."""
    data = np.frombuffer(memoryview(block), dtype=np.uint8)
    window = limit // 2
    whole = len(data) - len(data) % window
    breaks = (data[:whole] == _NEWLINE).view(np.uint64).reshape(-1, window // 8)
    return bool(breaks.any(axis=1).all())


def _nesting(block: bytes | pa.Buffer) -> int:
    """An upper bound of the block's bracket nesting (brackets inside strings may only raise it)."""
    brackets = b"".join(piece.translate(None, _NOT_BRACKETS) for piece in _pieces(block))  # a few bytes a line
    if not brackets:
        return 0
    depth = np.cumsum(_BRACKETS[np.frombuffer(brackets, dtype=np.uint8)], dtype=np.int32)
    return int(depth.max() - min(depth.min(), 0))


def _pieces(block: bytes | pa.Buffer) -> Iterator[bytes]:
    """A block as ``bytes`` (what ``bytes.translate`` reads), ``TEXT_PIECE`` bytes at a time for an Arrow
    buffer: a small copy comes from memory the allocator reuses, a block-sized one would not."""
    if isinstance(block, bytes):
        yield block
        return
    for at in range(0, block.size, TEXT_PIECE):
        yield block.slice(at, min(TEXT_PIECE, block.size - at)).to_pybytes()


def read_json_block(block: bytes | pa.Buffer, parse: pj.ParseOptions) -> pa.Table:
    if not lines_shorter_than(block, MAX_NESTING) and _nesting(block) > MAX_NESTING:
        raise NotColumnar(f"nested deeper than {MAX_NESTING} levels")
    try:
        return pj.read_json(pa.BufferReader(block), read_options=_READ, parse_options=parse)  # no GIL, no copy
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise NotColumnar(str(exc)) from exc
