"""What a sensor tick hands out: a pure function of the cursor, the listing, the ledger's open entries
and the clock (no AWS client in here, so every rule is unit-tested).

- The cursor remembers, per open day, the ETag of every object already handed out; a new key or a new
  ETag of a known key is handed out. Open days are the watermark's day and the day before it.
- The watermark never passes today: an object under a future day is *ahead*; it is neither handed
  out nor remembered, so it is handed out on the first tick of its day.
- The ledger's failed objects come back once their backoff has passed; pending objects whose lease
  ran out (their run was killed, or never started) come back with one more attempt counted. An
  object that reached the attempt limit is poisoned instead.
- Each day's objects form one batch, named from its content (keys, ETags, attempts): the run key.
- Objects named by the bucket's event notifications (``notified``) join the listing: a file dropped into
  a day before the open ones (*late*) is handed out in a batch of its day; the ledger, not the cursor,
  keeps a repeated event from handing it out twice.
- While a run follows today's objects (``lake/follow.py``), those after the newest key it has seen
  are left to it (``left_to_follower``): not planned at all (a later tick finds them in the ledger,
  taken, or hands them out).
- An object under a ``dt=`` folder that is no calendar day (``2024-02-30``), or a day before the lake's
  first, is *misplaced*: no run could partition its rows, so it is handed to quarantine instead, once per
  ETag (remembered like a handed-out object), and it never moves the watermark.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, cast

from txdagster.lake.layout import misplaced_reason
from txdagster.lake.ledger import FAILED, PENDING, Entry
from txdagster.lake.listing import Listed

OVERLAP_DAYS = 1


def _etags(keys: Any) -> dict[str, str]:
    """A day's seen keys with their ETags; cursors written before ETags were kept hold lists of keys."""
    if isinstance(keys, dict):
        return dict(cast("dict[str, str]", keys))
    return dict.fromkeys(cast("list[str]", keys), "")


