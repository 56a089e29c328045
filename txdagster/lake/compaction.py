"""Rewrite a day of a lake table into files sized for readers, atomically for them.

The day's live files are read a row group at a time and written into parts of about
``TARGET_PART_BYTES`` (one part when the day is smaller) in a new generation folder; then the day's
Glue partition is moved to that folder in one call. A query lists the old generation or the new one:
it never sees a row twice or misses one. Earlier generations stay for ``TXD_COMPACTION_GRACE_SECONDS``
(queries that listed them before the move still read them); a later rewrite of the day deletes them.

The ledger says which rows are current: a row is kept when its file is among the outputs the ledger
records for its ``source_file``, so rows that an overwritten, withdrawn or poisoned object left in a
part are dropped here. Rows of sources the ledger does not know are kept. Afterwards each source's
ledger entry names the parts holding its rows. The rewrite holds the day alone
(``day_lock.py``): no ingest run publishes into the folder while it is read.
"""

from __future__ import annotations

import itertools
import posixpath
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest.write import ROW_GROUP_SIZE, ParquetRows
from txdagster.lake import aws, catalog, layout
from txdagster.lake.day_lock import EXCLUSIVE, DayLock
from txdagster.lake.ledger import Ledger
from txdagster.settings import Settings

#: Parts aim at this size: readers plan one split per 128-512 MB file.
TARGET_PART_BYTES = 256 << 20
_STAMP = "%Y%m%dT%H%M%S%fZ"


@dataclass
class Rewrite:
    table: str
    dt: str
    generation: str | None = None  # the new live folder; None when there was nothing to do
    files_in: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    rows_in: int = 0
    rows_out: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # source object -> rows no longer current
    deleted: list[str] = field(default_factory=list)  # files of generations past their grace period


def live_files(settings: Settings, folder: str) -> list[tuple[str, int]]:
    """(key, size) of the files directly in ``folder``, as Athena reads a partition: any name (its INSERT
    INTO writes files without an extension) but those starting with _ or ."""
    s3 = aws.client("s3", settings)
    found: list[tuple[str, int]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.lake_bucket, Prefix=folder, Delimiter="/"):
        found.extend(
            (o["Key"], o["Size"])
            for o in page.get("Contents", [])
            if not posixpath.basename(o["Key"]).startswith(("_", "."))
        )
    return sorted(found)


