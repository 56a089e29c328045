"""An ingest run of change batches that its sensor launched follows its day (``lake/follow.py``): a
batch that lands while it runs is taken by that run, within a poll, and the sensor hands none of it
out again; in its last seconds it hands over to a successor, and a killed follower loses nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime

import dagster as dg
import pytest

from lambdas.stream_exporter.batch import change_lines, encode, pad_sequence
from tests.conftest import wait_for
from txdagster.definitions import defs
from txdagster.lake import aws, catalog, follow
from txdagster.lake.current import versions_of
from txdagster.lake.engines import query_engine
from txdagster.lake.ledger import DONE, PENDING, Ledger
from txdagster.local.headless import HeadlessDagster
from txdagster.settings import with_overrides

pytestmark = pytest.mark.integration
TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture
def own(settings, monkeypatch, tmp_path):
    """A lake bucket and a Glue database of its own: these changes never were in DynamoDB, so they must
    not reach the shared lake (whose full parity later tests prove)."""
    name = f"follow-{tmp_path.name[-24:]}".lower().replace("_", "-")
    own = with_overrides(settings, lake_bucket=name, glue_database=name.replace("-", "_"))
    aws.client("s3", own).create_bucket(
        Bucket=own.lake_bucket, CreateBucketConfiguration={"LocationConstraint": own.region}
    )
    catalog.ensure_lake(own)
    monkeypatch.setenv("TXD_LAKE_BUCKET", own.lake_bucket)  # what the runs' resources read
    monkeypatch.setenv("TXD_GLUE_DATABASE", own.glue_database)
    return own


def _put_batch(settings, n: int) -> tuple[str, str]:
    """A change batch as the stream exporter writes it, in a stream folder sorting after the real one."""
    now = datetime.now(UTC)
    image = {
        "transaction_id": {"S": f"payments:follow-{n}"},
        "source_system": {"S": "payments"},
        "account_id": {"S": "ACC-FOLLOW"},
        "amount": {"N": "12.5"},
        "currency": {"S": "EUR"},
        "transaction_type": {"S": "payment"},
        "status": {"S": "settled"},
        "event_time": {"S": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")},
        "ingested_at": {"S": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")},
        "version": {"N": "1"},
    }
    sequence = str(9_000_000 + n)
    record = {
        "eventID": sequence,
        "eventName": "INSERT",
        "eventSourceARN": "arn:aws:dynamodb:x:1:table/t/stream/zz",
        "dynamodb": {
            "SequenceNumber": sequence,
            "ApproximateCreationDateTime": now.timestamp(),
            "Keys": {"transaction_id": image["transaction_id"]},
            "NewImage": image,
        },
    }
    key = f"{settings.cdc_prefix}dt={TODAY}/zz-follow/{pad_sequence(sequence)}-{pad_sequence(sequence)}.jsonl.gz"
    aws.client("s3", settings).put_object(Bucket=settings.lake_bucket, Key=key, Body=encode(change_lines([record])))
    return key, f"payments:follow-{n}"


def _materializations(result: dg.ExecuteInProcessResult) -> list[dg.AssetMaterialization]:
    materialized = result.asset_materializations_for_node("transaction_changes")
    return [m for m in materialized if m.asset_key == dg.AssetKey("transaction_changes")]


def _keys(requests: list[dg.RunRequest]) -> list[str]:
    return [k for r in requests for k in r.run_config["ops"]["transaction_changes"]["config"]["object_keys"]]


def test_a_sensor_run_takes_the_batches_that_land_while_it_runs_and_the_sensor_hands_none_out_again(own, monkeypatch):
    monkeypatch.setenv("TXD_INGEST_FOLLOW_SECONDS", "5")
    orchestrator = HeadlessDagster(dg.DagsterInstance.ephemeral())
    first_key, first_id = _put_batch(own, 1)
    [request] = [r for r in orchestrator.requests("cdc_sensor") if r.partition_key == TODAY]
    assert first_key in request.run_config["ops"]["transaction_changes"]["config"]["object_keys"]
    later: list[tuple[str, str]] = []
    landing = threading.Timer(1.5, lambda: later.append(_put_batch(own, 2)))

    landing.start()
    result = defs.resolve_job_def("ingest_changes").execute_in_process(
        run_config=request.run_config,
        partition_key=TODAY,
        instance=orchestrator.instance,
        tags={**request.tags, "dagster/sensor_name": "cdc_sensor"},  # as the daemon launches it
    )
    landing.join()

    assert result.success
    [(second_key, second_id)] = later
    entries = Ledger(own).get_many(own.lake_bucket, [first_key, second_key])
    assert {entries[k].state for k in (first_key, second_key)} == {DONE}
    assert entries[first_key].run_id == entries[second_key].run_id == result.run_id
    assert entries[second_key].batch.startswith(f"transaction_changes:{TODAY}:follow:{result.run_id}:")
    assert versions_of(own, [first_id, second_id]) == {first_id: 1, second_id: 1}
    [materialization] = _materializations(result)
    assert materialization.metadata["batches"].value >= 2
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["rows_accounted"] and checks["valid_rows"]
    handed = _keys(orchestrator.requests("cdc_sensor"))
    assert second_key not in handed and first_key not in handed


def test_the_headless_orchestrators_runs_do_not_follow(own, monkeypatch):
    monkeypatch.setenv("TXD_INGEST_FOLLOW_SECONDS", "30")
    orchestrator = HeadlessDagster(dg.DagsterInstance.ephemeral())
    key, _ = _put_batch(own, 3)

    assert orchestrator.tick() >= 1

    event = orchestrator.instance.get_latest_materialization_event(dg.AssetKey("transaction_changes"))
    metadata = event.asset_materialization.metadata
    assert metadata["batches"].value == 1  # its sensor's batch only: the tick did not wait 30 s
    assert Ledger(own).get(own.lake_bucket, key).state == DONE


def _launch(instance: dg.DagsterInstance, request: dg.RunRequest, results: list) -> threading.Thread:
    """Execute ``request`` as the daemon would launch its sensor's run, in a thread of its own."""

    def run() -> None:
        results.append(
            defs.resolve_job_def("ingest_changes").execute_in_process(
                run_config=request.run_config,
                partition_key=request.partition_key,
                instance=instance,
                tags={**request.tags, "dagster/sensor_name": "cdc_sensor"},
            )
        )

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """The ingest_changes runs, oldest first."""
    return list(reversed(instance.get_runs(dg.RunsFilter(job_name="ingest_changes"))))


