"""Keeping ``transactions_current`` (``lake/current.py``) fast and its storage bounded.

- :func:`tidy`, after every ingest run's apply: the small files of a day (each applied batch adds
  one) are merged once there are ``SMALL_FILES_PER_DAY`` of them in one size tier (``tier``), and
  past twice ``KEPT_SNAPSHOTS`` snapshots all but the newest ``KEPT_SNAPSHOTS`` are expired; the same
  for the tombstones (``transactions_removed``, without days: a file per batch with REMOVEs).
- :func:`maintain`, hourly (``refresh_views``): every day's small files merged (and the tombstones'),
  snapshots expired, and
  the files nothing refers to any more (data files of expired snapshots, their manifests, metadata
  files past the log) deleted once two sweeps, the retention apart or more, found them unreferenced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table

from txdagster.lake import aws, iceberg_writes, key_lookup, small_files
from txdagster.lake.current import ensure_current_table, ensure_removed_table
from txdagster.settings import Settings

#: The snapshots an ingest run keeps in the metadata: every commit rewrites the metadata file, and
#: pyiceberg deep-copies it some 70 times per applied batch, so a batch's cost follows the snapshot list
#: (a commit a second kept 15 minutes of it: a 100-key batch took 0.5 s at first and 2.5 s after 80
#: commits). Past twice as many, one commit expires all but the newest. Expiring a snapshot deletes no
#: file: the scheduled maintenance deletes what nothing refers to, and only once it was unreferenced at
#: its previous sweep too (``SNAPSHOT_RETENTION`` before or more), so a query that planned on an expired
#: snapshot still finds its files.
KEPT_SNAPSHOTS = 20
SNAPSHOT_RETENTION = timedelta(minutes=15)


@dataclass(frozen=True)
class Maintenance:
    days_rewritten: tuple[str, ...]
    snapshots_expired: int
    data_files: int
    orphans_deleted: int = 0
    tombstone_files: int = 0


def _small_files_by_day(table: Table, tiered: bool = False) -> tuple[dict[tuple[int, int], list[DataFile]], int]:
    """The small data files of each day (``small_files.by_day``) and how many data files there are."""
    files = key_lookup.data_files(table)
    return small_files.by_day(files, tiered), len(files)


def _merge(table: Table, files: list[DataFile]) -> bool:
    """One commit replacing ``files`` by data files of their rows. False when another writer committed
    first: the files are left for the next time."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import ArrowScan

    rows = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table([FileScanTask(f) for f in files])
    try:
        with table.transaction() as transaction:
            iceberg_writes.replace(transaction, files, [rows])
    except (CommitFailedException, ValidationException):  # another writer committed first (an ingest run)
        table.refresh()
        return False
    return True


