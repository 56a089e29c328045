"""Sensor cursors: list only days since the watermark, never skip or repeat a key, survive restarts."""

from __future__ import annotations

import pytest

from txdagster.lake import aws
from txdagster.lake.listing import ListingCursor, new_keys_by_day

pytestmark = pytest.mark.integration
PREFIX = "listing-test/"


def _put(settings, key: str) -> None:
    aws.client("s3", settings).put_object(Bucket=settings.lake_bucket, Key=PREFIX + key, Body=b"x")


def test_keys_are_batched_by_day_then_never_handed_out_again(settings):
    for key in ("a/dt=2026-11-01/1.json", "b/dt=2026-11-01/2.json", "a/dt=2026-11-02/3.json"):
        _put(settings, key)
    found, cursor = new_keys_by_day(settings, PREFIX, ListingCursor())
    assert {dt: len(keys) for dt, keys in found.items()} == {"2026-11-01": 2, "2026-11-02": 1}
    assert cursor.watermark == "2026-11-02"
    again, cursor = new_keys_by_day(settings, PREFIX, ListingCursor.from_json(cursor.to_json()))
    assert again == {}


def test_a_late_file_in_the_previous_day_is_found_and_old_days_are_pruned(settings):
    _put(settings, "a/dt=2026-10-01/old.json")
    cursor = ListingCursor(watermark="2026-11-02", seen={"2026-10-01": ["x"], "2026-11-01": [], "2026-11-02": []})
    _put(settings, "a/dt=2026-11-01/late.json")
    found, cursor = new_keys_by_day(settings, PREFIX, cursor)
    assert PREFIX + "a/dt=2026-11-01/late.json" in found["2026-11-01"]
    assert "2026-10-01" not in found
    assert "2026-10-01" not in cursor.seen
