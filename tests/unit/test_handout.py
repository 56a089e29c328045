"""What a sensor tick hands out: new and overwritten objects, retries after backoff, abandoned
batches, poison, and days that have not begun. Pure rules: no AWS here."""

from dataclasses import replace

import pytest

from txdagster.lake.handout import Cursor, left_to_follower, plan
from txdagster.lake.ledger import FAILED, PENDING, Entry
from txdagster.lake.listing import Listed

TODAY = "2026-11-27"
NOW = 1_800_000_000.0


def _plan(cursor: Cursor, listed: list[Listed], entries: list[Entry] = (), today: str = TODAY, max_attempts: int = 3):
    return plan(cursor, listed, list(entries), today=today, first_day="2024-01-01", max_attempts=max_attempts, now=NOW)


def _entry(key: str, state: str, **fields) -> Entry:
    return Entry(bucket="lake", key=key, etag="e1", table="t", dt=TODAY, state=state, batch="t:old", **fields)


def test_new_objects_are_batched_by_day_and_never_handed_out_twice():
    listed = [
        Listed("raw/a/dt=2026-11-26/1", "e1", "2026-11-26"),
        Listed("raw/a/dt=2026-11-27/2", "e2", TODAY),
        Listed("raw/b/dt=2026-11-27/3", "e3", TODAY),
    ]
    first = _plan(Cursor(), listed)
    assert {dt: [i.key for i in items] for dt, items in first.batches.items()} == {
        "2026-11-26": ["raw/a/dt=2026-11-26/1"],
        TODAY: ["raw/a/dt=2026-11-27/2", "raw/b/dt=2026-11-27/3"],
    }
    assert first.cursor.watermark == TODAY
    again = _plan(Cursor.from_json(first.cursor.to_json()), listed)
    assert again.batches == {}


def test_an_overwritten_key_with_a_new_etag_is_handed_out_again():
    listed = [Listed("raw/a/dt=2026-11-27/f", "old", TODAY)]
    cursor = _plan(Cursor(), listed).cursor
    result = _plan(cursor, [Listed("raw/a/dt=2026-11-27/f", "new", TODAY)])
    assert [(i.key, i.etag) for i in result.batches[TODAY]] == [("raw/a/dt=2026-11-27/f", "new")]


def test_a_future_day_neither_moves_the_watermark_nor_is_marked_seen_and_is_handed_out_when_it_opens():
    today_file = Listed("raw/a/dt=2026-11-27/t", "e", TODAY)
    tomorrow = Listed("raw/a/dt=2026-11-28/x", "e", "2026-11-28")
    far = Listed("raw/a/dt=2099-01-01/x", "e", "2099-01-01")
    result = _plan(Cursor(), [today_file, tomorrow, far])
    assert list(result.batches) == [TODAY]
    assert result.ahead == [tomorrow, far]
    assert result.cursor.watermark == TODAY
    assert "2026-11-28" not in result.cursor.seen
    later = _plan(result.cursor, [today_file, tomorrow, far], today="2026-11-28")
    assert [i.key for i in later.batches["2026-11-28"]] == [tomorrow.key]
    assert later.ahead == [far]


def test_a_day_before_the_lake_began_is_misplaced_not_handed_out():
    old = Listed("raw/a/dt=2001-01-01/x", "e", "2001-01-01")
    result = _plan(Cursor(), [old])
    [(misplaced, reason)] = result.misplaced
    assert result.batches == {} and misplaced == old and "before the lake's first day" in reason


@pytest.mark.parametrize(
    "dt", ["2024-02-30", "2026-13-01", "2026-11-27x", "today", "", "2026-1-5", "\uff12\uff10\uff12\uff16-11-27"]
)
def test_a_folder_that_is_no_calendar_day_is_misplaced_once_and_never_moves_the_watermark(dt):
    odd = Listed(f"raw/a/dt={dt}/x.jsonl", "e1", dt)
    good = Listed(f"raw/a/dt={TODAY}/y.jsonl", "e2", TODAY)
    result = _plan(Cursor(), [odd, good])
    [(misplaced, reason)] = result.misplaced
    assert misplaced == odd and "move it under the day it belongs to" in reason
    assert list(result.batches) == [TODAY] and result.cursor.watermark == TODAY

    def listed(*objects: Listed) -> list[Listed]:  # as the sensor lists: day folders from cursor.since() on
        return [o for o in objects if o.dt >= result.cursor.since()]

    again = _plan(result.cursor, listed(odd, good))
    assert again.misplaced == [] and again.batches == {}  # remembered (or no longer listed)
    changed = _plan(result.cursor, listed(Listed(odd.key, "e9", dt), good))
    assert len(changed.misplaced) == (1 if dt >= result.cursor.since() else 0)  # new content: quarantined again


def test_a_failed_object_comes_back_only_after_its_backoff():
    waiting = _entry("k1", FAILED, attempts=1, next_attempt_at=NOW + 10, error="boom")
    due = _entry("k2", FAILED, attempts=1, next_attempt_at=NOW - 1, error="boom")
    result = _plan(Cursor(watermark=TODAY), [], [waiting, due])
    [item] = result.batches[TODAY]
    assert (item.key, item.attempts, item.error) == ("k2", 1, "boom")