@dataclass
class Cursor:
    watermark: str = ""  # the newest day seen that is not in the future
    seen: dict[str, dict[str, str]] = field(default_factory=dict)  # dt -> key -> ETag handed out

    def to_json(self) -> str:
        return json.dumps({"watermark": self.watermark, "seen": self.seen}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        seen: dict[str, Any] = data.get("seen", {})
        return cls(
            watermark=data.get("watermark", ""),
            seen={dt: _etags(keys) for dt, keys in seen.items()},
        )

    def since(self) -> str:
        """The oldest open day: what the next listing must cover ('' = everything, on a first tick)."""
        if not self.watermark:
            return ""
        return (date.fromisoformat(self.watermark) - timedelta(days=OVERLAP_DAYS)).isoformat()


@dataclass(frozen=True)
class Item:
    """One object of a batch: its key and ETag, and for a retry, the attempts counted and why."""

    key: str
    etag: str
    attempts: int = 0
    error: str = ""
    entry: Entry | None = None  # the ledger entry it comes back from (None: new)


@dataclass
class Plan:
    batches: dict[str, list[Item]] = field(default_factory=dict)  # dt -> items, sorted by key
    poison: list[tuple[Entry, str]] = field(default_factory=list)
    ahead: list[Listed] = field(default_factory=list)
    late: list[Listed] = field(default_factory=list)  # notified under a day before the open ones
    misplaced: list[tuple[Listed, str]] = field(default_factory=list)  # with why no partition can hold it
    cursor: Cursor = field(default_factory=Cursor)

    def batch_id(self, table: str, dt: str) -> str:
        return batch_id(table, dt, self.batches[dt])


def batch_id(table: str, dt: str, items: list[Item]) -> str:
    """Deterministic, and new for every hand-out: a retry names the batch it comes back from."""
    lines = (f"{i.key}\t{i.etag}\t{i.attempts}\t{i.entry.batch if i.entry else ''}" for i in items)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return f"{table}:{dt}:{digest[:20]}"


def _abandoned(entry: Entry) -> str:
    run = f"run {entry.run_id}" if entry.run_id else "no run (never started)"
    return f"{run} did not finish it before its lease ran out (killed?)"


def _retries(
    open_entries: list[Entry], new_keys: set[str], max_attempts: int, now: float, result: Plan
) -> list[tuple[str, Item]]:
    """The open entries due again (failed past their backoff, pending past their lease), with their day;
    those at the attempt limit go to ``result.poison`` instead."""
    due: list[tuple[str, Item]] = []
    for entry in open_entries:
        if entry.key in new_keys:
            continue  # new content of the same key: handed out as new
        if entry.state == FAILED and entry.next_attempt_at <= now:
            attempts, error = entry.attempts, entry.error
        elif entry.state == PENDING and entry.lease_until <= now:
            attempts, error = entry.attempts + 1, _abandoned(entry)
        else:
            continue
        if attempts >= max_attempts:
            result.poison.append((replace(entry, attempts=attempts), error))
            continue
        due.append((entry.dt, Item(entry.key, entry.etag, attempts, error, entry)))
    return due


def _next_cursor(cursor: Cursor, usable: list[Listed], result: Plan, today: str) -> Cursor:
    in_range_days = [obj.dt for obj in usable if obj.dt <= today]
    watermark = max([cursor.watermark, *in_range_days]) if (cursor.watermark or in_range_days) else ""
    watermark = min(watermark, today) if watermark else ""
    seen = {dt: dict(keys) for dt, keys in cursor.seen.items()}
    for dt, items in result.batches.items():
        for item in items:
            if item.entry is None:
                seen.setdefault(dt, {})[item.key] = item.etag
    for obj, _ in result.misplaced:
        seen.setdefault(obj.dt, {})[obj.key] = obj.etag
    following = Cursor(watermark=watermark)
    oldest = following.since()
    following.seen = {dt: keys for dt, keys in seen.items() if dt >= oldest}
    return following


def left_to_follower(listed: list[Listed], today: str, after: str | None) -> tuple[list[Listed], list[Listed]]:
    """The listing without today's objects after ``after`` (the newest key a following run has seen; None:
    no run follows), and those objects."""
    if after is None:
        return listed, []
    followed = [obj for obj in listed if obj.dt == today and obj.key > after]
    return [obj for obj in listed if not (obj.dt == today and obj.key > after)], followed


def plan(
    cursor: Cursor,
    listed: list[Listed],
    open_entries: list[Entry],
    *,
    today: str,
    first_day: str,
    max_attempts: int,
    now: float,
    notified: Sequence[Listed] = (),
) -> Plan:
    result = Plan()
    fresh: dict[str, list[Item]] = {}
    usable: list[Listed] = []
    known = {(o.key, o.etag) for o in listed}
    extra = list({(o.key, o.etag): o for o in notified if (o.key, o.etag) not in known}.values())
    result.late = [o for o in extra if o.dt < cursor.since()]
    for obj in [*listed, *extra]:
        reason = misplaced_reason(obj.dt, first_day)
        if reason is None:
            usable.append(obj)
        elif cursor.seen.get(obj.dt, {}).get(obj.key) != obj.etag:
            result.misplaced.append((obj, reason))
    for obj in usable:
        if obj.dt > today:
            result.ahead.append(obj)
        elif cursor.seen.get(obj.dt, {}).get(obj.key) != obj.etag:
            fresh.setdefault(obj.dt, []).append(Item(obj.key, obj.etag))
    new_keys = {item.key for items in fresh.values() for item in items}
    for dt, item in _retries(open_entries, new_keys, max_attempts, now, result):
        fresh.setdefault(dt, []).append(item)
    result.batches = {dt: sorted(items, key=lambda i: i.key) for dt, items in sorted(fresh.items())}
    result.cursor = _next_cursor(cursor, usable, result, today)
    return result