def _merge_days(table: Table, small: dict[tuple[int, int], list[DataFile]], at_least: int) -> list[str]:
    """Each group of small files (a day's, or a day's of one tier) merged into one (a commit each), where
    it holds ``at_least``; the days rewritten (``UNPARTITIONED``'s as ``all``)."""
    merged: list[str] = []
    for (day, _), files in sorted(small.items()):
        if len(files) >= at_least and _merge(table, files):
            if day == small_files.UNPARTITIONED:
                merged.append("all")
            else:
                merged.append((datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat())
    return sorted(set(merged))


def _expire(table: Table, older_than: datetime) -> int:
    before = len(table.metadata.snapshots)
    table.maintenance.expire_snapshots().older_than(older_than).commit()
    return before - len(table.metadata.snapshots)


def _expire_all_but(table: Table, kept: int) -> int:
    """Expires every snapshot but the newest ``kept`` (and the current one); how many."""
    current = table.metadata.current_snapshot_id
    newest_first = sorted(table.metadata.snapshots, key=lambda snapshot: snapshot.timestamp_ms, reverse=True)
    old = [snapshot.snapshot_id for snapshot in newest_first[kept:] if snapshot.snapshot_id != current]
    if old:
        table.maintenance.expire_snapshots().by_ids(old).commit()
    return len(old)


def tidy(settings: Settings, now: datetime, table: Table | None = None, removed: Table | None = None) -> Maintenance:
    """What an ingest run does after applying its batch (to ``table`` and ``removed`` as it left them),
    so that the next one stays as fast: the same for the current table and its tombstones (a file per
    batch with REMOVEs)."""
    table, removed = table or ensure_current_table(settings), removed or ensure_removed_table(settings)
    merged, files, expired = _tidy(table)
    _, tombstone_files, tombstones_expired = _tidy(removed)
    return Maintenance(tuple(merged), expired + tombstones_expired, files, tombstone_files=tombstone_files)


def _tidy(table: Table) -> tuple[list[str], int, int]:
    """One table's small files merged by tier, its snapshots past twice ``KEPT_SNAPSHOTS`` expired: the
    days rewritten, the data files left, the snapshots expired."""
    small, files = _small_files_by_day(table, tiered=True)
    merged = _merge_days(table, small, small_files.SMALL_FILES_PER_DAY)
    expired = 0
    if len(table.metadata.snapshots) > 2 * KEPT_SNAPSHOTS:
        expired = _expire_all_but(table, KEPT_SNAPSHOTS)
    return merged, _small_files_by_day(table)[1] if merged else files, expired


def referenced(table: Table) -> set[str]:
    """Every file the table's metadata refers to: data files and manifests of every snapshot kept,
    their manifest lists, the current metadata file and those in its log (``s3://bucket/key``)."""
    io = table.io
    found = {table.metadata_location, *(entry.metadata_file for entry in table.metadata.metadata_log)}
    for snapshot in table.metadata.snapshots:
        found.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(io):
            if manifest.manifest_path in found:  # snapshots share most manifests: read each once
                continue
            found.add(manifest.manifest_path)
            found.update(
                entry.data_file.file_path for entry in manifest.fetch_manifest_entry(io, discard_deleted=False)
            )
    return found


#: What a sweep found unreferenced, for the next one: ``<table location>/UNREFERENCED_RECORD``.
UNREFERENCED_RECORD = "_unreferenced.json"


def delete_orphans(settings: Settings, table: Table, keep: timedelta, now: datetime) -> int:
    """Delete the objects under the table's location (its own: ``curated/<table>/``) that nothing refers
    to now and that nothing referred to at the previous sweep either, made ``keep`` or more before ``now``:
    files of expired snapshots, metadata files past the log, files of a write that never committed.
    Expiring snapshots leaves no trace of when a file stopped being referred to, so each sweep records
    what it found unreferenced (``UNREFERENCED_RECORD``) and the next, ``keep`` later or more, deletes
    what is still unreferenced: a query that planned on a snapshot expired since has had that long. A
    sweep sooner than ``keep`` after the recorded one deletes nothing and leaves the record as it is."""
    s3 = aws.client("s3", settings)
    bucket, _, prefix = table.metadata.location.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/"
    record_key = prefix + UNREFERENCED_RECORD
    previous = _record(s3, bucket, record_key)
    if previous is not None and previous[0] > now - keep:
        return 0
    keep_files = referenced(table)
    unreferenced: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for found in page.get("Contents", []):
            key = found["Key"]
            if key != record_key and found["LastModified"] < now - keep and f"s3://{bucket}/{key}" not in keep_files:
                unreferenced.append(key)
    before: set[str] = previous[1] if previous is not None else set()
    orphans = [key for key in unreferenced if key in before]
    for start in range(0, len(orphans), 1000):
        chunk = [{"Key": key} for key in orphans[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    waiting = sorted(set(unreferenced) - set(orphans))
    body = json.dumps({"swept_at": now.isoformat(), "unreferenced": waiting})
    s3.put_object(Bucket=bucket, Key=record_key, Body=body.encode(), ContentType="application/json")
    return len(orphans)


def _record(s3: Any, bucket: str, key: str) -> tuple[datetime, set[str]] | None:
    """The previous sweep's time and what it found unreferenced, or None (no sweep yet)."""
    try:
        found = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None
    return datetime.fromisoformat(found["swept_at"]), set(found["unreferenced"])


def maintain(settings: Settings, keep: timedelta, now: datetime) -> Maintenance:
    """The scheduled maintenance: every day's small files (two or more) merged into one, and the
    tombstones' small files; the snapshots older than ``keep`` expired, then the files nothing refers to
    deleted once the previous sweep, ``keep`` or more before, found them unreferenced too
    (:func:`delete_orphans`)."""
    table, removed = ensure_current_table(settings), ensure_removed_table(settings)
    merged = _merge_days(table, _small_files_by_day(table)[0], 2)
    _merge_days(removed, _small_files_by_day(removed)[0], 2)
    expired = _expire(table, now - keep)
    _expire(removed, now - keep)  # the tombstones: a snapshot per batch with REMOVEs
    orphans = delete_orphans(settings, table, keep, now) + delete_orphans(settings, removed, keep, now)
    tombstone_files = _small_files_by_day(removed)[1]
    return Maintenance(tuple(merged), expired, _small_files_by_day(table)[1], orphans, tombstone_files)
