"""The sensors' one-run-in-flight rule and the followers' handover (``lake/follow.py``): which runs the
sensor waits for, when a successor is due, and whom a successor waits for."""

import time

import dagster as dg

from txdagster.defs.lake.following import runs_in_flight
from txdagster.lake.follow import (
    AFTER_TAG,
    BEAT_TAG,
    DEAD_AFTER_SECONDS,
    ENDS_TAG,
    HANDOVER_SECONDS,
    STOPPED_TAG,
    TOOK_TAG,
    RunInFlight,
    followed_after,
    follows_on,
    wait_reason,
)

LEASE = 60.0
NOW = 1_800_000_000.0


def _follower(run_id: str, ends_in: float, beat_ago: float = 1.0, took: int = 3, **more: str) -> RunInFlight:
    tags = {ENDS_TAG: str(NOW + ends_in), BEAT_TAG: str(NOW - beat_ago), TOOK_TAG: str(took), **more}
    return RunInFlight(run_id, NOW - 100, tags)


def test_a_run_not_ended_is_waited_for_until_it_is_older_than_the_lease():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_run(dg.DagsterRun(job_name="ingest_files", run_id="running", status=dg.DagsterRunStatus.STARTED))
    instance.add_run(dg.DagsterRun(job_name="ingest_changes", run_id="done", status=dg.DagsterRunStatus.SUCCESS))
    [running] = runs_in_flight(instance, "ingest_files")
    assert runs_in_flight(instance, "ingest_changes") == []  # ended: the next run may start
    now = time.time()
    assert wait_reason([running], now, LEASE) == "run running is in flight"
    assert wait_reason([running], now + LEASE + 1, LEASE) is None  # died unmarked: not waited for


def test_a_follower_is_waited_for_until_its_last_seconds_then_a_successor_follows_on():
    far = _follower("far", ends_in=HANDOVER_SECONDS + 5)
    near = _follower("near", ends_in=HANDOVER_SECONDS - 1)
    assert wait_reason([far], NOW, LEASE) == "run far is in flight"
    assert wait_reason([near], NOW, LEASE) is None
    assert follows_on([near], NOW, LEASE) == near
    assert follows_on([far], NOW, LEASE) is None


def test_no_successor_follows_on_after_a_follow_that_took_nothing():
    idle = _follower("idle", ends_in=1, took=0)
    assert wait_reason([idle], NOW, LEASE) is None  # the sensor ticks as usual
    assert follows_on([idle], NOW, LEASE) is None  # but starts no run with nothing to hand out


def test_once_a_successor_is_in_flight_the_sensor_waits_for_the_handover():
    near = _follower("near", ends_in=2)
    successor = RunInFlight("successor", NOW - 1, {})
    assert wait_reason([near, successor], NOW, LEASE) == "run near hands over to successor"


def test_a_killed_follower_is_not_waited_for_once_its_beat_is_old():
    killed = _follower("killed", ends_in=HANDOVER_SECONDS + 30, beat_ago=DEAD_AFTER_SECONDS + 1)
    assert wait_reason([killed], NOW, LEASE) is None
    assert not killed.following(NOW)


def test_a_successor_waits_for_a_follower_until_it_says_it_stopped():
    following = _follower("p", ends_in=-1)  # past its planned end, finishing its last batch
    assert following.following(NOW)
    stopped = _follower("p", ends_in=-1, **{STOPPED_TAG: str(NOW)})
    assert not stopped.following(NOW)
    assert not RunInFlight("not-a-follower", NOW, {}).following(NOW)


def test_the_newest_key_a_live_follower_saw_is_what_the_sensor_leaves_to_it():
    follower = _follower("f", ends_in=5, **{AFTER_TAG: "cdc/t/dt=2026-11-27/s/0007-0008.jsonl.gz"})
    assert followed_after([follower], NOW) == "cdc/t/dt=2026-11-27/s/0007-0008.jsonl.gz"
    stopped = _follower("f", ends_in=5, **{AFTER_TAG: "k", STOPPED_TAG: str(NOW)})
    killed = _follower("k", ends_in=5, beat_ago=DEAD_AFTER_SECONDS + 1, **{AFTER_TAG: "k"})
    assert followed_after([stopped], NOW) is followed_after([killed], NOW) is followed_after([], NOW) is None


def test_a_retried_run_blanks_the_follow_its_parent_reported_and_counts_as_not_stopped():
    from txdagster.lake.follow import INGESTS_TAG, RETRY_TAG, inherited

    parent = {ENDS_TAG: "1.0", BEAT_TAG: "2.0", AFTER_TAG: "k", STOPPED_TAG: "3.0", TOOK_TAG: "4", INGESTS_TAG: "1.5"}
    assert inherited(parent) == {}  # the parent itself: nothing to blank
    blanked = inherited({**parent, RETRY_TAG: "1", "dagster/sensor_name": "cdc_sensor"})
    assert blanked == dict.fromkeys(parent, "")
    retry = RunInFlight("r", NOW - 1, {**parent, **blanked, BEAT_TAG: str(NOW - 1)})  # its own first beat
    assert retry.following(NOW)  # no longer "stopped": a successor waits for it
