"""List the lake's day-partitioned prefixes (``.../dt=YYYY-MM-DD/...``) from a given day on.

``StartAfter`` skips every older day folder, so a listing costs the days it asks for (and the folders
of the source systems above them), never the whole history of the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from txdagster.lake import layout


@dataclass(frozen=True)
class Listed:
    key: str
    etag: str
    dt: str
    last_modified: datetime | None = None


def _folders(s3: Any, bucket: str, prefix: str, start_after: str = "") -> list[str]:
    found: list[str] = []
    options = {"StartAfter": start_after} if start_after else {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/", **options):
        found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    return found


def _objects(s3: Any, bucket: str, prefix: str, dt: str, start_after: str = "") -> list[Listed]:
    found: list[Listed] = []
    options = {"StartAfter": start_after} if start_after else {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **options):
        found.extend(
            Listed(o["Key"], o.get("ETag", "").strip('"'), dt, o.get("LastModified"))
            for o in page.get("Contents", [])
            if is_data_key(o["Key"])
        )
    return found


def is_data_key(key: str) -> bool:
    """An object the lake reads: not a folder marker, not a file whose name starts with ``_``
    (``_SUCCESS`` and other markers of the tools that write files)."""
    return not key.endswith("/") and not key.rsplit("/", 1)[-1].startswith("_")


def _day(folder: str, parent: str) -> str | None:
    return layout.day_of(folder[len(parent) - 1 :] if parent else folder)


def _holds_days(s3: Any, bucket: str, prefix: str) -> bool:
    """Whether the folders right under ``prefix`` are day folders (a table's) or not (source systems)."""
    first = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=1).get("CommonPrefixes", [])
    return bool(first) and _day(first[0]["Prefix"], prefix) is not None


def _days_under(s3: Any, bucket: str, parent: str, since: str) -> list[tuple[str, str]]:
    start_after = parent + layout.day_folder(since).rstrip("/") if since else ""
    found: list[tuple[str, str]] = []
    for folder in _folders(s3, bucket, parent, start_after=start_after):
        dt = _day(folder, parent)
        if dt is not None and dt >= since:
            found.append((dt, folder))
    return found


def day_folders(s3: Any, bucket: str, prefix: str, since: str = "") -> list[tuple[str, str]]:
    """(dt, folder) for each ``dt=`` folder under ``prefix``, or one level below it, with dt >= since.
    Day folders are listed from ``since`` on (``StartAfter``), so old days cost nothing."""
    if _holds_days(s3, bucket, prefix):
        return _days_under(s3, bucket, prefix, since)
    days: list[tuple[str, str]] = []
    for folder in _folders(s3, bucket, prefix):
        dt = _day(folder, prefix)
        if dt is None:
            days.extend(_days_under(s3, bucket, folder, since))
        elif dt >= since:
            days.append((dt, folder))
    return days


def objects_since(s3: Any, bucket: str, prefix: str, since: str = "") -> list[Listed]:
    """Every object of the days >= ``since`` (all days when empty), future days included."""
    return [o for dt, folder in day_folders(s3, bucket, prefix, since) for o in _objects(s3, bucket, folder, dt)]


def day_objects(s3: Any, bucket: str, prefix: str, dt: str) -> list[Listed]:
    """Every object of one day under ``prefix`` (a backfill of that day)."""
    return [
        o for day, folder in day_folders(s3, bucket, prefix, dt) if day == dt for o in _objects(s3, bucket, folder, dt)
    ]


def objects_after(s3: Any, bucket: str, prefix: str, dt: str, after: str) -> list[Listed]:
    """The objects of day ``dt`` under ``prefix`` whose keys sort after ``after`` (``StartAfter``)."""
    return _objects(s3, bucket, prefix + layout.day_folder(dt), dt, start_after=after)
