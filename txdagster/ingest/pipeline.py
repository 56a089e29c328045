"""One input object through the whole road: parse, type, validate, write Parquet and quarantine.

The caller names the outputs (``txdagster.lake.layout`` derives them from the input key, so a re-run
overwrites instead of duplicating).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from pyarrow import fs

from txdagster.contract.arrow import table_arrow_schema
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
    unknown_fields: dict[str, int]  # fields the contract does not know -> rows that carried them


def ingest_object(
    *,
    table: str,
    source_key: str,
    data: bytes,
    parse: Parser,
    filesystem: fs.FileSystem,
    bucket: str,
    parquet_key: str,
    quarantine_key: str,
) -> ObjectResult:
    """Each output is written (to ``bucket/<key>`` on ``filesystem``) only when it has rows."""
    parsed = parse(data, source_key)
    arrow_table, kept_origins, unfit = to_arrow(table, parsed)
    valid, invalid = split_valid(table, arrow_table, kept_origins)
    if parsed.tables:  # the columnar road's rows passed the same rules already
        schema = table_arrow_schema(table)
        valid = pa.concat_tables([*(t.cast(schema) for t in parsed.tables), valid.cast(schema)])
    rejects = parsed.rejects + unfit + invalid
    size = write_parquet(valid, filesystem, f"{bucket}/{parquet_key}") if valid.num_rows else 0
    if rejects:
        write_quarantine(rejects, filesystem, f"{bucket}/{quarantine_key}")
    return ObjectResult(
        source_key=source_key,
        rows_in=parsed.total,
        rows_valid=valid.num_rows,
        rows_quarantined=len(rejects),
        parquet_key=parquet_key if valid.num_rows else None,
        parquet_bytes=size,
        quarantine_key=quarantine_key if rejects else None,
        reasons=tuple(r.reason for r in rejects[:5]),
        unknown_fields=dict(parsed.unknown_fields),
    )
