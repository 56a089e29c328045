"""One ingest run's work on one table and day, with the ledger as the record of what became of each
object. No Dagster here: the asset calls :func:`run_batch` and reports what it returns.

- Value errors never reach this level: they are quarantined rows (``ingest/``).
- An object-specific failure (it cannot be read, or reading it hits a bug) fails that object only;
  after ``TXD_INGEST_MAX_ATTEMPTS`` it is poisoned: quarantined whole, alerted, never blocking others.
- An infrastructure failure (S3, Glue or DynamoDB unavailable) stops the run: its objects are left
  failed (not counted as an attempt) and are handed out again after the backoff.
- The run shares its day with other ingest runs and never with a compaction (``lake/day_lock.py``).
  Every object's valid rows go to one Parquet file, published once; then each object is marked done.
- A raw CSV of at least ``TXD_SQL_ROAD_MIN_BYTES`` takes the SQL road instead (``lake/sql_road.py``):
  the query engine converts it into files of its own, which the ledger records as the object's outputs.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import botocore.exceptions

from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest.chunks import READ_CHUNK_BYTES, UTF8_BOM
from txdagster.ingest.files import check_header, source_from_key
from txdagster.ingest.pipeline import ObjectResult, ingest_object
from txdagster.ingest.rows import Reject
from txdagster.ingest.write import RunFile, quarantine_line
from txdagster.lake import aws, catalog, compaction, layout
from txdagster.lake.day_lock import DayBusy, DayLock
from txdagster.lake.ledger import PENDING, Entry, Ledger
from txdagster.lake.listing import day_objects
from txdagster.lake.sql_road import EmptyFile, SqlEngine, SqlObject, convert, is_sql_road
from txdagster.lake.tables import LakeTable
from txdagster.settings import Settings

HEADER_BYTES = 64 * 1024
TRANSIENT_CODES = {
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServiceException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "RequestTimeout",
}


class InfrastructureError(RuntimeError):
    """S3, Glue or DynamoDB did not answer; the batch's unfinished objects are retried later."""


