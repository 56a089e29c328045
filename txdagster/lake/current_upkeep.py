"""Keeping ``transactions_current`` (``lake/current.py``) fast and its storage bounded.

- :func:`tidy`, after every ingest run's apply: the small files of a day (each applied batch adds
  one) are merged once there are ``SMALL_FILES_PER_DAY`` of them, and past ``MAX_SNAPSHOTS`` the
  snapshots older than ``SNAPSHOT_RETENTION`` are expired.
- :func:`maintain`, hourly (``refresh_views``): every day's small files merged, snapshots expired, and
  the files nothing refers to any more (data files of expired snapshots, their manifests, metadata
  files past the log) deleted once older than the retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import FileScanTask, Table

from txdagster.lake import aws
from txdagster.lake.current import ensure_current_table, ensure_removed_table
from txdagster.settings import Settings

#: A data file smaller than this is small: tidying merges a day's small files and never reads its big ones.
SMALL_FILE_BYTES = 64 << 20
#: An ingest run merges the small data files of a day holding at least this many of them into one.
SMALL_FILES_PER_DAY = 8
#: Past this many snapshots, an ingest run expires those older than SNAPSHOT_RETENTION: long enough for
#: any query that planned on one to finish; a commit every few seconds must not grow the metadata file
#: (rewritten by every commit) with hours of snapshots.
MAX_SNAPSHOTS = 50
SNAPSHOT_RETENTION = timedelta(minutes=15)


@dataclass(frozen=True)
class Maintenance:
    days_rewritten: tuple[str, ...]
    snapshots_expired: int
    data_files: int
    orphans_deleted: int = 0


def _small_files_by_day(table: Table) -> tuple[dict[int, list[FileScanTask]], int]:
    """The small files' scan tasks of each day (days since the epoch), and how many data files there are."""
    small: dict[int, list[FileScanTask]] = {}
    tasks = list(table.scan().plan_files())
    for task in tasks:
        day = task.file.partition[0]
        if day is not None and task.file.file_size_in_bytes < SMALL_FILE_BYTES:
            small.setdefault(day, []).append(task)
    return small, len(tasks)


def _merge(table: Table, tasks: list[FileScanTask]) -> bool:
    """One commit replacing the files of ``tasks`` by one file of their rows (pyiceberg 0.12 has no
    rewrite_data_files: its overwrite producer with explicit deletes and appends is that commit). False
    when another writer committed first: the files are left for the next time."""
    from pyiceberg.expressions import AlwaysTrue
    from pyiceberg.io.pyarrow import (
        ArrowScan,
        _dataframe_to_data_files,  # pyright: ignore[reportPrivateUsage]: see above
    )

    rows = ArrowScan(table.metadata, table.io, table.schema(), AlwaysTrue()).to_table(tasks)
    try:
        with table.transaction() as transaction, transaction.update_snapshot().overwrite() as rewrite:
            for task in tasks:
                rewrite.delete_data_file(task.file)
            for data_file in _dataframe_to_data_files(transaction.table_metadata, rows, table.io, rewrite.commit_uuid):
                rewrite.append_data_file(data_file)
    except CommitFailedException:
        table.refresh()
        return False
    return True


def _merge_days(table: Table, small: dict[int, list[FileScanTask]], at_least: int) -> list[str]:
    """Each day's small files merged into one (one commit a day), where a day holds ``at_least``."""
    merged: list[str] = []
    for day, tasks in sorted(small.items()):
        if len(tasks) >= at_least and _merge(table, tasks):
            merged.append((datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).date().isoformat())
    return merged


def _expire(table: Table, older_than: datetime) -> int:
    before = len(table.metadata.snapshots)
    table.maintenance.expire_snapshots().older_than(older_than).commit()
    return before - len(table.metadata.snapshots)


def tidy(settings: Settings, now: datetime, table: Table | None = None) -> Maintenance:
    """What an ingest run does after applying its batch (to ``table`` as it left it), so that the next
    one stays as fast."""
    table = table or ensure_current_table(settings)
    small, files = _small_files_by_day(table)
    merged = _merge_days(table, small, SMALL_FILES_PER_DAY)
    expired = 0
    if len(table.metadata.snapshots) > MAX_SNAPSHOTS:
        expired = _expire(table, now - SNAPSHOT_RETENTION)
    return Maintenance(tuple(merged), expired, _small_files_by_day(table)[1] if merged else files)


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


def delete_orphans(settings: Settings, table: Table, older_than: datetime) -> int:
    """Delete the objects under the table's location (its own: ``curated/<table>/``) that nothing refers
    to and that are older than ``older_than``: files of expired snapshots, metadata files past the log,
    files of a write that never committed (a writer's files are referenced by its commit within seconds)."""
    s3 = aws.client("s3", settings)
    bucket, _, prefix = table.metadata.location.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/"
    keep = referenced(table)
    orphans: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for found in page.get("Contents", []):
            if found["LastModified"] < older_than and f"s3://{bucket}/{found['Key']}" not in keep:
                orphans.append(found["Key"])
    for start in range(0, len(orphans), 1000):
        chunk = [{"Key": key} for key in orphans[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
    return len(orphans)


def maintain(settings: Settings, keep: timedelta, now: datetime) -> Maintenance:
    """The scheduled maintenance: every day's small files (two or more) merged into one, the snapshots
    older than ``keep`` expired (readers of an older snapshot have had that long to finish), then the
    files only they referred to deleted."""
    table, removed = ensure_current_table(settings), ensure_removed_table(settings)
    merged = _merge_days(table, _small_files_by_day(table)[0], 2)
    expired = _expire(table, now - keep)
    _expire(removed, now - keep)  # the tombstones: a snapshot per batch with REMOVEs
    orphans = delete_orphans(settings, table, now - keep) + delete_orphans(settings, removed, now - keep)
    return Maintenance(tuple(merged), expired, _small_files_by_day(table)[1], orphans)
