"""``transactions_current``: the latest non-deleted version of every transaction, an Apache Iceberg table
in the Glue catalog, kept up to date one change batch at a time with pyiceberg.

Applying a batch (:func:`apply_changes`):
1. reduce it to the latest change per key (highest padded sequence number);
2. look up the stored sequence numbers of those keys (``key_lookup.py``: only the data files whose key
   bounds hold one of the keys are read);
3. keep a change only when it is newer than what is stored, or than the key's tombstone (the REMOVE
   recorded in ``transactions_removed``), so a replayed or out-of-order batch never moves a row
   backwards nor brings a deleted transaction back;
4. record the kept REMOVEs as tombstones, then, in one Iceberg transaction, replace each data file
   that holds a stored row of a kept key by its other rows, and append the kept changes that are not
   a REMOVE.

The table is partitioned by the day of ``event_time``: updates land mostly on recent days, and a batch
rewrites only the files that hold its keys (copy-on-write), so its cost follows those files, not the
table. Athena reads the table natively; locally the query engine reads the data files of the current
snapshot (``engines.py``). ``transactions_current_from_log`` (a view over the full change log) stays the
reference that verification compares against.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, ValidationException
from pyiceberg.table import FileScanTask, Table, Transaction
from pyiceberg.transforms import DayTransform

from txdagster.contract.arrow import canonical_arrow_schema
from txdagster.contract.fields import KEY
from txdagster.lake import aws, iceberg_patches, iceberg_writes, key_lookup, layout, small_files
from txdagster.settings import Settings

iceberg_patches.apply()

CURRENT_TABLE = "transactions_current"
REMOVED_TABLE = "transactions_removed"
REMOVED_SCHEMA = pa.schema(
    [
        pa.field(KEY, pa.string()),
        pa.field("sequence_number", pa.string()),
        pa.field("removed_at", pa.timestamp("us", tz="UTC")),
    ]
)
#: What the current table adds to the canonical columns: the change it holds.
CURRENT_COLUMNS = (
    pa.field("sequence_number", pa.string()),
    pa.field("last_changed_at", pa.timestamp("us", tz="UTC")),
)
COMMIT_ATTEMPTS = 4
NO_KEYS = pa.array([], pa.string())
log = logging.getLogger(__name__)


def current_schema() -> pa.Schema:
    """The contract's columns and the change's, every one nullable (the contract is enforced upstream)."""
    fields = [*canonical_arrow_schema(), *CURRENT_COLUMNS]
    return pa.schema([f.with_nullable(True) for f in fields])


@functools.cache
def iceberg_catalog(settings: Settings) -> Catalog:
    """The Glue catalog through pyiceberg (one per settings: its clients are reused), pointed at the
    emulator when one is set. In AWS, pyiceberg's clients find the task role's credentials themselves
    (and follow their rotation); the emulator gets boto3's."""
    properties = {
        "type": "glue",
        "glue.region": settings.region,
        "s3.region": settings.region,
        "warehouse": f"s3://{settings.lake_bucket}/{layout.CURATED_PREFIX}",
    }
    found = aws.credentials(settings) if settings.endpoint_url else None
    if settings.endpoint_url:
        properties.update({"glue.endpoint": settings.endpoint_url, "s3.endpoint": settings.endpoint_url})
    if found is not None:
        for service in ("glue", "s3"):
            properties.update({f"{service}.access-key-id": found[0], f"{service}.secret-access-key": found[1]})
            if found[2]:
                properties[f"{service}.session-token"] = found[2]
    return load_catalog("txlake", **properties)


#: Every commit writes a new metadata file; a commit deletes those past the last
#: ``previous-versions-max`` (pyiceberg does, with ``delete-after-commit``), so that their number stays
#: bounded between the hourly maintenance's sweeps (at a commit a second: 20 s of history for a reader
#: that looked the table up in Glue before reading its metadata file).
#: The key's bounds are kept whole in the manifests (``key_lookup.py`` plans its reads from them).
METADATA_PROPERTIES = {
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    f"write.metadata.metrics.column.{KEY}": key_lookup.KEY_METRICS,
}


def _ensure(settings: Settings, name: str, schema: pa.Schema, day_of: str | None = None):
    catalog = iceberg_catalog(settings)
    identifier = (settings.glue_database, name)
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    else:
        if any(table.properties.get(key) != value for key, value in METADATA_PROPERTIES.items()):
            with table.transaction() as transaction:  # a table made before these properties: once
                transaction.set_properties(METADATA_PROPERTIES)
        return table
    glue = aws.client("glue", settings)
    with contextlib.suppress(glue.exceptions.EntityNotFoundException):  # until now a view had the name
        found = glue.get_table(DatabaseName=settings.glue_database, Name=name)["Table"]
        if found.get("TableType") == "VIRTUAL_VIEW":
            glue.delete_table(DatabaseName=settings.glue_database, Name=name)
    table = catalog.create_table(
        identifier,
        schema=schema,
        location=f"s3://{settings.lake_bucket}/{layout.table_prefix(name)}",
        properties={
            "write.parquet.compression-codec": "zstd",
            "format-version": "2",
            # a manifest per commit would make every scan read more of them: merge them
            "commit.manifest-merge.enabled": "true",
            "commit.manifest.min-count-to-merge": "8",
            **METADATA_PROPERTIES,
        },
    )
    if day_of:
        with table.update_spec() as spec:
            spec.add_field(day_of, DayTransform(), "event_day")
    return catalog.load_table(identifier)


