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
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import botocore.exceptions

from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest.chunks import READ_CHUNK_BYTES, UTF8_BOM
from txdagster.ingest.files import check_header, source_from_key
from txdagster.ingest.pipeline import ObjectResult, ingest_object
from txdagster.ingest.write import RunFile
from txdagster.lake import aws, catalog, compaction, layout
from txdagster.lake.day_lock import DayBusy, DayLock
from txdagster.lake.ledger import PENDING, Entry, Ledger
from txdagster.lake.listing import day_objects
from txdagster.lake.quarantine import alert, quarantine_whole
from txdagster.lake.sql_road import EmptyFile, SqlEngine, SqlObject, convert, is_sql_road
from txdagster.lake.tables import LakeTable
from txdagster.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

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


#: Objects fetched ahead of the one being ingested, each read whole when at most ``PREFETCH_MAX_BYTES``.
PREFETCH_OBJECTS = 4
PREFETCH_MAX_BYTES = 8 << 20


class Fetched(NamedTuple):
    """An object fetched ahead: its GET and its whole body; both None for a large object."""

    response: GetObjectOutputTypeDef | None
    body: bytes | None


T = TypeVar("T")
R = TypeVar("R")


def _ahead(items: list[T], start: Callable[[T], R], count: int) -> Iterator[tuple[T, R]]:
    """Each item with what ``start`` began for it, ``count`` items started ahead of the one handed out."""
    started: deque[tuple[T, R]] = deque()
    for item in items:
        started.append((item, start(item)))
        if len(started) > count:
            yield started.popleft()
    while started:
        yield started.popleft()


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
    reason = f"poisoned after {entry.attempts} failed attempts: {error}"
    key = quarantine_whole(s3, entry, reason)
    _delete(s3, entry.bucket, [k for k in entry.outputs if k != key and not layout.is_shared(k)])  # shared: rewrite
    if not ledger.mark_poisoned(entry, now, reason, [key], condition_batch=entry.batch):
        return False
    event = {
        "event": "lake_object_poisoned",
        "object": entry.object,
        "etag": entry.etag,
        "table": entry.table,
        "attempts": entry.attempts,
        "error": error[:1000],
    }
    alert(settings, f"txdagster: {entry.table} object poisoned", event)
    return True


def _delete(s3: S3Client, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        if chunk:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})


@dataclass(frozen=True)
class BatchRequest:
    """What a run was asked to ingest: a sensor's batch of keys in a table's day (no keys: every object of
    the day, a backfill, which with ``force`` also redoes the objects the ledger calls done)."""

    table: LakeTable
    dt: str
    keys: list[str]
    batch: str
    run_id: str
    force: bool = False
    #: makes the SQL road's engine (one per object); None: every object takes the columnar road
    sql_engine: Callable[[], SqlEngine] | None = None
    #: gets the run's file (local) once it is published and before any object is marked done: what it does
    #: (update transactions_current) is redone if the run dies
    after_publish: Callable[[Path], None] | None = None


def run_batch(settings: Settings, request: BatchRequest, log: Callable[[str], None]) -> BatchOutcome:
    """The batch's objects ingested while the run holds its day: claim, process, publish, finish."""
    lock = DayLock(settings, request.table.name, request.dt, holder=f"run:{request.run_id}")
    try:
        lock.acquire(wait_seconds=settings.ingest_lease_seconds / 2)
    except DayBusy as exc:  # a compaction holds the day: the batch comes back later
        raise InfrastructureError(f"{exc}; this batch's objects are handed out again") from exc
    with lock:
        run = IngestRun(settings, request, lock, log)
        run.claim()
        with tempfile.TemporaryDirectory(prefix="txd-run-") as work:
            rows = RunFile(Path(work, "run.parquet"), table_arrow_schema(request.table.name))
            run.process(rows)
            rows.close()
            run.publish(rows)
        outcome = run.finish()
    if outcome.rewrite_day:  # an object's earlier rows sit in a shared file, among other objects' rows
        table, dt = request.table.name, request.dt
        try:
            compaction.compact_day(settings, table, dt, f"run:{request.run_id}", force=True, log=log)
        except DayBusy as exc:
            raise InfrastructureError(
                f"{exc}: earlier rows of this batch's objects are still in shared files; run "
                f"`txdagster compact {table} {dt}`"
            ) from exc
    return outcome