def is_transient(exc: BaseException) -> bool:
    """An error of the service rather than of the object: 5xx, throttling, no connection."""
    if isinstance(exc, botocore.exceptions.ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or exc.response.get("Error", {}).get("Code") in TRANSIENT_CODES
    # botocore's connection errors, and pyarrow's S3 errors (raised as OSError)
    return isinstance(exc, (botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError, OSError))


@dataclass
class ObjectOutcome:
    key: str
    state: str
    result: ObjectResult | None = None
    error: str = ""


@dataclass
class BatchOutcome:
    objects: list[ObjectOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # done already, or held by another batch
    new_partition: bool = False
    rewrite_day: bool = False  # earlier rows of this batch's objects must leave a shared file
    run_file: str | None = None  # the one Parquet file of the run (every object's valid rows)
    bytes_written: int = 0

    def with_state(self, state: str) -> list[ObjectOutcome]:
        return [o for o in self.objects if o.state == state]


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def poison(settings: Settings, ledger: Ledger, entry: Entry, error: str, now: float) -> bool:
    """Quarantine the whole object with its last error, drop what it published before, and alert."""
    s3 = aws.client("s3", settings)
    key = layout.quarantine_key(entry.table, entry.dt, entry.key, entry.etag)
    reason = f"poisoned after {entry.attempts} failed attempts: {error}"
    s3.put_object(
        Bucket=entry.bucket, Key=key, Body=(quarantine_line(Reject(entry.key, 0, reason, None)) + "\n").encode()
    )
    _delete(s3, entry.bucket, [k for k in entry.outputs if k != key and not layout.is_shared(k)])  # shared: rewrite
    if not ledger.poisoned(entry, now, reason, [key], condition_batch=entry.batch):
        return False
    if settings.alerts_topic_arn:
        alert = {"event": "lake_object_poisoned", "object": entry.object, "etag": entry.etag, "table": entry.table,
                 "attempts": entry.attempts, "error": error[:1000]}  # fmt: skip
        aws.client("sns", settings).publish(
            TopicArn=settings.alerts_topic_arn,
            Subject=f"txdagster: {entry.table} object poisoned",
            Message=json.dumps(alert),
        )
    return True


def _delete(s3, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        if chunk:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})


def _entries(
    settings: Settings, ledger: Ledger, table: LakeTable, dt: str, keys: list[str], batch: str, force: bool, now: float
) -> list[Entry]:
    """The ledger entries this run may work on: those its sensor batch was handed. With no keys (a
    backfill) every object of the day is enlisted under the run's own batch; so is a key the ledger
    has never heard of (a hand-made run config)."""
    bucket = settings.lake_bucket
    known = ledger.get_many(bucket, keys) if keys else {}
    listed = {}
    if not keys or set(keys) - set(known):
        listed = {
            o.key: o.etag for o in day_objects(aws.client("s3", settings), bucket, table.source_prefix(settings), dt)
        }
    if not keys:
        known = ledger.get_many(bucket, listed)
    entries = []
    for key in keys or sorted(listed):
        if keys and key in known:
            entries.append(known[key])
            continue
        if key not in listed:
            continue
        entry = replace(
            known.get(key) or Entry(bucket=bucket, key=key, etag="", table=table.name, dt=dt), etag=listed[key]
        )
        if ledger.enlist(entry, batch, now, force=force):
            entries.append(replace(entry, batch=batch, attempts=0, state=PENDING))
    return entries


def run_batch(
    settings: Settings,
    table: LakeTable,
    dt: str,
    keys: list[str],
    batch: str,
    run_id: str,
    log: Callable[[str], None],
    force: bool = False,
    sql_engine: Callable[[], SqlEngine] | None = None,
    after_publish: Callable[[Path], None] | None = None,
) -> BatchOutcome:
    """``sql_engine`` makes the engine of the SQL road (one per object); without it every object takes
    the columnar road. ``after_publish`` gets the run's file (local) once it is published and before any
    object is marked done: what it does (update transactions_current) is redone if the run dies."""
    lock = DayLock(settings, table.name, dt, holder=f"run:{run_id}")
    try:
        lock.acquire(wait_seconds=settings.ingest_lease_seconds / 2)
    except DayBusy as exc:  # a compaction holds the day: the batch comes back later
        raise InfrastructureError(f"{exc}; this batch's objects are handed out again") from exc
    with lock:
        outcome = _run_locked(settings, table, dt, keys, batch, run_id, log, force, lock, sql_engine, after_publish)
    if outcome.rewrite_day:  # an object's earlier rows sit in a shared file, among other objects' rows
        try:
            compaction.compact_day(settings, table.name, dt, f"run:{run_id}", force=True, log=log)
        except DayBusy as exc:
            raise InfrastructureError(f"{exc}: earlier rows of this batch's objects are still in shared files; "
                                      f"run `txdagster compact {table.name} {dt}`") from exc  # fmt: skip
    return outcome


def _run_locked(
    settings: Settings, table: LakeTable, dt: str, keys: list[str], batch: str, run_id: str,
    log: Callable[[str], None], force: bool, lock: DayLock, sql_engine: Callable[[], SqlEngine] | None,
    after_publish: Callable[[Path], None] | None,
) -> BatchOutcome:  # fmt: skip
    ledger = Ledger(settings)
    bucket = settings.lake_bucket
    outcome = BatchOutcome()
    s3 = aws.client("s3", settings)
    run_key = layout.run_file_key(catalog.live_prefix(settings, table.name, dt), batch, run_id)
    now = time.time()
    claimed = []
    for entry in _entries(settings, ledger, table, dt, keys, batch, force, now):
        if ledger.claim(entry, batch, run_id, now, planned=run_key):
            claimed.append(entry)
            if entry.planned and entry.planned != run_key and _exists(s3, bucket, entry.planned):
                outcome.rewrite_day = True  # an earlier run died after publishing this object's rows
        else:
            outcome.skipped.append(entry.key)
    if outcome.skipped:
        log(f"{len(outcome.skipped)} objects are done already or held by another batch: {outcome.skipped[:3]}")
    finished: list[tuple[Entry, ObjectResult]] = []
    unfinished = {entry.key: entry for entry in claimed}  # released on an outage
    with tempfile.TemporaryDirectory(prefix="txd-run-") as work:
        rows = RunFile(Path(work, "run.parquet"), table_arrow_schema(table.name))
        renewed_at = now
        for entry in claimed:
            now = time.time()
            if now - renewed_at > settings.ingest_lease_seconds / 2:  # a long batch keeps its objects
                for waiting in unfinished.values():
                    ledger.renew(waiting, run_id, now)
                lock.renew()
                renewed_at = now
            try:
                try:
                    response = s3.get_object(Bucket=bucket, Key=entry.key)
                except s3.exceptions.NoSuchKey:
                    _withdraw(s3, ledger, entry, run_id, outcome, log)
                    unfinished.pop(entry.key)
                    continue
                entry = replace(entry, etag=response["ETag"].strip('"'))
                if sql_engine and table.sql_road and is_sql_road(entry.key, response["ContentLength"],
                                                                 settings.sql_road_min_bytes):  # fmt: skip
                    result = _sql_road(settings, sql_engine(), table, dt, entry, response, log)
                    if result is not None:
                        finished.append((entry, result))
                        continue
                    response = s3.get_object(Bucket=bucket, Key=entry.key, IfMatch=f'"{entry.etag}"')
                result = ingest_object(
                    table=table.name,
                    source_key=entry.key,
                    source=response["Body"].iter_chunks(READ_CHUNK_BYTES),  # streamed: memory follows the block
                    parse=table.parse,
                    publish=aws.s3_publisher(settings),
                    parquet_key=run_key,
                    quarantine_key=layout.quarantine_key(table.name, dt, entry.key, entry.etag),
                    into=rows,
                )
                finished.append((entry, result))
            except Exception as exc:  # classified below: the service's fault stops the run, the object's does not
                rows.withdraw(entry.key)
                _object_failed(settings, ledger, entry, run_id, exc, list(unfinished.values()), outcome, log)
                unfinished.pop(entry.key)
        rows.close()
        try:
            if rows.rows:
                outcome.bytes_written = aws.s3_publisher(settings)(rows.path, run_key)
                outcome.run_file = run_key
                outcome.new_partition = bool(catalog.add_partitions(settings, table.name, [dt]))
                if after_publish:
                    after_publish(rows.path)
        except Exception as exc:
            if not is_transient(exc):
                raise
            _release(ledger, list(unfinished.values()), run_id, _error_text(exc), log)
            raise InfrastructureError(f"publishing {run_key}: {_error_text(exc)}") from exc
    for entry, result in finished:
        _done(s3, ledger, entry, result, run_id, outcome, log)
    return outcome


def _sql_road(settings: Settings, engine: SqlEngine, table: LakeTable, dt: str, entry: Entry, response,
              log: Callable[[str], None]) -> ObjectResult | None:  # fmt: skip
    """The object through the SQL road, or None when the columnar road must take it (a header that does
    not match the contract, or no records: it quarantines the file whole with the reason)."""
    first = next(response["Body"].iter_chunks(HEADER_BYTES), b"")
    response["Body"].close()
    if entry.key.lower().endswith(".gz"):
        first = zlib.decompressobj(wbits=31).decompress(first)
    line = first.removeprefix(UTF8_BOM).split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    header = next(csv.reader([line]), [])
    try:
        check_header(header)
    except ValueError:
        return None
    obj = SqlObject(
        database=settings.glue_database, bucket=entry.bucket, key=entry.key, etag=entry.etag, table=table.name, dt=dt,
        header=tuple(header), source_system=source_from_key(entry.key), ingested_at=response["LastModified"],
        max_ahead=timedelta(hours=settings.max_event_ahead_hours), attempt=entry.attempts,
    )  # fmt: skip
    log(f"{entry.key}: {response['ContentLength']} bytes, converted by the query engine (the SQL road)")
    try:
        return convert(engine, obj)
    except EmptyFile:
        return None


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise
    return True


def _done(s3, ledger: Ledger, entry: Entry, result: ObjectResult, run_id: str, outcome: BatchOutcome,
          log: Callable[[str], None]) -> None:  # fmt: skip
    """The run's file is published: the object is done, and what an earlier content of its key left goes."""
    outputs = result.outputs
    stale = [k for k in entry.outputs if k not in outputs]
    _delete(s3, entry.bucket, [k for k in stale if not layout.is_shared(k)])
    counts = {"rows_in": result.rows_in, "rows_published": result.rows_valid,
              "rows_quarantined": result.rows_quarantined}  # fmt: skip
    if not ledger.done(entry, run_id, time.time(), outputs, counts):
        # handed to a newer batch meanwhile (its key was overwritten): that batch owns its outputs
        _delete(s3, entry.bucket, [k for k in outputs if not layout.is_shared(k)])
        outcome.rewrite_day |= any(layout.is_shared(k) for k in outputs)  # its rows in the run's file go with a rewrite
        outcome.skipped.append(entry.key)
        log(f"{entry.key}: superseded by a newer batch while this run read it; its rows are withdrawn")
        return
    outcome.objects.append(ObjectOutcome(entry.key, "done", result))
    outcome.rewrite_day |= any(layout.is_shared(k) for k in stale)
    log(f"{entry.key}: {result.rows_valid} published, {result.rows_quarantined} quarantined"
        + (f" ({'; '.join(result.reasons[:2])})" if result.reasons else ""))  # fmt: skip


def _object_failed(
    settings: Settings, ledger: Ledger, entry: Entry, run_id: str, exc: Exception, unfinished: list[Entry],
    outcome: BatchOutcome, log: Callable[[str], None],
) -> None:  # fmt: skip
    """An outage stops the run (every unfinished object is released); the object's own error fails it."""
    error = _error_text(exc)
    if is_transient(exc):
        _release(ledger, unfinished, run_id, error, log)
        raise InfrastructureError(f"{entry.key}: {error}; {len(unfinished)} objects left") from exc
    attempts = entry.attempts + 1
    failed = replace(entry, attempts=attempts)
    if attempts >= settings.ingest_max_attempts:
        poison(settings, ledger, failed, error, time.time())
        outcome.rewrite_day |= any(layout.is_shared(k) for k in entry.outputs)
        outcome.objects.append(ObjectOutcome(entry.key, "poisoned", error=error))
        log(f"{entry.key}: poisoned after {attempts} attempts: {error}")
    else:
        ledger.failed(failed, run_id, time.time(), error, attempts)
        outcome.objects.append(ObjectOutcome(entry.key, "failed", error=error))
        log(f"{entry.key}: attempt {attempts} failed, will be retried: {error}")


def _withdraw(s3, ledger: Ledger, entry: Entry, run_id: str, outcome: BatchOutcome, log: Callable[[str], None]) -> None:
    """The source object was deleted: its rows leave the lake with it (the ledger keeps the record)."""
    _delete(s3, entry.bucket, [k for k in entry.outputs if not layout.is_shared(k)])
    outcome.rewrite_day |= any(layout.is_shared(k) for k in entry.outputs)
    zero = {"rows_in": 0, "rows_published": 0, "rows_quarantined": 0}
    ledger.done(entry, run_id, time.time(), [], zero, note="the source object was deleted; its rows were withdrawn")
    outcome.objects.append(ObjectOutcome(entry.key, "withdrawn"))
    log(f"{entry.key}: deleted from the lake's source; {len(entry.outputs)} outputs withdrawn")


def _release(ledger: Ledger, entries: list[Entry], run_id: str, error: str, log: Callable[[str], None]) -> None:
    """Leave the unfinished objects failed (not an attempt of theirs) so they are handed out again."""
    for entry in entries:
        try:
            ledger.failed(entry, run_id, time.time(), f"infrastructure: {error}", entry.attempts)
        except Exception as exc:  # the ledger itself is down: their leases run out and they come back
            log(f"could not release {entry.key} in the ledger ({_error_text(exc)}); its lease will expire")
            return