def test_a_follower_hands_over_to_a_successor_that_follows_on_after_it_and_never_ingests_beside_it(
    own, monkeypatch, tmp_path
):
    monkeypatch.setenv("TXD_INGEST_FOLLOW_SECONDS", "8")  # within the handover window as soon as it follows
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    orchestrator = HeadlessDagster(instance)
    first_key, first_id = _put_batch(own, 11)
    [request] = [r for r in orchestrator.requests("cdc_sensor") if r.partition_key == TODAY]
    results: list[dg.ExecuteInProcessResult] = []
    threads = [_launch(instance, request, results)]

    def first(tag: str) -> str:
        runs = _runs(instance)
        return runs[0].tags.get(tag, "") if runs else ""

    wait_for(lambda: first(follow.BEAT_TAG), timeout=60, what="the first run to follow")
    second_key, second_id = _put_batch(own, 12)
    wait_for(lambda: int(first(follow.TOOK_TAG) or 0) >= 1, timeout=30, what="the first run to take a batch")
    landing_key, landing_id = _put_batch(own, 14)  # lands as the successor is asked for: the follower's
    [successor] = [r for r in orchestrator.requests("cdc_sensor") if r.partition_key == TODAY]
    assert successor.run_config["ops"]["transaction_changes"]["config"] == {"object_keys": [], "follow_on": True}
    threads.append(_launch(instance, successor, results))
    wait_for(lambda: len(_runs(instance)) == 2, what="the successor to start")
    assert orchestrator.requests("cdc_sensor") == []  # the handover is under way: nothing more
    wait_for(lambda: first(follow.STOPPED_TAG), timeout=30, what="the first run to stop following")
    third_key, third_id = _put_batch(own, 15)
    for thread in threads:
        thread.join()

    assert len(results) == 2 and all(r.success for r in results)
    first_run, second_run = (run.run_id for run in _runs(instance))
    assert successor.tags[follow.FOLLOWS_ON_TAG] == first_run
    entries = Ledger(own).get_many(own.lake_bucket, [first_key, second_key, landing_key, third_key])
    assert {e.state for e in entries.values()} == {DONE}
    assert entries[first_key].run_id == entries[second_key].run_id == entries[landing_key].run_id == first_run
    assert entries[third_key].run_id == second_run  # listed after the newest key the first run saw
    assert entries[third_key].batch.startswith(f"transaction_changes:{TODAY}:follow:{second_run}:")
    ids = [first_id, second_id, landing_id, third_id]
    assert versions_of(own, ids) == dict.fromkeys(ids, 1)
    first_tags, second_tags = (instance.get_run_by_id(run).tags for run in (first_run, second_run))
    follow_started = float(second_tags[follow.ENDS_TAG]) - 8
    assert follow_started >= float(first_tags[follow.STOPPED_TAG]) - 0.01  # it followed after, never beside


