"""A shared/exclusive lease on one lake table's day, kept as an item of the ledger table
(``lock#<table>#<dt>``).

Ingest runs publish into a day's live folder and share the day (any number at once); a rewrite that
compacts the day replaces that folder and holds it alone. A file published into a folder the rewrite
has already read would otherwise vanish from view when the partition moves. Both are leases of
``TXD_INGEST_LEASE_SECONDS``: a killed run's share lapses and then only delays the next compaction,
never the next ingest run.

The item holds ``sharers`` (a string set of ``<holder>|<lease end>``), ``owner`` and ``owner_until``
(the exclusive holder), and ``version``, which every write raises: the exclusive holder takes the day
only if no write came between its read (no live sharer) and its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from boto3.dynamodb.conditions import Attr

from txdagster.lake import aws
from txdagster.settings import Settings

SHARED, EXCLUSIVE = "shared", "exclusive"


class DayBusy(RuntimeError):
    """Another run holds the day in a way that excludes this one; try again later."""


class DayLock:
    def __init__(
        self,
        settings: Settings,
        table: str,
        dt: str,
        holder: str,
        *,
        mode: str = SHARED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = aws.resource("dynamodb", settings).Table(settings.ledger_table)
        self._failed = self.table.meta.client.exceptions.ConditionalCheckFailedException
        self.name = f"lock#{table}#{dt}"
        self.holder, self.mode, self.clock = holder, mode, clock
        self.lease_seconds = settings.ingest_lease_seconds
        self._share: str | None = None  # the set member this holder added

    def _update(self, sets: list[str], values: dict[str, object], condition: object, more: str = "") -> bool:
        """One conditional write: ``sets`` (and ``more``: ADD/DELETE/REMOVE clauses) plus a raised version."""
        expression = "SET " + ", ".join([*sets, "#versionz = if_not_exists(#versionz, :zeroz) + :onez"]) + more
        try:
            self.table.update_item(
                Key={"object": self.name},
                UpdateExpression=expression,
                ExpressionAttributeNames={
                    "#versionz": "version",
                    **({"#ownerz": "owner"} if "#ownerz" in expression else {}),
                },
                ExpressionAttributeValues={**values, ":zeroz": 0, ":onez": 1},
                ConditionExpression=condition,
            )
        except self._failed:
            return False
        return True

    def _take_shared(self) -> bool:
        now = self.clock()
        share = f"{self.holder}|{now + self.lease_seconds:.3f}"
        no_owner = Attr("owner").not_exists() | Attr("owner_until").lt(int(now)) | Attr("owner").eq(self.holder)
        if not self._update([], {":sharez": {share}}, no_owner, more=" ADD sharers :sharez"):
            return False
        previous, self._share = self._share, share
        if previous:  # a renewal: the earlier lease end goes
            self._update([], {":sharez": {previous}}, Attr("object").exists(), more=" DELETE sharers :sharez")
        return True

    def _take_exclusive(self) -> bool:
        now = self.clock()
        item = self.table.get_item(Key={"object": self.name}, ConsistentRead=True).get("Item")
        if item:
            owner_live = item.get("owner") not in (None, self.holder) and item.get("owner_until", 0) >= now
            sharers_live = any(float(s.rsplit("|", 1)[1]) >= now for s in item.get("sharers", ()))
            if owner_live or sharers_live:
                return False
            unchanged = Attr("version").eq(item.get("version", 0))
        else:
            unchanged = Attr("object").not_exists()
        until = int(now + self.lease_seconds) + 1
        return self._update(
            ["#ownerz = :ownerz", "owner_until = :untilz"],
            {":ownerz": self.holder, ":untilz": until},
            unchanged,
            more=" REMOVE sharers",
        )

    def _take(self) -> bool:
        return self._take_shared() if self.mode == SHARED else self._take_exclusive()

    def acquire(self, wait_seconds: float) -> None:
        """Take the day, waiting up to ``wait_seconds`` for the holders that exclude this one."""
        deadline = self.clock() + wait_seconds
        pause = 0.2
        while not self._take():
            if self.clock() >= deadline:
                held = self.table.get_item(Key={"object": self.name}, ConsistentRead=True).get("Item", {})
                raise DayBusy(
                    f"{self.name} is held ({held.get('owner') or 'by ingest runs'}); "
                    f"{self.holder} waited {wait_seconds:.0f} s"
                )
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    def renew(self) -> None:
        """Extend the lease (a long run, between objects); raises ``DayBusy`` if it was lost."""
        if self.mode == SHARED:
            renewed = self._take_shared()
        else:
            until = int(self.clock() + self.lease_seconds) + 1
            renewed = self._update(["owner_until = :untilz"], {":untilz": until}, Attr("owner").eq(self.holder))
        if not renewed:
            raise DayBusy(f"{self.name}: {self.holder}'s lease lapsed and the day was taken")

    def release(self) -> None:
        if self.mode == SHARED:
            if self._share:
                self._update([], {":sharez": {self._share}}, Attr("object").exists(), more=" DELETE sharers :sharez")
                self._share = None
        else:
            self._update([], {}, Attr("owner").eq(self.holder), more=" REMOVE #ownerz, owner_until")

    def __enter__(self) -> DayLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
