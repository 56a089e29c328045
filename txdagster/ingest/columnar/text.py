"""The contract's text rules on whole columns: enums, patterns (a byte lookup where a pattern allows
it, else a regex), forbidden characters in free text, lengths in characters."""

from __future__ import annotations

import functools
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from txdagster.contract.fields import FORBIDDEN_RANGES, FREE_TEXT_PATTERN
from txdagster.ingest.columnar.arrays import NotColumnar, fail_if, string_values, text_pieces, value_set

#: Deleting every byte but the forbidden ASCII ones leaves nothing in clean text (``bytes.translate``: a
#: C loop, far cheaper than a regex per value or a numpy lookup per byte).
_NOT_FORBIDDEN = bytes(b for b in range(256) if not any(low <= b <= high for low, high in FORBIDDEN_RANGES))
_FORBIDDEN_WIDE = tuple(chr(c).encode() for low, high in FORBIDDEN_RANGES if low >= 0x80 for c in range(low, high + 1))
_WIDE_LEADS = tuple({sequence[:1] for sequence in _FORBIDDEN_WIDE})


def has_forbidden(column: pa.Array) -> bool:
    """Any forbidden character in the column's text (free text's rule, on the bytes: no regex per row)."""
    for text in text_pieces(column):
        if text.translate(None, _NOT_FORBIDDEN):
            return True
        if any(lead in text for lead in _WIDE_LEADS) and any(sequence in text for sequence in _FORBIDDEN_WIDE):
            return True
    return False


#: ``^[first][rest]{m,n}$``: a pattern a byte lookup checks as well as a regex, when both classes are ASCII.
_CLASS_PATTERN = re.compile(r"\^\[([^\]^][^\]]*)\]\[([^\]^][^\]]*)\]\{(\d+),(\d+)\}\$")


@functools.cache
def byte_rule(pattern: str) -> tuple[np.ndarray, bytes, int, int] | None:
    """(allowed first bytes, the bytes allowed after it, shortest, longest) of such a pattern whose first
    class is ASCII and within the second, else None (the regex then checks it)."""
    match = _CLASS_PATTERN.fullmatch(pattern)
    if match is None:
        return None
    classes = [re.compile(f"[{c}]") for c in match.groups()[:2]]
    first, rest = (np.array([c.fullmatch(chr(b)) is not None for b in range(256)]) for c in classes)
    if first[0x80:].any() or rest[0x80:].any() or (first & ~rest).any():
        return None
    return first, bytes(np.flatnonzero(rest).astype(np.uint8)), int(match[3]) + 1, int(match[4]) + 1


def follows_byte_rule(column: pa.Array, rule: tuple[np.ndarray, bytes, int, int]) -> bool:
    first, allowed, shortest, longest = rule
    offsets, data = string_values(column)
    if len(offsets) < 2:
        return True
    lengths = np.diff(offsets)
    if lengths.min() < shortest or lengths.max() > longest:
        return False
    return bool(first[data[offsets[:-1]]].all()) and not any(t.translate(None, allowed) for t in text_pieces(column))


def check_text(
    column: pa.Array,
    pattern: str | None,
    enum: tuple[str, ...] | None,
    max_length: int | None,
    min_length: int | None = None,
) -> None:
    present = column.drop_null() if column.null_count else column
    if enum:
        fail_if(pc.invert(pc.is_in(present, value_set=value_set(enum))))
    if pattern == FREE_TEXT_PATTERN:
        if has_forbidden(present):
            raise NotColumnar("a forbidden character in free text")
    elif pattern and (rule := byte_rule(pattern)):
        if not follows_byte_rule(present, rule):
            raise NotColumnar(f"a value does not match {pattern}")
    elif pattern:
        fail_if(pc.invert(pc.match_substring_regex(present, pattern)))
    if (max_length or min_length) and not lengths_clearly_within(present, min_length or 0, max_length or 2**31):
        lengths = pc.utf8_length(present)
        fail_if(pc.or_(pc.greater(lengths, max_length or 2**31), pc.less(lengths, min_length or 0)))


def lengths_clearly_within(column: pa.Array, shortest: int, longest: int) -> bool:
    """Whether the values' byte lengths alone prove their lengths in characters within the bounds (a
    UTF-8 character takes 1 to 4 bytes): then no character is counted. A null slot's bytes may only
    make the proof fail (the caller then counts characters)."""
    offsets, _ = string_values(column)
    if len(offsets) < 2:
        return True
    sizes = np.diff(offsets)
    return int(sizes.max()) <= longest and -(-int(sizes.min()) // 4) >= shortest
