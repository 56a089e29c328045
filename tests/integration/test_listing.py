"""Listing day-partitioned prefixes: only the days asked for, ETags included, "_" names hidden."""

from __future__ import annotations

import pytest

from txdagster.lake import aws
from txdagster.lake.listing import day_objects, objects_since

pytestmark = pytest.mark.integration
PREFIX = "listing-test/"


def _put(settings, key: str, body: bytes = b"x") -> None:
    aws.client("s3", settings).put_object(Bucket=settings.lake_bucket, Key=PREFIX + key, Body=body)


def test_a_listing_covers_the_days_since_its_start_one_folder_level_deep(settings):
    keys = ["a/dt=2026-10-01/old.json", "a/dt=2026-11-01/1.json", "b/dt=2026-11-01/2.json", "a/dt=2026-11-02/3.json"]
    for key in [*keys, "dt=2026-11-03/top.json", "a/dt=2026-11-02/_hidden.json"]:
        _put(settings, key)
    s3 = aws.client("s3", settings)
    listed = objects_since(s3, settings.lake_bucket, PREFIX, "2026-11-01")
    assert sorted((o.dt, o.key.removeprefix(PREFIX)) for o in listed) == [
        ("2026-11-01", "a/dt=2026-11-01/1.json"),
        ("2026-11-01", "b/dt=2026-11-01/2.json"),
        ("2026-11-02", "a/dt=2026-11-02/3.json"),
        ("2026-11-03", "dt=2026-11-03/top.json"),
    ]
    assert all(len(o.etag) == 32 for o in listed)
    assert [o.key for o in day_objects(s3, settings.lake_bucket, PREFIX, "2026-10-01")] == [
        PREFIX + "a/dt=2026-10-01/old.json"
    ]


def test_a_table_prefix_lists_its_day_folders_from_the_start_day_on(settings):
    for day in ("2026-09-01", "2026-09-02", "2026-09-03"):
        _put(settings, f"table-level/dt={day}/batch.jsonl.gz")
    s3 = aws.client("s3", settings)
    seen: list[dict] = []

    def record(params, **_):
        seen.append(dict(params))

    s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", record)
    try:
        listed = objects_since(s3, settings.lake_bucket, PREFIX + "table-level/", "2026-09-02")
    finally:
        s3.meta.events.unregister("before-parameter-build.s3.ListObjectsV2", record)

    assert sorted(o.dt for o in listed) == ["2026-09-02", "2026-09-03"]
    day_listing = [p for p in seen if p.get("Delimiter") == "/" and "MaxKeys" not in p]
    assert [p.get("StartAfter") for p in day_listing] == [PREFIX + "table-level/dt=2026-09-02"]
