"""The lake bucket's layout: the one module that builds and parses its keys.

```
raw/<source_system>/dt=YYYY-MM-DD/<file>                       files from outside
<cdc_prefix>dt=YYYY-MM-DD/<stream>/<first_seq>-<last_seq>.jsonl.gz   the stream exporter's batches
curated/<table>/dt=YYYY-MM-DD/run-<batch sha12>-<run sha8>.parquet  the Glue tables' data: a run's file
curated/<table>/compacted/dt=YYYY-MM-DD/g<stamp>/part-NNNNN.parquet  a day rewritten into big files
quarantine/<table>/dt=YYYY-MM-DD/<stem>.jsonl                  rejected rows (or a poisoned object) with reasons
```
``<stem>`` derives from the source key and its ETag, so a retry overwrites its own quarantine (with the
same bytes) instead of adding one, and new content under a key gets outputs of its own (``txdagster
ingest`` names its local Parquet ``curated/<table>/dt=…/<stem>.parquet`` the same way). A run's file
carries the batch and the run: a re-executed run never overwrites what an earlier attempt published,
and the ledger records the name before the file is written (``planned``). The cdc
prefix is configuration (``TXD_CDC_PREFIX``, also handed to the stream exporter by the template); the
shapes are not.

A day's partition location in Glue names its *live* folder: the day folder until the day is first
compacted, then the newest generation ``g<stamp>``. Ingest runs publish into the live folder.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from datetime import date

from txdagster.contract.arrow import PARTITION_COLUMN

RAW_PREFIX = "raw/"
CURATED_PREFIX = "curated/"
QUARANTINE_PREFIX = "quarantine/"
COMPACTED_FOLDER = "compacted/"
_DAY_FOLDER = re.compile(rf"(?:^|/){PARTITION_COLUMN}=([^/]*)/")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: a bare \d takes fullwidth ones too


def day_of(key: str) -> str | None:
    """What the ``dt=`` folder a key sits under says, if there is one: a day, or text that
    :func:`misplaced_reason` refuses (``2024-02-30``, ``today``)."""
    match = _DAY_FOLDER.search(key)
    return match.group(1) if match else None


def is_day(text: str) -> bool:
    """Whether ``text`` is a calendar day written ``YYYY-MM-DD``."""
    if not _ISO_DAY.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def misplaced_reason(dt: str, first_day: str) -> str | None:
    """Why no partition can hold the rows of an object under ``dt=<dt>/`` (None: one can)."""
    if not dt:
        return f"it is under no {PARTITION_COLUMN}=YYYY-MM-DD folder: move it under the day it belongs to"
    if not is_day(dt):
        return (
            f"{PARTITION_COLUMN}={dt[:40]} is not a calendar day (YYYY-MM-DD): no partition can hold its rows; "
            "move it under the day it belongs to"
        )
    if dt < first_day:
        return f"{PARTITION_COLUMN}={dt} is before the lake's first day {first_day}: no partition can hold its rows"
    return None


def day_folder(dt: str) -> str:
    return f"{PARTITION_COLUMN}={dt}/"


def table_prefix(table: str) -> str:
    return f"{CURATED_PREFIX}{table}/"


def partition_prefix(table: str, dt: str) -> str:
    return f"{table_prefix(table)}{day_folder(dt)}"


def quarantine_prefix(table: str, dt: str) -> str:
    return f"{QUARANTINE_PREFIX}{table}/{day_folder(dt)}"


def output_stem(source_key: str, etag: str) -> str:
    """A stable, unique file stem for one content of an input key: its base name, a digest of the full
    key and one of its ETag. A retry rewrites the same name with the same bytes; new content under the
    same key gets new names, so no reader ever has a file changed under it."""
    base = posixpath.basename(source_key).split(".", 1)[0][:80] or "object"
    key_digest = hashlib.sha256(source_key.encode()).hexdigest()[:12]
    return f"{base}-{key_digest}-{hashlib.sha256(etag.encode()).hexdigest()[:8]}"


def curated_key(table: str, dt: str, source_key: str, etag: str) -> str:
    """One input's own Parquet output (``txdagster ingest`` on local files)."""
    return f"{partition_prefix(table, dt)}{output_stem(source_key, etag)}.parquet"


def run_file_key(folder: str, batch: str, run_id: str) -> str:
    """The one file an ingest run writes for its day (every object's valid rows), in the live folder.
    The run id is in the name: a re-executed run never overwrites what an earlier attempt published."""
    digest = hashlib.sha256(batch.encode()).hexdigest()[:12]
    return f"{folder}run-{digest}-{hashlib.sha256(run_id.encode()).hexdigest()[:8]}.parquet"


def generations_prefix(table: str, dt: str) -> str:
    return f"{table_prefix(table)}{COMPACTED_FOLDER}{day_folder(dt)}"


def generation_prefix(table: str, dt: str, stamp: str) -> str:
    """A compacted generation of a day; ``stamp`` (``YYYYmmddTHHMMSSffffffZ``) sorts by time."""
    return f"{generations_prefix(table, dt)}g{stamp}/"


def part_key(generation: str, number: int) -> str:
    return f"{generation}part-{number:05d}.parquet"


def is_part(key: str) -> bool:
    """A file of a compacted generation."""
    return f"/{COMPACTED_FOLDER}" in key and posixpath.basename(key).startswith("part-")


def is_shared(key: str) -> bool:
    """A file holding the rows of many inputs (a run's file, or a part of a compacted generation): an
    input's rows leave it by a rewrite of the day, never by deleting it."""
    name = posixpath.basename(key)
    return key.startswith(CURATED_PREFIX) and (name.startswith("run-") or name.startswith("part-"))


def quarantine_key(table: str, dt: str, source_key: str, etag: str) -> str:
    return f"{quarantine_prefix(table, dt)}{output_stem(source_key, etag)}.jsonl"