def ensure_current_table(settings: Settings):
    """The Iceberg table (partitioned by the day of event_time), created if missing."""
    return _ensure(settings, CURRENT_TABLE, current_schema(), day_of="event_time")


def ensure_removed_table(settings: Settings):
    """The tombstones: the sequence number of each key's REMOVE, so that an older change replayed later
    cannot bring a deleted transaction back."""
    return _ensure(settings, REMOVED_TABLE, REMOVED_SCHEMA)


@dataclass(frozen=True)
class Applied:
    changes: int  # rows in the batch
    keys: tuple[str, ...]  # its distinct keys
    newer: int  # keys whose change is newer than the stored one
    deleted: int  # of those, REMOVEs
    stale: int  # keys whose stored change is as new or newer (replays, out-of-order batches)


def latest_per_key(changes: pa.Table) -> pa.Table:
    """The highest sequence number of each key (sequence numbers are padded: text order is numeric)."""
    con = duckdb.connect()
    con.register("changes", changes)
    return con.sql(
        f"SELECT * FROM changes QUALIFY row_number() OVER (PARTITION BY {KEY} ORDER BY sequence_number DESC) = 1"
    ).to_arrow_table()


def _stored(table: Table, keys: list[str]) -> key_lookup.Found:
    return key_lookup.find(table, KEY, keys, (KEY, "sequence_number", "event_time"))


def _commit(transaction: Transaction, found: key_lookup.Found, gone: pa.Array, rows: pa.Table, days: set[int]) -> None:
    """One snapshot: each data file that holds a stored row of the keys ``gone`` replaced by its other
    rows (copy-on-write: the cost follows the files that hold the keys), ``rows`` added, and the small
    files of ``days`` (those ``rows`` fall on, those rewritten) that the commit folds in merged with them
    (``small_files.to_fold``): one file a day."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    paths = found.rows.filter(pc.is_in(found.rows.column(KEY), gone)).column(key_lookup.FILE_COLUMN)
    touched = [found.files[path] for path in sorted(set(paths.to_pylist()))]
    days = days | {day for f in touched if (day := small_files.day_of(f)) is not None}
    files = touched + small_files.to_fold([f for f in found.snapshot_files if f not in touched], days)
    if files:
        metadata, io = transaction.table_metadata, transaction._table.io  # pyright: ignore[reportPrivateUsage]
        stored = ArrowScan(metadata, io, metadata.schema(), AlwaysTrue()).to_table([FileScanTask(f) for f in files])
        kept = stored.filter(pc.invert(pc.is_in(stored.column(KEY), gone)))
        rows = pa.concat_tables([kept, rows.cast(kept.schema)])
    iceberg_writes.replace(transaction, files, [rows])


def _rows(latest: pa.Table) -> pa.Table:
    kept = latest.filter(pc.not_equal(latest.column("change_type"), "REMOVE"))
    columns = {f.name: kept.column(f.name) for f in canonical_arrow_schema()}
    columns["sequence_number"] = kept.column("sequence_number")
    columns["last_changed_at"] = kept.column("change_time")
    return pa.table(columns).cast(current_schema())


class Loaded:
    """``transactions_current`` and its tombstones as loaded once for a run: pyiceberg keeps a table's
    metadata current after its own commits, and a commit lost to another writer reloads both."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reload()

    def reload(self) -> None:
        self.table, self.removed = ensure_current_table(self.settings), ensure_removed_table(self.settings)


