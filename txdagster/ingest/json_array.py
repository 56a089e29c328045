"""A JSON array streamed as NDJSON: one element per line, in blocks of about ``size`` bytes.

The array's structure is found with numpy, not a parser: quotes not escaped by an odd run of
backslashes open and close strings; outside strings, brackets give the depth, and the commas at depth
one separate the elements. Each block is cut after such a comma, so the next one starts afresh at
depth one outside any string. Newlines between tokens become spaces and the separating commas become
newlines: the columnar road (or, for a bad block, the row road) reads the result like any NDJSON, and
element N of the array is line N.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from txdagster.ingest.chunks import BLOCK_BYTES

_QUOTE, _BACKSLASH, _COMMA, _NEWLINE = ord('"'), ord("\\"), ord(","), ord("\n")
_DEPTH = np.zeros(256, dtype=np.int8)
_DEPTH[[ord("["), ord("{")]] = 1
_DEPTH[[ord("]"), ord("}")]] = -1
_WHITESPACE = np.zeros(256, dtype=bool)
_WHITESPACE[[ord(" "), ord("\t"), ord("\n"), ord("\r")]] = True


class NotAnArray(ValueError):
    pass


def _structure(data: np.ndarray, depth_before: int) -> tuple[np.ndarray, np.ndarray]:
    """(outside a string, depth after each byte) for bytes that start outside any string."""
    backslash = data == _BACKSLASH
    positions = np.arange(len(data))
    last_other = np.maximum.accumulate(np.where(backslash, -1, positions))  # the last non-backslash so far
    run_before = np.empty(len(data), dtype=np.int64)  # backslashes right before each byte
    run_before[0] = 0
    run_before[1:] = positions[:-1] - last_other[:-1]
    quotes = (data == _QUOTE) & (run_before % 2 == 0)
    inside = (np.cumsum(quotes) - quotes) % 2 == 1  # after an odd number of real quotes
    outside = ~inside & ~quotes
    steps = np.where(outside, _DEPTH[data], 0)
    return outside, depth_before + np.cumsum(steps, dtype=np.int64)


def elements(chunks: Iterable[bytes], size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The array's elements as blocks of NDJSON lines. Raises ``NotAnArray`` when the content is not one
    JSON array (or ends before the array does)."""
    held: list[bytes] = []
    length, wanted, opened = 0, size, False
    for chunk in chunks:
        held.append(chunk)
        length += len(chunk)
        if length < wanted:
            continue
        data = b"".join(held)
        if not opened:
            data, opened = _opening(data), True
        blocks, rest = _cut(data, size)
        yield from blocks
        held, length = ([rest] if rest else []), len(rest)
        wanted = max(size, 2 * length) if length >= size else size
    data = b"".join(held)
    if not opened:
        data = _opening(data)
    yield from _last(data)


def _opening(data: bytes) -> bytes:
    stripped = data.removeprefix(b"\xef\xbb\xbf").lstrip()  # a byte order mark, then the bracket
    if not stripped.startswith(b"["):
        raise NotAnArray("a .json file must hold an array of transactions")
    return stripped[1:]


def _lines(data: bytes, outside: np.ndarray, separators: np.ndarray) -> bytes:
    """The elements one per line: separators become newlines, line breaks between tokens spaces."""
    array = np.frombuffer(data, dtype=np.uint8).copy()
    blank_before = np.concatenate([[0], np.cumsum(~_WHITESPACE[array])])  # non-blank bytes before each byte
    bounds = np.flatnonzero(separators)
    starts, ends = np.concatenate([[0], bounds + 1]), np.append(bounds, len(array))
    if (blank_before[ends] == blank_before[starts]).any():
        raise NotAnArray("the JSON array has an empty element (a comma too many)")
    array[outside & _WHITESPACE[array]] = ord(" ")
    array[separators] = _NEWLINE
    return array.tobytes()


def _cut(data: bytes, size: int) -> tuple[list[bytes], bytes]:
    """Blocks of elements (as lines) of about ``size`` bytes, each cut at a separator, and the bytes
    after the last separator."""
    array = np.frombuffer(data, dtype=np.uint8)
    outside, depth = _structure(array, 1)
    separators = np.flatnonzero(outside & (array == _COMMA) & (depth == 1))
    if len(separators) == 0:
        return [], data
    wanted = np.arange(size, int(separators[-1]) + size, size)
    cuts = np.unique(separators[np.minimum(np.searchsorted(separators, wanted), len(separators) - 1)])
    blocks: list[bytes] = []
    start = 0
    for end in cuts.tolist():
        inner = separators[(separators > start) & (separators < end)] - start
        mask = np.zeros(end - start, dtype=bool)
        mask[inner] = True
        blocks.append(_lines(data[start:end], outside[start:end], mask) + b"\n")
        start = end + 1
    return blocks, data[start:]


def _last(data: bytes) -> Iterator[bytes]:
    """The last elements and the closing bracket (nothing may follow it but whitespace)."""
    array = np.frombuffer(data, dtype=np.uint8)
    if len(array) == 0:
        raise NotAnArray("the JSON array ends before its closing bracket (a truncated file?)")
    outside, depth = _structure(array, 1)
    closing = np.flatnonzero(depth == 0)
    if len(closing) == 0:
        raise NotAnArray("the JSON array ends before its closing bracket (a truncated file?)")
    end = int(closing[0])
    if data[end + 1 :].strip():
        raise NotAnArray("something follows the JSON array's closing bracket")
    separators = outside[:end] & (array[:end] == _COMMA) & (depth[:end] == 1)
    body = data[:end]
    if body.strip():
        yield _lines(body, outside[:end], separators) + b"\n"