def test_an_abandoned_batch_comes_back_with_one_more_attempt_once_its_lease_ran_out():
    live = _entry("k1", PENDING, run_id="r1", lease_until=NOW + 60)
    killed = _entry("k2", PENDING, run_id="r2", lease_until=NOW - 1)
    result = _plan(Cursor(watermark=TODAY), [], [live, killed])
    [item] = result.batches[TODAY]
    assert item.key == "k2" and item.attempts == 1
    assert "run r2 did not finish it" in item.error


def test_an_object_at_the_attempt_limit_is_poisoned_instead_of_handed_out():
    killed = _entry("k", PENDING, attempts=2, run_id="r", lease_until=NOW - 1)
    result = _plan(Cursor(watermark=TODAY), [], [killed], max_attempts=3)
    assert result.batches == {}
    [(entry, error)] = result.poison
    assert entry.attempts == 3 and "lease ran out" in error


def test_every_hand_out_gets_a_new_deterministic_batch_id():
    entry = _entry("k", FAILED, attempts=1, next_attempt_at=0)
    first = _plan(Cursor(watermark=TODAY), [], [entry])
    assert first.batch_id("t", TODAY) == _plan(Cursor(watermark=TODAY), [], [entry]).batch_id("t", TODAY)
    second = _plan(Cursor(watermark=TODAY), [], [replace(entry, batch=first.batch_id("t", TODAY))])
    assert second.batch_id("t", TODAY) != first.batch_id("t", TODAY)


def test_cursors_of_the_earlier_format_read_as_keys_seen():
    cursor = Cursor.from_json('{"watermark": "2026-11-27", "seen": {"2026-11-27": ["raw/a/dt=2026-11-27/f"]}}')
    assert cursor.seen == {TODAY: {"raw/a/dt=2026-11-27/f": ""}}


def test_a_notified_file_in_a_day_before_the_open_ones_is_handed_out_in_a_batch_of_its_day():
    late = Listed("raw/a/dt=2025-03-01/late.jsonl", "e1", "2025-03-01")
    today = Listed(f"raw/a/dt={TODAY}/x.jsonl", "e2", TODAY)
    result = plan(
        Cursor(watermark=TODAY),
        [today],
        [],
        today=TODAY,
        first_day="2024-01-01",
        max_attempts=3,
        now=NOW,
        notified=[late, late, today],  # at least once: repeated, and an object the listing has too
    )
    assert {dt: [i.key for i in items] for dt, items in result.batches.items()} == {
        "2025-03-01": [late.key],
        TODAY: [today.key],
    }
    assert result.late == [late] and result.cursor.watermark == TODAY  # a late day never moves it back
    assert "2025-03-01" not in result.cursor.seen  # the ledger, not the cursor, keeps it from coming twice


def test_an_event_names_only_created_objects_of_the_bucket_under_the_prefix_with_their_day():
    import json

    from txdagster.lake.raw_events import objects_of

    def event(key: str, name: str = "ObjectCreated:Put", bucket: str = "lake") -> str:
        s3 = {"bucket": {"name": bucket}, "object": {"key": key, "eTag": "abc", "size": 3}}
        return json.dumps({"Records": [{"eventName": name, "s3": s3}]})

    assert objects_of(event("raw/crm/dt%3D2025-03-01/a+b.jsonl"), "lake", "raw/") == [
        Listed("raw/crm/dt=2025-03-01/a b.jsonl", "abc", "2025-03-01")
    ]
    assert objects_of(event("raw/crm/loose.jsonl"), "lake", "raw/")[0].dt == ""  # under no day: misplaced
    for ignored in (
        event("raw/crm/dt=2025-03-01/x", name="ObjectRemoved:Delete"),
        event("raw/crm/dt=2025-03-01/x", bucket="another"),
        event("cdc/transactions/dt=2025-03-01/x"),
        event("raw/crm/dt=2025-03-01/_SUCCESS"),
        json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"}),
        "not json",
        "[1]",
    ):
        assert objects_of(ignored, "lake", "raw/") == [], ignored


def test_todays_objects_after_a_followers_newest_key_are_left_to_it_and_handed_out_once_it_is_gone():
    seen = Listed("cdc/t/dt=2026-11-27/s/01-02", "e1", TODAY)  # before the follower's key: it missed it
    new = Listed("cdc/t/dt=2026-11-27/s/05-06", "e2", TODAY)
    yesterday = Listed("cdc/t/dt=2026-11-26/s/09-10", "e3", "2026-11-26")
    listed, followed = left_to_follower([seen, new, yesterday], TODAY, after="cdc/t/dt=2026-11-27/s/03-04")
    assert listed == [seen, yesterday] and followed == [new]
    handed = _plan(Cursor(), listed)
    assert [i.key for items in handed.batches.values() for i in items] == [yesterday.key, seen.key]
    later = _plan(Cursor.from_json(handed.cursor.to_json()), left_to_follower([seen, new, yesterday], TODAY, None)[0])
    assert [i.key for items in later.batches.values() for i in items] == [new.key]  # not remembered as handed out