class IngestRun:
    """One run's work on its day, in four steps: ``claim`` the batch's objects in the ledger, ``process``
    each through its road into the run's one file, ``publish`` that file (and register its partition),
    ``finish`` by marking each object done. An object's own failure fails that object; an outage of S3,
    Glue or DynamoDB releases every unfinished object and raises ``InfrastructureError``."""

    def __init__(self, settings: Settings, request: BatchRequest, lock: DayLock, log: Callable[[str], None]) -> None:
        self.settings, self.request, self.lock, self.log = settings, request, lock, log
        self.table = request.table
        self.ledger = Ledger(settings)
        self.s3: S3Client = aws.client("s3", settings)
        self.outcome = BatchOutcome()
        self.run_key = layout.run_file_key(
            catalog.live_prefix(settings, self.table.name, request.dt), request.batch, request.run_id
        )
        self.claimed: list[Entry] = []
        self.finished: list[tuple[Entry, ObjectResult]] = []
        self.unfinished: dict[str, Entry] = {}  # released on an outage

    def claim(self) -> None:
        """Take the objects this run may work on; the others are done already or held by another batch."""
        now = time.time()
        for entry in self._entries(now):
            if not self.ledger.claim(entry, self.request.batch, self.request.run_id, now, planned=self.run_key):
                self.outcome.skipped.append(entry.key)
                continue
            self.claimed.append(entry)
            if entry.planned and entry.planned != self.run_key and _exists(self.s3, entry.bucket, entry.planned):
                self.outcome.rewrite_day = True  # an earlier run died after publishing this object's rows
        self.unfinished = {entry.key: entry for entry in self.claimed}
        if self.outcome.skipped:
            skipped = self.outcome.skipped
            self.log(f"{len(skipped)} objects are done already or held by another batch: {skipped[:3]}")

    def process(self, rows: RunFile) -> None:
        """Every claimed object through its road, its valid rows into ``rows``, in the batch's order; the
        next objects are fetched meanwhile (``PREFETCH_OBJECTS``), so a batch of many small objects does
        not wait for S3 once per object. A long batch renews its leases and its day lock half-way through
        the lease."""
        renewed_at = time.time()
        pool = ThreadPoolExecutor(max_workers=PREFETCH_OBJECTS, thread_name_prefix="txd-fetch")
        try:
            for entry, fetched in _ahead(self.claimed, lambda e: pool.submit(self._fetch, e), PREFETCH_OBJECTS):
                renewed_at = self._renewed(renewed_at)
                try:
                    self._process_object(entry, rows, fetched)
                except Exception as exc:  # classified: the service's fault stops the run, the object's does not
                    rows.withdraw(entry.key)
                    self._object_failed(entry, exc)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _renewed(self, renewed_at: float) -> float:
        """The leases and the day lock renewed when half the lease has gone since ``renewed_at``."""
        now = time.time()
        if now - renewed_at > self.settings.ingest_lease_seconds / 2:
            for waiting in self.unfinished.values():
                self.ledger.renew(waiting, self.request.run_id, now)
            self.lock.renew()
            return now
        return renewed_at

    def _fetch(self, entry: Entry) -> Fetched:
        """An object's GET, its body read whole when it is at most ``PREFETCH_MAX_BYTES`` (a larger one is
        fetched again when its turn comes and streamed, so no connection idles while others are
        ingested). Runs in a fetch thread; what it raises is raised where the object is processed."""
        response = self.s3.get_object(Bucket=entry.bucket, Key=entry.key)
        if response["ContentLength"] > PREFETCH_MAX_BYTES:
            response["Body"].close()
            return Fetched(None, None)
        return Fetched(response, response["Body"].read())

    def publish(self, rows: RunFile) -> None:
        """The run's file to the lake, its partition registered, and ``after_publish`` told."""
        try:
            if rows.rows:
                self.outcome.bytes_written = aws.s3_publisher(self.settings)(rows.path, self.run_key)
                self.outcome.run_file = self.run_key
                added = catalog.add_partitions(self.settings, self.table.name, [self.request.dt])
                self.outcome.new_partition = bool(added)
                if self.request.after_publish:
                    self.request.after_publish(rows.path)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._release(_error_text(exc))
            raise InfrastructureError(f"publishing {self.run_key}: {_error_text(exc)}") from exc

    def finish(self) -> BatchOutcome:
        for entry, result in self.finished:
            self._done(entry, result)
        return self.outcome

    def _entries(self, now: float) -> list[Entry]:
        """The ledger entries this run may work on: those its sensor batch was handed. With no keys (a
        backfill) every object of the day is enlisted under the run's own batch; so is a key the ledger
        has never heard of (a hand-made run config)."""
        bucket, keys, request = self.settings.lake_bucket, self.request.keys, self.request
        known = self.ledger.get_many(bucket, keys) if keys else {}
        listed: dict[str, str] = {}
        if not keys or set(keys) - set(known):
            prefix = self.table.source_prefix(self.settings)
            listed = {o.key: o.etag for o in day_objects(self.s3, bucket, prefix, request.dt)}
        if not keys:
            known = self.ledger.get_many(bucket, listed)
        entries: list[Entry] = []
        for key in keys or sorted(listed):
            if keys and key in known:
                entries.append(known[key])
                continue
            if key not in listed:
                continue
            fresh = Entry(bucket=bucket, key=key, etag="", table=self.table.name, dt=request.dt)
            entry = replace(known.get(key) or fresh, etag=listed[key])
            if self.ledger.enlist(entry, request.batch, now, force=request.force):
                entries.append(replace(entry, batch=request.batch, attempts=0, state=PENDING))
        return entries

    def _process_object(self, entry: Entry, rows: RunFile, fetched: Future[Fetched]) -> None:
        """One object: withdrawn when its source is gone, else through the SQL road when it is a big CSV
        the engine takes, else the columnar road into the run's file."""
        bucket, settings = entry.bucket, self.settings
        try:
            response, body = fetched.result()
            if response is None:  # a large object: fetched now, streamed
                response = self.s3.get_object(Bucket=bucket, Key=entry.key)
        except self.s3.exceptions.NoSuchKey:
            self._withdraw(entry)
            return
        entry = replace(entry, etag=response["ETag"].strip('"'))
        engine = self.request.sql_engine
        big = is_sql_road(entry.key, response["ContentLength"], settings.sql_road_min_bytes)
        if engine and self.table.sql_road and big:
            if body is not None:  # read whole ahead (TXD_SQL_ROAD_MIN_BYTES below PREFETCH_MAX_BYTES): again
                response = self.s3.get_object(Bucket=bucket, Key=entry.key, IfMatch=f'"{entry.etag}"')
            result = _sql_road(settings, engine(), self.request, entry, response, log=self.log)
            if result is not None:
                self.finished.append((entry, result))
                return
            response = self.s3.get_object(Bucket=bucket, Key=entry.key, IfMatch=f'"{entry.etag}"')
            body = None
        result = ingest_object(
            table=self.table.name,
            source_key=entry.key,
            # a small object as fetched ahead; a large one streamed: memory follows the block
            source=[body] if body is not None else response["Body"].iter_chunks(READ_CHUNK_BYTES),
            parse=self.table.parse,
            publish=aws.s3_publisher(settings),
            parquet_key=self.run_key,
            quarantine_key=layout.quarantine_key(self.table.name, self.request.dt, entry.key, entry.etag),
            into=rows,
        )
        self.finished.append((entry, result))

    def _done(self, entry: Entry, result: ObjectResult) -> None:
        """The run's file is published: the object is done, and what an earlier content of its key left goes."""
        outputs, outcome = result.outputs, self.outcome
        stale = [k for k in entry.outputs if k not in outputs]
        _delete(self.s3, entry.bucket, [k for k in stale if not layout.is_shared(k)])
        counts = {
            "rows_in": result.rows_in,
            "rows_published": result.rows_valid,
            "rows_quarantined": result.rows_quarantined,
        }
        if not self.ledger.mark_done(
            entry, self.request.run_id, time.time(), outputs, counts, encoding=result.encoding
        ):
            # handed to a newer batch meanwhile (its key was overwritten): that batch owns its outputs
            _delete(self.s3, entry.bucket, [k for k in outputs if not layout.is_shared(k)])
            outcome.rewrite_day |= any(layout.is_shared(k) for k in outputs)  # its rows leave with a rewrite
            outcome.skipped.append(entry.key)
            self.log(f"{entry.key}: superseded by a newer batch while this run read it; its rows are withdrawn")
            return
        outcome.objects.append(ObjectOutcome(entry.key, "done", result))
        outcome.rewrite_day |= any(layout.is_shared(k) for k in stale)
        reasons = f" ({'; '.join(result.reasons[:2])})" if result.reasons else ""
        self.log(f"{entry.key}: {result.rows_valid} published, {result.rows_quarantined} quarantined{reasons}")

    def _object_failed(self, entry: Entry, exc: Exception) -> None:
        """An outage stops the run (every unfinished object is released); the object's own error fails it."""
        error = _error_text(exc)
        if is_transient(exc):
            self._release(error)
            raise InfrastructureError(f"{entry.key}: {error}; {len(self.unfinished)} objects left") from exc
        self.unfinished.pop(entry.key, None)
        attempts = entry.attempts + 1
        failed = replace(entry, attempts=attempts)
        if attempts >= self.settings.ingest_max_attempts:
            poison(self.settings, self.ledger, failed, error, time.time())
            self.outcome.rewrite_day |= any(layout.is_shared(k) for k in entry.outputs)
            self.outcome.objects.append(ObjectOutcome(entry.key, "poisoned", error=error))
            self.log(f"{entry.key}: poisoned after {attempts} attempts: {error}")
        else:
            self.ledger.mark_failed(failed, self.request.run_id, time.time(), error, attempts)
            self.outcome.objects.append(ObjectOutcome(entry.key, "failed", error=error))
            self.log(f"{entry.key}: attempt {attempts} failed, will be retried: {error}")

    def _withdraw(self, entry: Entry) -> None:
        """The source object was deleted: its rows leave the lake with it (the ledger keeps the record)."""
        _delete(self.s3, entry.bucket, [k for k in entry.outputs if not layout.is_shared(k)])
        self.outcome.rewrite_day |= any(layout.is_shared(k) for k in entry.outputs)
        zero = {"rows_in": 0, "rows_published": 0, "rows_quarantined": 0}
        note = "the source object was deleted; its rows were withdrawn"
        self.ledger.mark_done(entry, self.request.run_id, time.time(), [], zero, note=note)
        self.outcome.objects.append(ObjectOutcome(entry.key, "withdrawn"))
        self.unfinished.pop(entry.key)
        self.log(f"{entry.key}: deleted from the lake's source; {len(entry.outputs)} outputs withdrawn")

    def _release(self, error: str) -> None:
        """Leave the unfinished objects failed (not an attempt of theirs) so they are handed out again."""
        for entry in self.unfinished.values():
            try:
                self.ledger.mark_failed(
                    entry, self.request.run_id, time.time(), f"infrastructure: {error}", entry.attempts
                )
            except Exception as exc:  # the ledger itself is down: their leases run out and they come back
                self.log(f"could not release {entry.key} in the ledger ({_error_text(exc)}); its lease will expire")
                return