def apply_changes(settings: Settings, changes: pa.Table, loaded: Loaded | None = None) -> Applied:
    """Apply one batch of ``transaction_changes`` rows; safe to repeat (what is not newer is skipped)."""
    if changes.num_rows == 0:
        return Applied(0, (), 0, 0, 0)
    latest = latest_per_key(changes)
    keys = tuple(latest.column(KEY).to_pylist())
    loaded = loaded or Loaded(settings)
    for attempt in range(COMMIT_ATTEMPTS):
        if attempt:
            loaded.reload()
        table, removed = loaded.table, loaded.removed
        con = duckdb.connect()
        con.register("latest", latest)
        found = _stored(table, list(keys))
        found_removed = key_lookup.find(removed, KEY, list(keys), ("sequence_number",))
        con.register("stored", found.rows)
        con.register("tombstones", found_removed.rows)
        # newer than the stored row and than the key's tombstone; or the REMOVE that tombstone records,
        # while its row is still stored (its tombstone was committed, the table's commit was lost)
        decided = con.sql(
            f"SELECT l.*, coalesce(l.sequence_number = t.sequence_number, false) AS recorded "
            f"FROM latest l LEFT JOIN stored s USING ({KEY}) LEFT JOIN "
            f"(SELECT {KEY}, max(sequence_number) AS sequence_number FROM tombstones GROUP BY {KEY}) t USING ({KEY}) "
            "WHERE l.sequence_number > coalesce(s.sequence_number, '') AND (l.sequence_number > "
            "coalesce(t.sequence_number, '') OR (l.sequence_number = t.sequence_number "
            "AND s.sequence_number IS NOT NULL))"
        ).to_arrow_table()
        if decided.num_rows == 0:
            return Applied(changes.num_rows, keys, 0, 0, len(keys))
        newer = decided.drop_columns(["recorded"])
        replaced = con.sql(f"SELECT {KEY} FROM stored s SEMI JOIN newer n USING ({KEY})").to_arrow_table()
        removes = newer.filter(pc.equal(newer.column("change_type"), "REMOVE"))
        unrecorded = decided.filter(pc.and_(pc.equal(decided["change_type"], "REMOVE"), pc.invert(decided["recorded"])))
        try:
            if unrecorded.num_rows:  # first: a run that dies before the next commit re-applies the REMOVE
                tombstones = [unrecorded[KEY], unrecorded["sequence_number"], unrecorded["change_time"]]
                tombstones = pa.table(tombstones, names=REMOVED_SCHEMA.names).cast(REMOVED_SCHEMA)
                with removed.transaction() as transaction:
                    _commit(transaction, found_removed, NO_KEYS, tombstones, {small_files.UNPARTITIONED})
            rows, gone = _rows(newer), replaced.column(KEY).combine_chunks()
            with table.transaction() as transaction:
                _commit(transaction, found, gone, rows, small_files.days(rows["event_time"]))
        except (CommitFailedException, ValidationException):  # another writer committed first (pyiceberg's
            # own retry finds the files it replaces changed: ValidationException): read again and re-decide
            log.warning("transactions_current: commit conflict, attempt %s of %s", attempt + 1, COMMIT_ATTEMPTS)
            continue
        return Applied(changes.num_rows, keys, newer.num_rows, removes.num_rows, len(keys) - newer.num_rows)
    raise CommitFailedException(f"transactions_current: {COMMIT_ATTEMPTS} commits lost to other writers")


#: Changes applied per call when a run's file is large (a backfill): each chunk is reduced and applied
#: on its own, which is correct in any order (only newer changes win).
APPLY_CHUNK_ROWS = 100_000


def apply_run_file(settings: Settings, path: Path, loaded: Loaded | None = None) -> list[Applied]:
    """Apply an ingest run's Parquet file of ``transaction_changes`` rows, a chunk at a time."""
    loaded = loaded or Loaded(settings)
    reader = pq.ParquetFile(path)
    chunks: list[Applied] = []
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader.iter_batches(batch_size=APPLY_CHUNK_ROWS):
        pending.append(batch)
        rows += batch.num_rows
        if rows >= APPLY_CHUNK_ROWS:
            chunks.append(apply_changes(settings, pa.Table.from_batches(pending), loaded))
            pending, rows = [], 0
    if pending:
        chunks.append(apply_changes(settings, pa.Table.from_batches(pending), loaded))
    return chunks


def read_current(settings: Settings, columns: tuple[str, ...] | None = None) -> pa.Table:
    table = ensure_current_table(settings)
    return table.scan(selected_fields=columns or ("*",)).to_arrow()


def versions_of(settings: Settings, keys: list[str], table: Table | None = None) -> dict[str, int]:
    """The current table's version of each of ``keys`` that it holds (``key_lookup.find``), in
    ``table`` as loaded (default: loaded now)."""
    table = table or ensure_current_table(settings)
    found = key_lookup.find(table, KEY, keys, ("version",)).rows
    return dict(zip(found.column(KEY).to_pylist(), found.column("version").to_pylist(), strict=True))


def snapshot(settings: Settings, name: str) -> tuple[list[str], pa.Schema]:
    """The data files (``bucket/key``) of an Iceberg table's current snapshot and its schema. Writes
    here are copy-on-write, so no delete file ever applies; should one appear (another writer), this
    refuses rather than misread."""
    table = iceberg_catalog(settings).load_table((settings.glue_database, name))
    tasks = list(table.scan().plan_files())
    if any(task.delete_files for task in tasks):
        raise ValueError(f"{name} has delete files: read it with pyiceberg's scan")
    return [task.file.file_path.removeprefix("s3://") for task in tasks], table.schema().as_arrow()
