"""Which of an Iceberg table's data files are small, by day and size tier: what ``transactions_current``
and its tombstones merge, in a batch's own commit (``current.py``) or in upkeep (``current_upkeep.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.manifest import DataFile

#: A data file smaller than this is small: merging takes a day's small files and never reads its big ones.
SMALL_FILE_BYTES = 64 << 20
#: A day's small data files of one size tier are merged into one once there are this many.
SMALL_FILES_PER_DAY = 8
#: The size tiers: a file of up to TIER_BASE_BYTES is in tier 0, one SMALL_FILES_PER_DAY times bigger in
#: tier 1, and so on. Merging within a tier rewrites a row once per tier (four to reach 64 MiB), where
#: merging every small file of the day rewrote the whole day every few batches: at a batch a second
#: the merges grew with the day (an hour at 100 changes a second is 360,000 rows).
TIER_BASE_BYTES = 256 << 10
#: The day of a table without days: the tombstones' files are merged as one day's.
UNPARTITIONED = -1 << 40


def tier(size: int) -> int:
    """A data file's size tier (``TIER_BASE_BYTES``)."""
    return int(math.log(max(size, TIER_BASE_BYTES) / TIER_BASE_BYTES, SMALL_FILES_PER_DAY))


def day_of(data_file: DataFile) -> int | None:
    """The file's day (days since the epoch), ``UNPARTITIONED`` in a table without days, None for rows
    without a day."""
    return data_file.partition[0] if len(data_file.partition) else UNPARTITIONED


def by_day(files: Iterable[DataFile], tiered: bool = False) -> dict[tuple[int, int], list[DataFile]]:
    """The small files of each day, of each size tier if ``tiered`` (else all in tier 0)."""
    small: dict[tuple[int, int], list[DataFile]] = {}
    for data_file in files:
        day, size = day_of(data_file), data_file.file_size_in_bytes
        if day is not None and size < SMALL_FILE_BYTES:
            small.setdefault((day, tier(size) if tiered else 0), []).append(data_file)
    return small


def days(event_times: pa.ChunkedArray | pa.Array) -> set[int]:
    """The days (since the epoch) of these UTC timestamps."""
    dates = pc.unique(event_times.cast(pa.date32()).drop_null())
    return set(dates.cast(pa.int32()).to_pylist())


def to_fold(files: Iterable[DataFile], into: set[int]) -> list[DataFile]:
    """The small files of tier 0 in the days ``into`` that a commit writing into those days takes with
    it: a day's, where with the file the commit writes there are ``SMALL_FILES_PER_DAY``. Merging them
    there costs their bytes only, where a merge of its own is one more commit."""
    folded: list[DataFile] = []
    for (day, _), small in by_day(files, tiered=True).items():
        if day in into and _ == 0 and len(small) >= SMALL_FILES_PER_DAY - 1:
            folded.extend(small)
    return folded
