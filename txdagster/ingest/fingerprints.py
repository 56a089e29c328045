"""The transaction ids one file has delivered, 8 bytes each, so that memory follows the file's rows
only by that much: 64-bit fingerprints kept in sorted runs, merged like a counter in base 8 (eight
runs of a level make one of the next) up to runs of 2^20 prints (a larger merge is a spike of memory
that follows the file: at 3M ids, 60 MB), each lookup a binary search per run.
A map of 2^18 words of 64 bits (2 MiB whatever the file's size, so it stays in the cache) stands in
front of the runs as a blocked Bloom filter: each print sets two bits of one word, the word picked by
its top bits (so a sorted block's words come in order, and setting them is a vectorised OR per word),
the two bits by the next ones. A block whose ids all miss it is fresh without a search, and only the
ids that hit it are searched for (a binary search in runs of millions is a cache miss per step: it
cost more than the hashing).

A fingerprint is a keyed hash of the id's UTF-8 bytes: its length, then each 8-byte word, through the
splitmix64 finaliser, starting from a key drawn at random per process (so a producer cannot aim ids
at one another). A column of ids is hashed in C (``_native.c``, without the GIL), else with numpy a
slice at a time; a single id (the row road) with the same arithmetic on Python ints. Two different
ids share a fingerprint with odds of about n²/2⁶⁵ in an n-row file (10⁻⁸ at a million rows); the
later one would then be quarantined as a repeat, never published twice or lost.
"""

from __future__ import annotations

import itertools
import os
import struct

import numpy as np
import pyarrow as pa

from txdagster.ingest.columnar import one_array
from txdagster.ingest.native import NATIVE

_MASK = (1 << 64) - 1
_KEY = int.from_bytes(os.urandom(8), "little")
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
#: Ids longer than this many bytes (never valid: the contract caps them far lower) are hashed one by one.
_WIDEST = 1024
_MAP_WORDS_BITS = 18  # the map has 2**_MAP_WORDS_BITS words of 64 bits (2 MiB)
_WORD_SHIFT = np.uint64(64 - _MAP_WORDS_BITS)
_BIT_SHIFTS = (np.uint64(64 - _MAP_WORDS_BITS - 6), np.uint64(64 - _MAP_WORDS_BITS - 12))
_SIX_BITS, _ONE = np.uint64(63), np.uint64(1)
_RUNS_PER_LEVEL = 8
#: Runs are merged only up to this many prints (8 MiB): a merge holds its runs, their copy and the sort's
#: buffer at once, a spike of 2.5 times its size that would make peak memory follow the file; past it
#: runs stay apart, and only the few ids the map lets through are searched in each.
_LONGEST_MERGE = 1 << 20
_SLICE_ROWS = 8192


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def _mix_int(z: int) -> int:
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def fingerprint(identifier: str) -> int:
    """One id's fingerprint (as ``fingerprints`` gives it for a column)."""
    raw = identifier.encode("utf-8", "surrogatepass")
    z = _mix_int(len(raw) ^ _KEY)
    for (word,) in struct.iter_unpack("<Q", raw + b"\0" * (-len(raw) % 8)):
        z = _mix_int(z ^ word)
    return z


