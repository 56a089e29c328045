"""Rewrite a day of a lake table into files sized for readers, atomically for them.

The day's live files are read a row group at a time and written into parts of about
``TARGET_PART_BYTES`` (one part when the day is smaller) in a new generation folder; then the day's
Glue partition is moved to that folder in one call. A query lists the old generation or the new one:
it never sees a row twice or misses one. Earlier generations stay for ``TXD_COMPACTION_GRACE_SECONDS``
(queries that listed them before the move still read them); a later rewrite of the day deletes them.

The ledger says which rows are current: a row is kept when its file is among the outputs the ledger
records for its ``source_file``, so rows that an overwritten, withdrawn or poisoned object left in a
part are dropped here. Rows of sources the ledger does not know are kept. Afterwards each source's
ledger entry names the parts holding its rows. The parts are written while ingest runs go on
publishing into the day; the rewrite holds the day alone (``day_lock.py``) only to settle: the files
published meanwhile join the new generation as they are, the partition moves, the ledger follows. If
what the parts were cut from changed meanwhile, they are dropped and the day is rewritten with the day
held throughout. (A rewrite of today held the day for all of its reading: at 100 changes a second, 13 s
without ingestion every 15 minutes, growing with the day.)
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
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest.write import ROW_GROUP_SIZE, ParquetRows
from txdagster.lake import aws, catalog, layout
from txdagster.lake.day_lock import EXCLUSIVE, DayLock
from txdagster.lake.ledger import Ledger
from txdagster.settings import Settings

#: Parts aim at this size: readers plan one split per 128-512 MB file.
TARGET_PART_BYTES = 256 << 20
#: A file up to this size is read whole, in one request.
WHOLE_READ_BYTES = 32 << 20
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
    """Rewrite the day (a day already in one part is left alone unless ``force``), holding its lock for
    the last step only: the parts are written from the files live when it starts, while ingest runs go
    on publishing; then, with the day held, the files published meanwhile join the new generation as
    they are and the partition moves (:func:`_settle`). Should anything the parts were cut from have
    changed meanwhile (a file gone, an input's rows moved, another rewrite), the parts are dropped and
    the day is rewritten with the lock held throughout, as before."""
    live = catalog.live_prefix(settings, table, dt)
    files = live_files(settings, live)
    draft: _Draft | None = None
    if not _compacted(files, force):
        draft = _draft(settings, table, dt, live, files, target_bytes=target_bytes, renew=lambda: None)
    with DayLock(settings, table, dt, holder, mode=EXCLUSIVE) as lock:
        lock.acquire(wait_seconds=settings.ingest_lease_seconds)
        if draft is not None and _settle(settings, draft, log):
            return draft.result
        if draft is not None:
            _discard(settings, draft)
            log(f"{table} dt={dt}: the day changed while its parts were written; rewriting it with the day held")
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


@dataclass
class _Draft:
    """A rewrite's parts, written from the day's files as they were (``files``) in the folder ``live``."""

    result: Rewrite
    live: str
    files: list[tuple[str, int]]
    currency: _Currency
    holders: dict[str, set[str]]  # source -> parts holding its rows


def _compacted(files: list[tuple[str, int]], force: bool) -> bool:
    """Nothing to rewrite: no file, or one part (unless ``force``)."""
    return not files or (len(files) == 1 and layout.is_part(files[0][0]) and not force)


def _draft(
    settings: Settings,
    table: str,
    dt: str,
    live: str,
    files: list[tuple[str, int]],
    *,
    target_bytes: int,
    renew: Callable[[], None],
) -> _Draft:
    """The parts of ``files`` written into a new generation (``renew`` every third of a lease)."""
    result = Rewrite(table, dt, files_in=[key for key, _ in files])
    result.generation = layout.generation_prefix(table, dt, datetime.now(UTC).strftime(_STAMP))
    draft = _Draft(result, live, files, _Currency(settings), {})
    _write_parts(settings, draft, target_bytes, renew)
    return draft


def _move(
    settings: Settings, draft: _Draft, log: Callable[[str], None], moves: dict[str, tuple[list[str], list[str]]]
) -> Rewrite:
    """The day's partition moved to the draft's generation and the ledger following: each input's rows
    in the parts, and ``moves`` (an input's outputs before and after, for the files published meanwhile
    and copied as they are); the generations past their grace deleted."""
    result, generation = draft.result, draft.result.generation or ""
    catalog.add_partitions(settings, result.table, [result.dt])  # a day whose run died before registering it
    catalog.move_partition(settings, result.table, result.dt, generation)
    _relocate(draft.currency, draft.holders, log)
    for source, (before, after) in moves.items():
        if not draft.currency.ledger.relocate(draft.currency.bucket, source, before, after):
            log(f"{source}: its ledger entry changed during the rewrite; the next rewrite settles its rows")
    newcomers = len(result.files_in) - len(draft.files)
    result.deleted = _expire_generations(settings, result.table, result.dt, generation)
    log(
        f"{result.table} dt={result.dt}: {len(draft.files)} files, {result.rows_in} rows -> {len(result.parts)} "
        f"parts, {result.rows_out} rows in {generation}"
        + (f", and {newcomers} files published meanwhile" if newcomers else "")
        + (f"; {sum(result.dropped.values())} stale rows dropped" if result.dropped else "")
    )
    return result


def _opened(settings: Settings, filesystem: pafs.FileSystem, key: str, size: int) -> pa.NativeFile:
    """A file to read: a small one (``WHOLE_READ_BYTES``) fetched whole in one GET, a bigger one read in
    ranges (a size lookup, then its footer and column chunks: several requests, which a day of hundreds
    of small files made most of a rewrite's calls)."""
    if size <= WHOLE_READ_BYTES:
        body = aws.client("s3", settings).get_object(Bucket=settings.lake_bucket, Key=key)["Body"].read()
        return pa.BufferReader(body)
    return filesystem.open_input_file(f"{settings.lake_bucket}/{key}")


def _write_parts(settings: Settings, draft: _Draft, target_bytes: int, renew: Callable[[], None]) -> None:
    """The draft's files, without the rows the ledger no longer calls current, into parts of about
    ``target_bytes`` in its generation; ``renew`` is called every third of a lease."""
    result, files, generation = draft.result, draft.files, draft.result.generation or ""
    total = sum(size for _, size in files)
    wanted = max(1, round(total / target_bytes))
    per_part = total / wanted
    schema = table_arrow_schema(result.table)
    filesystem = aws.s3_filesystem(settings)
    publish = aws.s3_publisher(settings)
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
                    draft.holders.setdefault(source, set()).add(key)

        for key, size in files:
            if time.monotonic() - renewed > settings.ingest_lease_seconds / 3:
                renew()
                renewed = time.monotonic()
            with _opened(settings, filesystem, key, size) as stream:
                for batch in pq.ParquetFile(stream).iter_batches(batch_size=ROW_GROUP_SIZE):
                    rows = _conformed(batch, schema)
                    result.rows_in += rows.num_rows
                    origin = rows.column("source_file")
                    sources: list[str] = [s for s in pc.unique(origin).to_pylist() if s is not None]
                    stale = draft.currency.stale(sources, key)
                    if stale:
                        gone = pc.fill_null(pc.is_in(origin, value_set=pa.array(stale, pa.string())), False)
                        result.dropped.update(dict(zip(*_counts(origin.filter(gone)), strict=True)))
                        rows = rows.filter(pc.invert(gone))
                    part.append(rows)
                    part_sources.update(s for s in sources if s not in stale)
                    if part.written_bytes() >= per_part and len(result.parts) < wanted - 1:
                        finish()
                        part = ParquetRows(Path(work, f"{len(result.parts)}.parquet"), schema)
                        part_sources = set()
        finish()


def _settle(settings: Settings, draft: _Draft, log: Callable[[str], None]) -> bool:
    """With the day held: the files published since the draft's start copied into its generation as they
    are, the partition moved, the ledger following the rows. False, with nothing changed, when the draft
    no longer stands: the day moved to another folder, a file it read is gone, an input it read has
    other outputs now, or a newly published file holds rows its input no longer calls its own."""
    result = draft.result
    if catalog.live_prefix(settings, result.table, result.dt) != draft.live:
        return False
    now = live_files(settings, draft.live)
    read = {key for key, _ in draft.files}
    if not read <= {key for key, _ in now}:
        return False
    known = draft.currency.outputs
    fresh = draft.currency.ledger.get_many(draft.currency.bucket, list(known))
    if any((fresh[s].outputs if s in fresh else None) != outputs for s, outputs in known.items()):
        return False
    newcomers = [key for key, _ in now if key not in read]
    moves = _newcomers(settings, draft, newcomers)
    if moves is None:
        return False
    s3, generation = aws.client("s3", settings), result.generation or ""
    for key in newcomers:
        s3.copy_object(
            Bucket=settings.lake_bucket,
            Key=generation + posixpath.basename(key),
            CopySource={"Bucket": settings.lake_bucket, "Key": key},
        )
    result.files_in += newcomers
    _move(settings, draft, log, moves)
    return True


def _newcomers(settings: Settings, draft: _Draft, keys: list[str]) -> dict[str, tuple[list[str], list[str]]] | None:
    """For files published since the draft's start: each of their inputs' ledger outputs before and
    after the files move into the generation; None when an input of theirs no longer names the file it
    is in, or was read for the parts too."""
    filesystem = aws.s3_filesystem(settings)
    moved = {key: (draft.result.generation or "") + posixpath.basename(key) for key in keys}
    sources_of: dict[str, set[str]] = {}
    for key in keys:
        with filesystem.open_input_file(f"{settings.lake_bucket}/{key}") as stream:
            origin = pq.read_table(stream, columns=["source_file"]).column("source_file")
        for source in pc.unique(origin).to_pylist():
            if source is not None:
                sources_of.setdefault(source, set()).add(key)
    if any(source in draft.currency.outputs for source in sources_of):
        return None
    entries = draft.currency.ledger.get_many(draft.currency.bucket, list(sources_of))
    moves: dict[str, tuple[list[str], list[str]]] = {}
    for source, files in sources_of.items():
        entry = entries.get(source)
        if entry is None:
            continue  # rows of sources the ledger does not know are kept, as in a rewrite
        if not files <= set(entry.outputs):
            return None
        moves[source] = (entry.outputs, [moved.get(output, output) for output in entry.outputs])
    return moves


def _discard(settings: Settings, draft: _Draft) -> None:
    """A draft that no longer stands: its parts deleted (no reader ever saw its generation)."""
    if draft.result.parts:
        chunk = [{"Key": key} for key in draft.result.parts]
        aws.client("s3", settings).delete_objects(Bucket=settings.lake_bucket, Delete={"Objects": chunk, "Quiet": True})


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
    live = catalog.live_prefix(settings, table, dt)
    files = live_files(settings, live)
    if _compacted(files, force):
        result = Rewrite(table, dt)
        result.deleted = _expire_generations(settings, table, dt, live)
        return result
    draft = _draft(settings, table, dt, live, files, target_bytes=target_bytes, renew=lock.renew)
    return _move(settings, draft, log, {})


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