def _sql_road(
    settings: Settings,
    engine: SqlEngine,
    request: BatchRequest,
    entry: Entry,
    response: GetObjectOutputTypeDef,
    *,
    log: Callable[[str], None],
) -> ObjectResult | None:
    """The object through the SQL road, or None when the columnar road must take it (a header that does
    not match the contract, or no records: it quarantines the file whole with the reason)."""
    first = next(response["Body"].iter_chunks(HEADER_BYTES), b"")
    response["Body"].close()
    if entry.key.lower().endswith(".gz"):
        first = zlib.decompressobj(wbits=31).decompress(first)
    line = first.removeprefix(UTF8_BOM).split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    no_header: list[str] = []
    header = next(csv.reader([line]), no_header)
    try:
        check_header(header)
    except ValueError:
        return None
    obj = SqlObject(
        database=settings.glue_database,
        bucket=entry.bucket,
        key=entry.key,
        etag=entry.etag,
        table=request.table.name,
        dt=request.dt,
        header=tuple(header),
        source_system=source_from_key(entry.key),
        ingested_at=response["LastModified"],
        max_ahead=timedelta(hours=settings.max_event_ahead_hours),
        attempt=entry.attempts,
    )
    log(f"{entry.key}: {response['ContentLength']} bytes, converted by the query engine (the SQL road)")
    try:
        return convert(engine, obj)
    except EmptyFile:
        return None


def _exists(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return False
        raise
    return True