def fingerprints(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """The fingerprints of a string column (a null counts as the empty id), as uint64. Hashed
    ``_SLICE_ROWS`` ids at a time: the temporaries stay in the cache, and small enough for the allocator
    to reuse (block-sized ones are fresh pages each time)."""
    if isinstance(column, pa.ChunkedArray):
        column = one_array(column)
    if len(column) == 0:
        return np.empty(0, dtype=np.uint64)
    if NATIVE is not None:
        _, offsets, data = column.buffers()
        wide = pa.types.is_large_string(column.type)
        hashed = NATIVE.fingerprints(offsets, data or b"", column.offset, len(column), wide, _KEY)
        return np.frombuffer(hashed, dtype=np.uint64)
    column = column.cast(pa.large_string()) if not pa.types.is_large_string(column.type) else column
    return np.concatenate([_hashed(column.slice(at, _SLICE_ROWS)) for at in range(0, len(column), _SLICE_ROWS)])


def _hashed(column: pa.LargeStringArray) -> np.ndarray:
    rows = len(column)
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[column.offset : column.offset + rows + 1]
    lengths = np.diff(offsets)
    widest = int(lengths.max())
    if widest > _WIDEST:
        return np.fromiter((fingerprint(i or "") for i in column.to_pylist()), dtype=np.uint64, count=rows)
    words = max(1, -(-widest // 8))
    matrix = np.zeros((rows, words * 8), dtype=np.uint8)
    if widest:
        data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
        matrix[np.arange(words * 8) < lengths[:, None]] = data  # row-major: each id's bytes, zero-padded
    as_words = matrix.view("<u8")
    own_words = -(-lengths // 8)
    z = _mix(lengths.astype(np.uint64) ^ np.uint64(_KEY))
    for j in range(words):
        z = np.where(j < own_words, _mix(z ^ as_words[:, j]), z)
    return z


def sorted_fingerprints(ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.sort(fingerprints(ids))


def _slots(prints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The map's word a print sets bits of (its top 18 bits), and those two bits (picked by the next
    two 6-bit slices) as a mask. Two bits per print leave about 1.5% of new prints to search for at a
    million ids."""
    masks = (_ONE << ((prints >> _BIT_SHIFTS[0]) & _SIX_BITS)) | (_ONE << ((prints >> _BIT_SHIFTS[1]) & _SIX_BITS))
    return prints >> _WORD_SHIFT, masks


class Fingerprints:
    def __init__(self) -> None:
        self._levels: list[list[np.ndarray]] = []  # level k holds up to 7 runs of about 8**k blocks
        self._recent: set[int] = set()  # one block's ids on the row road, before they join a run
        self._map: np.ndarray | None = None  # the Bloom filter's words (``_slots``)

    def _in_runs(self, prints: np.ndarray) -> np.ndarray:
        found = np.zeros(len(prints), dtype=bool)
        if self._map is None:
            return found
        words, masks = _slots(prints)
        maybe = np.flatnonzero((self._map[words] & masks) == masks)
        if len(maybe) == 0:
            return found
        candidates = prints[maybe]
        for run in (run for level in self._levels for run in level):
            at = np.minimum(np.searchsorted(run, candidates), len(run) - 1)
            found[maybe] |= run[at] == candidates
        return found

    def fresh_block(self, prints: np.ndarray) -> np.ndarray | None:
        """A columnar block's ids (``sorted_fingerprints``, computed where the block was typed) to
        ``add_sorted`` once its rows are taken, or None when one repeats inside the block or came in an
        earlier block."""
        if len(prints) > 1 and bool((prints[1:] == prints[:-1]).any()):
            return None
        if self._recent and not self._recent.isdisjoint(prints.tolist()):
            return None
        return None if bool(self._in_runs(prints).any()) else prints

    def seen(self, identifier: str) -> bool:
        print_ = fingerprint(identifier)
        return print_ in self._recent or bool(self._in_runs(np.array([print_], dtype=np.uint64))[0])

    def add(self, identifier: str) -> None:
        self._recent.add(fingerprint(identifier))

    def add_sorted(self, run: np.ndarray) -> None:
        """Fingerprints, sorted, that no run holds yet (``fresh_block`` checked them)."""
        if self._recent:
            run = np.sort(np.concatenate([run, np.fromiter(self._recent, dtype=np.uint64)]))
            self._recent.clear()
        if self._map is None:
            self._map = np.zeros(1 << _MAP_WORDS_BITS, dtype=np.uint64)
        if len(run):
            words, masks = _slots(run)  # words in order: the run is sorted
            firsts = np.flatnonzero(np.concatenate([[True], words[1:] != words[:-1]]))
            self._map[words[firsts]] |= np.bitwise_or.reduceat(masks, firsts)
        for level in itertools.count():
            if level == len(self._levels):
                self._levels.append([])
            self._levels[level].append(run)
            runs = self._levels[level]
            if len(runs) < _RUNS_PER_LEVEL or sum(len(r) for r in runs) > _LONGEST_MERGE:
                return
            run = np.concatenate(runs)
            run.sort(kind="stable")  # sorted runs: timsort merges them in linear time per run
            self._levels[level] = []

    def settle(self) -> None:
        """Move the row road's ids into a run (at the end of a block)."""
        if self._recent:
            self.add_sorted(np.empty(0, dtype=np.uint64))