CHILD_FOLLOWER = """
import json, sys
import dagster as dg
from txdagster.definitions import defs
request = json.loads(sys.stdin.readline())
instance = dg.DagsterInstance.local_temp(request["instance"])
defs.resolve_job_def("ingest_changes").execute_in_process(
    run_config=request["run_config"],
    partition_key=request["partition_key"],
    instance=instance,
    tags={"dagster/sensor_name": "cdc_sensor"},
)
"""


def test_a_follower_killed_mid_batch_leaves_every_change_once_after_the_sensor_takes_over(own, monkeypatch, tmp_path):
    monkeypatch.setenv("TXD_INGEST_LEASE_SECONDS", "3")
    monkeypatch.setattr(follow, "DEAD_AFTER_SECONDS", 4.0)  # the sensor's side (this process): a beat is 2 s
    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    orchestrator = HeadlessDagster(instance)
    batches = [_put_batch(own, 21)]
    [request] = [r for r in orchestrator.requests("cdc_sensor") if r.partition_key == TODAY]
    environment = {**os.environ, "TXD_INGEST_FOLLOW_SECONDS": "60", "TXD_INGEST_LEASE_SECONDS": "3"}
    ledger = Ledger(own)

    def claimed_by_a_follow_batch() -> bool:
        entries = ledger.get_many(own.lake_bucket, [key for key, _ in batches]).values()
        return any(e.state == PENDING and e.run_id and ":follow:" in e.batch for e in entries)

    child = subprocess.Popen([sys.executable, "-c", CHILD_FOLLOWER], env=environment, stdin=subprocess.PIPE, text=True)
    try:
        assert child.stdin is not None
        line = {"run_config": request.run_config, "partition_key": TODAY, "instance": str(tmp_path)}
        child.stdin.write(json.dumps(line) + "\n")
        child.stdin.flush()
        wait_for(lambda: any(follow.BEAT_TAG in r.tags for r in _runs(instance)), timeout=90, what="it to follow")
        for n in range(22, 34):
            batches.append(_put_batch(own, n))
        wait_for(claimed_by_a_follow_batch, timeout=30, interval=0.02, what="a follow batch claimed")
    finally:
        child.kill()  # mid-batch, or whatever it was doing when the test failed
        child.wait()
    killed = [e for e in ledger.get_many(own.lake_bucket, [k for k, _ in batches]).values() if e.state != DONE]
    assert killed, "the follower finished everything before it could be killed"

    def all_done() -> bool:
        orchestrator.tick()  # waits while the killed follower's beat is fresh, then hands out again
        return all(e.state == DONE for e in ledger.get_many(own.lake_bucket, [k for k, _ in batches]).values())

    wait_for(all_done, timeout=90, interval=1, what="every change batch done after the kill")
    ids = [transaction_id for _, transaction_id in batches]
    in_list = ", ".join(f"'{t}'" for t in ids)
    sql = "SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids FROM transaction_changes WHERE transaction_id"
    assert query_engine(own).query(f"{sql} IN ({in_list})").to_pylist()[0] == {"n": len(ids), "ids": len(ids)}
    assert versions_of(own, ids) == dict.fromkeys(ids, 1)  # transactions_current: each exactly once