def compact_day(
    settings: Settings,
    table: str,
    dt: str,
    holder: str,
    *,
    target_bytes: int = TARGET_PART_BYTES,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> Rewrite:
    """Take the day's lock and rewrite the day (a day already in one part is left alone unless ``force``)."""
    with DayLock(settings, table, dt, holder, mode=EXCLUSIVE) as lock:
        lock.acquire(wait_seconds=settings.ingest_lease_seconds)
        return rewrite_day(settings, table, dt, lock, target_bytes=target_bytes, force=force, log=log)


class _Currency:
    """Which sources' rows in which files are current, asked of the ledger once per source."""

    def __init__(self, settings: Settings) -> None:
        self.ledger = Ledger(settings)
        self.bucket = settings.lake_bucket
        self.outputs: dict[str, list[str] | None] = {}

    def stale(self, sources: list[str], file_key: str) -> list[str]:
        unknown = [s for s in sources if s not in self.outputs]
        if unknown:
            found = self.ledger.get_many(self.bucket, unknown)
            self.outputs.update({s: (found[s].outputs if s in found else None) for s in unknown})
        return [s for s in sources if (outputs := self.outputs[s]) is not None and file_key not in outputs]


def _conformed(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """A row group of any earlier layout as the table's schema (columns added since are null)."""
    columns = [
        batch.column(f.name).cast(f.type) if f.name in batch.schema.names else pa.nulls(batch.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def rewrite_day(
    settings: Settings,
    table: str,
    dt: str,
    lock: DayLock,
    *,
    target_bytes: int = TARGET_PART_BYTES,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> Rewrite:
    """Rewrite the day's live folder into a new generation (the caller holds the day's lock)."""
    result = Rewrite(table, dt)
    live = catalog.live_prefix(settings, table, dt)
    files = live_files(settings, live)
    if not files or (len(files) == 1 and layout.is_part(files[0][0]) and not force):
        result.deleted = _expire_generations(settings, table, dt, live)
        return result
    result.files_in = [key for key, _ in files]
    stamp = datetime.now(UTC).strftime(_STAMP)
    generation = layout.generation_prefix(table, dt, stamp)
    total = sum(size for _, size in files)
    wanted = max(1, round(total / target_bytes))
    per_part = total / wanted
    schema = table_arrow_schema(table)
    filesystem = aws.s3_filesystem(settings)
    publish = aws.s3_publisher(settings)
    currency = _Currency(settings)
    holders: dict[str, set[str]] = {}  # source -> parts holding its rows
    renewed = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="txd-compact-") as work:
        part = ParquetRows(Path(work, "0.parquet"), schema)
        part_sources: set[str] = set()

        def finish() -> None:
            part.close()
            if part.rows:
                key = layout.part_key(generation, len(result.parts))
                publish(part.path, key)
                result.parts.append(key)
                result.rows_out += part.rows
                for source in part_sources:
                    holders.setdefault(source, set()).add(key)

        for key, _ in files:
            if time.monotonic() - renewed > settings.ingest_lease_seconds / 3:
                lock.renew()
                renewed = time.monotonic()
            with filesystem.open_input_file(f"{settings.lake_bucket}/{key}") as stream:
                for batch in pq.ParquetFile(stream).iter_batches(batch_size=ROW_GROUP_SIZE):
                    rows = _conformed(batch, schema)
                    result.rows_in += rows.num_rows
                    origin = rows.column("source_file")
                    sources: list[str] = [s for s in pc.unique(origin).to_pylist() if s is not None]
                    stale = currency.stale(sources, key)
                    if stale:
                        gone = pc.fill_null(pc.is_in(origin, value_set=pa.array(stale, pa.string())), False)
                        result.dropped.update(dict(zip(*_counts(origin.filter(gone)), strict=True)))
                        rows = rows.filter(pc.invert(gone))
                    part.append(rows)
                    part_sources.update(s for s in sources if s not in stale)
                    if part.path.exists() and part.path.stat().st_size >= per_part and len(result.parts) < wanted - 1:
                        finish()
                        part = ParquetRows(Path(work, f"{len(result.parts)}.parquet"), schema)
                        part_sources = set()
        finish()
    catalog.add_partitions(settings, table, [dt])  # a day whose run died before registering it
    catalog.move_partition(settings, table, dt, generation)
    result.generation = generation
    _relocate(currency, holders, log)
    result.deleted = _expire_generations(settings, table, dt, generation)
    log(
        f"{table} dt={dt}: {len(files)} files, {result.rows_in} rows -> {len(result.parts)} parts, "
        f"{result.rows_out} rows in {generation}"
        + (f"; {sum(result.dropped.values())} stale rows dropped" if result.dropped else "")
    )
    return result


def _counts(values: pa.Array) -> tuple[list[str], list[int]]:
    counted = pc.value_counts(values)
    return counted.field("values").to_pylist(), counted.field("counts").to_pylist()


def _relocate(currency: _Currency, holders: dict[str, set[str]], log: Callable[[str], None]) -> None:
    """Each source's ledger outputs: its quarantine as before, its rows in the parts that hold them."""
    for source, parts in holders.items():
        before = currency.outputs.get(source)
        if before is None:
            continue
        after = [o for o in before if not o.startswith(layout.CURATED_PREFIX)] + sorted(parts)
        if not currency.ledger.relocate(currency.bucket, source, before, after):
            log(f"{source}: its ledger entry changed during the rewrite; the next rewrite settles its rows")


def _expire_generations(settings: Settings, table: str, dt: str, live: str) -> list[str]:
    """Delete the files of generations superseded more than the grace period ago. A generation is
    superseded when the next one is written; the day folder comes before every generation."""
    s3 = aws.client("s3", settings)
    response = s3.list_objects_v2(
        Bucket=settings.lake_bucket, Prefix=layout.generations_prefix(table, dt), Delimiter="/"
    )
    folders = [layout.partition_prefix(table, dt), *sorted(p["Prefix"] for p in response.get("CommonPrefixes", []))]
    if live not in folders:
        return []
    horizon = datetime.now(UTC).timestamp() - settings.compaction_grace_seconds
    deleted: list[str] = []
    for folder, successor in itertools.pairwise(folders):
        if folder == live:
            break
        superseded_at = datetime.strptime(posixpath.basename(successor.rstrip("/"))[1:], _STAMP).replace(tzinfo=UTC)
        if superseded_at.timestamp() > horizon:
            break
        keys = [key for key, _ in live_files(settings, folder)]
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            s3.delete_objects(Bucket=settings.lake_bucket, Delete={"Objects": chunk, "Quiet": True})
        deleted += keys
    return deleted
