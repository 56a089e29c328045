"""List new objects under day-partitioned prefixes without re-reading the whole history.

A cursor holds a watermark day and the keys already seen since the day before it, so an object that
lands late in an older day (within the overlap) is still found, and none is processed twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from txdagster.lake import aws
from txdagster.settings import Settings

DT_PATTERN = re.compile(r"dt=(\d{4}-\d{2}-\d{2})/")
OVERLAP_DAYS = 1


@dataclass
class ListingCursor:
    watermark: str = ""  # the newest dt seen, YYYY-MM-DD
    seen: dict[str, list[str]] = field(default_factory=dict)  # dt -> keys already handed out

    def to_json(self) -> str:
        return json.dumps({"watermark": self.watermark, "seen": self.seen}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> ListingCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(watermark=data.get("watermark", ""), seen={k: list(v) for k, v in data.get("seen", {}).items()})

    def oldest_open_day(self) -> str:
        if not self.watermark:
            return ""
        return (date.fromisoformat(self.watermark) - timedelta(days=OVERLAP_DAYS)).isoformat()


def _common_prefixes(s3: Any, bucket: str, prefix: str) -> list[str]:
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    return found


def objects(s3: Any, bucket: str, prefix: str) -> list[tuple[str, datetime]]:
    """(key, last modified) of every object under ``prefix``; folder markers are skipped."""
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.extend((o["Key"], o["LastModified"]) for o in page.get("Contents", []) if not o["Key"].endswith("/"))
    return found


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [key for key, _ in objects(s3, bucket, prefix)]


def day_prefixes(s3: Any, bucket: str, prefix: str, since: str) -> list[tuple[str, str]]:
    """(dt, prefix) for each ``dt=`` folder under ``prefix`` (one level of sub-folders allowed) >= since."""
    days = []
    for sub in _common_prefixes(s3, bucket, prefix):
        match = DT_PATTERN.search(sub[len(prefix) :])
        if match:
            if match.group(1) >= since:
                days.append((match.group(1), sub))
            continue
        for inner in _common_prefixes(s3, bucket, sub):
            inner_match = DT_PATTERN.search(inner[len(sub) :])
            if inner_match and inner_match.group(1) >= since:
                days.append((inner_match.group(1), inner))
    return days


def day_keys(settings: Settings, prefix: str, dt: str) -> list[str]:
    """Every object of one day under ``prefix`` (a backfill of that day)."""
    s3 = aws.client("s3", settings)
    keys = []
    for day, day_prefix in day_prefixes(s3, settings.lake_bucket, prefix, dt):
        if day == dt:
            keys.extend(_keys(s3, settings.lake_bucket, day_prefix))
    return sorted(keys)


def new_keys_by_day(
    settings: Settings, prefix: str, cursor: ListingCursor
) -> tuple[dict[str, list[str]], ListingCursor]:
    """New object keys grouped by dt, and the cursor that marks them seen (prunes days past overlap)."""
    s3 = aws.client("s3", settings)
    since = cursor.oldest_open_day()
    found: dict[str, list[str]] = {}
    for dt, day_prefix in day_prefixes(s3, settings.lake_bucket, prefix, since):
        seen = set(cursor.seen.get(dt, []))
        fresh = [k for k in _keys(s3, settings.lake_bucket, day_prefix) if k not in seen]
        if fresh:
            found.setdefault(dt, []).extend(fresh)
    seen_all = {dt: list(keys) for dt, keys in cursor.seen.items()}
    for dt, keys in found.items():
        seen_all[dt] = sorted(set(seen_all.get(dt, [])) | set(keys))
        found[dt] = sorted(keys)
    watermark = max([cursor.watermark, *found.keys()]) if (found or cursor.watermark) else ""
    new_cursor = ListingCursor(watermark=watermark)
    new_cursor.seen = {dt: keys for dt, keys in seen_all.items() if dt >= new_cursor.oldest_open_day()}
    return found, new_cursor
