"""One input object through the whole road: parse, type, validate, write Parquet and quarantine.

Output names derive from the input key, so re-running an object overwrites instead of duplicating.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass

from pyarrow import fs

from txdagster.contract.arrow import PARTITION_COLUMN
from txdagster.ingest.rows import Parsed, to_arrow
from txdagster.ingest.validate import split_valid
from txdagster.ingest.write import write_parquet, write_quarantine

Parser = Callable[[bytes, str], Parsed]


@dataclass(frozen=True)
class ObjectResult:
    source_key: str
    rows_in: int
    rows_valid: int
    rows_quarantined: int
    parquet_key: str | None
    parquet_bytes: int
    quarantine_key: str | None
    reasons: tuple[str, ...]


def output_stem(source_key: str) -> str:
    """A stable, unique file stem for an input key: its base name plus a digest of the full key."""
    base = posixpath.basename(source_key).split(".", 1)[0][:80] or "object"
    return f"{base}-{hashlib.sha256(source_key.encode()).hexdigest()[:12]}"


def curated_key(table: str, dt: str, source_key: str) -> str:
    return f"curated/{table}/{PARTITION_COLUMN}={dt}/{output_stem(source_key)}.parquet"


def quarantine_key(table: str, dt: str, source_key: str) -> str:
    return f"quarantine/{table}/{PARTITION_COLUMN}={dt}/{output_stem(source_key)}.jsonl"


def ingest_object(
    *, table: str, dt: str, source_key: str, data: bytes, parse: Parser, filesystem: fs.FileSystem, bucket: str
) -> ObjectResult:
    parsed = parse(data, source_key)
    arrow_table, kept_origins, unfit = to_arrow(table, parsed)
    valid, invalid = split_valid(table, arrow_table, kept_origins)
    rejects = parsed.rejects + unfit + invalid
    parquet_key = quarantined_key = None
    size = 0
    if valid.num_rows:
        parquet_key = curated_key(table, dt, source_key)
        size = write_parquet(valid, filesystem, f"{bucket}/{parquet_key}")
    if rejects:
        quarantined_key = quarantine_key(table, dt, source_key)
        write_quarantine(rejects, filesystem, f"{bucket}/{quarantined_key}")
    return ObjectResult(
        source_key=source_key,
        rows_in=parsed.total,
        rows_valid=valid.num_rows,
        rows_quarantined=len(rejects),
        parquet_key=parquet_key,
        parquet_bytes=size,
        quarantine_key=quarantined_key,
        reasons=tuple(r.reason for r in rejects[:5]),
    )
