"""The ingestion ledger: one DynamoDB item per source object (bucket, key, ETag) saying what became of it.

Dagster's sensor cursor only says what a sensor has *seen*; the ledger says what is *done*, and it
survives a wiped Dagster instance. Every write is conditional, so two runs (or a run and a sensor)
never both believe they own an object.

States: ``pending`` (handed out to a batch, maybe claimed by a run) -> ``done`` | ``failed`` (with
``attempts`` and ``next_attempt_at``) -> ... -> ``poisoned`` after ``TXD_INGEST_MAX_ATTEMPTS``. An item
that is not done carries ``open_state = "<table>#<state>"``, a sparse index the sensors query to find
what to hand out again without listing the bucket.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from txdagster.lake import aws
from txdagster.settings import Settings

log = logging.getLogger(__name__)

PENDING, DONE, FAILED, POISONED = "pending", "done", "failed", "poisoned"
OPEN_INDEX = "open-objects"
BATCH_GET_LIMIT = 100  # DynamoDB's per-call limit for BatchGetItem
MAX_BACKOFF_SECONDS = 3600


def object_id(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


@dataclass
class Entry:
    bucket: str
    key: str
    etag: str
    table: str
    dt: str
    state: str = PENDING
    attempts: int = 0
    batch: str = ""
    run_id: str = ""
    lease_until: float = 0.0
    next_attempt_at: float = 0.0
    rows_in: int | None = None
    rows_published: int | None = None
    rows_quarantined: int | None = None
    outputs: list[str] = field(default_factory=list)
    error: str = ""
    updated_at: str = ""
    planned: str = ""  # the run file a claiming run may have published this object's rows in, until done
    encoding: str = ""  # what its bytes were when it was read: "gzip" or "identity" (whatever its suffix)

    @property
    def object(self) -> str:
        return object_id(self.bucket, self.key)

    def as_json(self) -> dict[str, Any]:
        return {"object": self.object, **self.__dict__}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Entry:
        def number(name: str, kind: type = int) -> Any:
            return None if item.get(name) is None else kind(item[name])

        return cls(
            bucket=item["bucket"],
            key=item["key"],
            etag=item.get("etag", ""),
            table=item.get("table", ""),
            dt=item.get("dt", ""),
            state=item.get("state", PENDING),
            attempts=number("attempts") or 0,
            batch=item.get("batch", ""),
            run_id=item.get("run_id", ""),
            lease_until=number("lease_until", float) or 0.0,
            next_attempt_at=number("next_attempt_at", float) or 0.0,
            rows_in=number("rows_in"),
            rows_published=number("rows_published"),
            rows_quarantined=number("rows_quarantined"),
            outputs=list(item.get("outputs", [])),
            error=item.get("error", ""),
            updated_at=item.get("updated_at", ""),
            planned=item.get("planned", ""),
            encoding=item.get("encoding", ""),
        )


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """Exponential: the base delay after the first failure, doubling with each one, capped at an hour."""
    return float(min(settings.ingest_retry_seconds * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")


def _decimal(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


class Ledger:
    """Reads and conditional writes on the ledger table."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._resource = aws.resource("dynamodb", settings)
        self.table = self._resource.Table(settings.ledger_table)
        self._client = self.table.meta.client

    def _update(self, entry_object: str, sets: dict[str, Any], condition: Any) -> bool:
        """SET ``sets`` (None values are REMOVEd) if ``condition`` holds; False when it does not.

        Placeholders end in ``z`` so that none is a prefix of another (moto substitutes textually)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        assigned: list[str] = []
        removed: list[str] = []
        for n, (name, value) in enumerate(sets.items()):
            names[f"#n{n}z"] = name
            if value is None:
                removed.append(f"#n{n}z")
                continue
            values[f":v{n}z"] = _decimal(value) if isinstance(value, float) else value
            assigned.append(f"#n{n}z = :v{n}z")
        expression = "SET " + ", ".join(assigned) + (" REMOVE " + ", ".join(removed) if removed else "")
        try:
            self.table.update_item(
                Key={"object": entry_object},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- reading ---------------------------------------------------------------------------------

    def get(self, bucket: str, key: str) -> Entry | None:
        item = self.table.get_item(Key={"object": object_id(bucket, key)}, ConsistentRead=True).get("Item")
        return Entry.from_item(item) if item else None

    def get_many(self, bucket: str, keys: Iterable[str]) -> dict[str, Entry]:
        """Entries of ``keys`` that exist, by key (BatchGetItem in chunks of 100)."""
        wanted = sorted({object_id(bucket, k) for k in keys})
        found: dict[str, Entry] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self.table.name: {"Keys": [{"object": o} for o in wanted[start : start + BATCH_GET_LIMIT]]}
            }
            while request:
                response = self._resource.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table.name, []):
                    entry = Entry.from_item(item)
                    found[entry.key] = entry
                request = response.get("UnprocessedKeys") or {}
        return found

    def open_entries(self, table: str, state: str) -> list[Entry]:
        """Every entry of ``table`` in ``state`` (pending, failed or poisoned), from the sparse index."""
        entries: list[Entry] = []
        start = None
        while True:
            page = self.table.query(
                IndexName=OPEN_INDEX,
                KeyConditionExpression=Key("open_state").eq(f"{table}#{state}"),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            entries.extend(Entry.from_item(item) for item in page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return entries

    # --- the sensor's writes ---------------------------------------------------------------------

    def _fresh(self, entry: Entry, batch: str, now: float) -> dict[str, Any]:
        """An object's item as it is first handed out to ``batch`` (attempts from zero)."""
        return {
            "bucket": entry.bucket,
            "key": entry.key,
            "etag": entry.etag,
            "table": entry.table,
            "dt": entry.dt,
            "state": PENDING,
            "open_state": f"{entry.table}#{PENDING}",
            "attempts": 0,
            "batch": batch,
            "run_id": None,
            "lease_until": now + self.settings.ingest_lease_seconds,
            "next_attempt_at": None,
            "error": None,
            "updated_at": _stamp(now),
        }

    def register(self, entry: Entry, batch: str, now: float) -> bool:
        """Hand out an object seen for the first time, or again with new content (a new ETag).

        Refused when the ledger already knows this very content (done, poisoned, or in flight)."""
        return self._update(
            entry.object,
            self._fresh(entry, batch, now),
            Attr("object").not_exists() | Attr("etag").ne(entry.etag),
        )

    def hand_out_again(self, entry: Entry, batch: str, now: float, attempts: int, error: str) -> bool:
        """Hand a failed (or abandoned) object to a new batch, if nobody changed it since it was read."""
        return self._update(
            entry.object,
            {
                "state": PENDING,
                "open_state": f"{entry.table}#{PENDING}",
                "attempts": attempts,
                "batch": batch,
                "run_id": None,
                "lease_until": now + self.settings.ingest_lease_seconds,
                "error": error or None,
                "updated_at": _stamp(now),
            },
            Attr("batch").eq(entry.batch) & Attr("state").eq(entry.state) & Attr("etag").eq(entry.etag),
        )

    # --- the run's writes ------------------------------------------------------------------------

    def enlist(self, entry: Entry, batch: str, now: float, force: bool = False) -> bool:
        """A backfill's own hand-out: take every object of the day that is not done with this content
        (``force``: also the done ones), unless another live batch holds it. A poisoned object is taken
        too: a backfill is an operator's retry."""
        condition = Attr("object").not_exists() | Attr("etag").ne(entry.etag) | Attr("lease_until").lt(_decimal(now))
        condition = condition | Attr("state").eq(FAILED)
        condition = condition | (Attr("state").eq(DONE) if force else Attr("state").eq(POISONED))
        return self._update(
            entry.object,
            self._fresh(entry, batch, now),
            condition,
        )

    def claim(self, entry: Entry, batch: str, run_id: str, now: float, planned: str) -> bool:
        """The run takes an object its batch was handed (again, for a re-executed run), naming the file
        its rows will be published in (if the run dies after publishing, the next one knows where to look)."""
        return self._update(
            entry.object,
            {
                "run_id": run_id,
                "lease_until": now + self.settings.ingest_lease_seconds,
                "updated_at": _stamp(now),
                "planned": planned,
            },
            Attr("batch").eq(batch)
            & (Attr("state").eq(PENDING) | (Attr("state").eq(FAILED) & Attr("next_attempt_at").lte(_decimal(now)))),
        )

    def renew(self, entry: Entry, run_id: str, now: float) -> bool:
        return self._update(
            entry.object,
            {"lease_until": now + self.settings.ingest_lease_seconds},
            Attr("run_id").eq(run_id) & Attr("state").eq(PENDING),
        )

    def mark_done(
        self,
        entry: Entry,
        run_id: str,
        now: float,
        outputs: list[str],
        counts: dict[str, int],
        *,
        note: str = "",
        encoding: str = "",
    ) -> bool:
        return self._update(
            entry.object,
            {
                "state": DONE,
                "open_state": None,
                "etag": entry.etag,
                "outputs": outputs,
                "planned": None,
                "rows_in": counts["rows_in"],
                "rows_published": counts["rows_published"],
                "rows_quarantined": counts["rows_quarantined"],
                "lease_until": None,
                "next_attempt_at": None,
                "error": note or None,
                "encoding": encoding or None,
                "updated_at": _stamp(now),
            },
            Attr("run_id").eq(run_id),
        )

    def relocate(self, bucket: str, key: str, before: list[str], after: list[str]) -> bool:
        """A rewrite of the day moved the object's rows into other files (only if nothing else changed them)."""
        return self._update(object_id(bucket, key), {"outputs": after}, Attr("outputs").eq(before))

    def mark_failed(self, entry: Entry, run_id: str, now: float, error: str, attempts: int) -> bool:
        """Record a failure; the object is handed out again after the backoff for ``attempts``."""
        return self._update(
            entry.object,
            {
                "state": FAILED,
                "open_state": f"{entry.table}#{FAILED}",
                "attempts": attempts,
                "error": error[:2000],
                "lease_until": None,
                "next_attempt_at": now + backoff_seconds(self.settings, max(attempts, 1)),
                "updated_at": _stamp(now),
            },
            Attr("run_id").eq(run_id),
        )

    def mark_poisoned(self, entry: Entry, now: float, error: str, outputs: list[str], condition_batch: str) -> bool:
        """Give up on the object (its rows quarantined or none published); counted in CloudWatch."""
        changed = self._update(
            entry.object,
            {
                "state": POISONED,
                "open_state": f"{entry.table}#{POISONED}",
                "attempts": entry.attempts,
                "error": error[:2000],
                "outputs": outputs,
                "rows_in": None,
                "rows_published": 0,
                "lease_until": None,
                "next_attempt_at": None,
                "updated_at": _stamp(now),
            },
            Attr("batch").eq(condition_batch),
        )
        if changed:
            self._count_poisoned(entry.table)
        return changed

    def mark_misplaced(self, entry: Entry, now: float, error: str, outputs: list[str]) -> bool:
        """Record an object no run may take (its folder is no usable day) as poisoned from the start,
        unless the ledger already knows this content."""
        changed = self._update(
            entry.object,
            {
                **self._fresh(entry, "", now),
                "batch": None,
                "lease_until": None,
                "state": POISONED,
                "open_state": f"{entry.table}#{POISONED}",
                "error": error[:2000],
                "outputs": outputs,
                "rows_published": 0,
            },
            Attr("object").not_exists() | Attr("etag").ne(entry.etag),
        )
        if changed:
            self._count_poisoned(entry.table)
        return changed

    def _count_poisoned(self, table: str) -> None:
        """The ``PoisonedLakeObjects`` metric (total, and per table), which the template alarms on."""
        datum = {"MetricName": "PoisonedLakeObjects", "Value": 1.0, "Unit": "Count"}
        try:
            aws.client("cloudwatch", self.settings).put_metric_data(
                Namespace=self.settings.metrics_namespace,
                MetricData=[datum, {**datum, "Dimensions": [{"Name": "table", "Value": table}]}],
            )
        except Exception as exc:  # a metric lost must never undo the verdict already recorded
            log.warning("could not count the poisoned object of %s: %s", table, exc)

    def replay(self, bucket: str, key: str, now: float) -> Entry | None:
        """An operator's retry: the object is handed out on the sensor's next tick, with a clean count.
        Refused (None) for an unknown object or one in flight."""
        entry = self.get(bucket, key)
        if entry is None or entry.state == PENDING:
            return None
        changed = self._update(
            entry.object,
            {
                "state": FAILED,
                "open_state": f"{entry.table}#{FAILED}",
                "attempts": 0,
                "next_attempt_at": 0.0,
                "error": f"replay requested (was {entry.state})",
                "updated_at": _stamp(now),
            },
            Attr("state").eq(entry.state) & Attr("etag").eq(entry.etag),
        )
        return self.get(bucket, key) if changed else None
