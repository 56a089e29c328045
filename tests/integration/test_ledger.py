"""Lake ingestion never loses an object: the ledger, retries, poison, future days, overwritten keys and
readers during ingestion, all through the production sensors and runs on the embedded stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from tests.conftest import wait_for
from tests.integration.helpers import until_in_view
from txdagster import cli
from txdagster.defs.lake import sensors
from txdagster.lake import aws, catalog
from txdagster.lake.engines import query_engine
from txdagster.lake.ledger import DONE, FAILED, POISONED, Ledger
from txdagster.local import state
from txdagster.local.runtime import StreamPoller

pytestmark = pytest.mark.integration
#: Sensors list the open days only (the watermark's day and the one before): new files land today.
TODAY = datetime.now(UTC).date().isoformat()


def _line(tid: str, **changes) -> str:
    record = {
        "transaction_id": tid,
        "account_id": "ACC-LEDGER",
        "amount": "10.00",
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "settled",
        "event_time": "2026-11-20T10:00:00Z",
    }
    return json.dumps({**record, **changes})


def _put(settings, key: str, body: str | bytes, **extra) -> None:
    data = body.encode() if isinstance(body, str) else body
    aws.client("s3", settings).put_object(Bucket=settings.lake_bucket, Key=key, Body=data, **extra)


def _ids(settings, where: str) -> list[str]:
    table = query_engine(settings).query(f"SELECT transaction_id FROM transaction_files WHERE {where}")
    return sorted(table.column(0).to_pylist())


def _trace(settings, key: str, capsys) -> dict:
    capsys.readouterr()
    assert cli.main(["trace", key, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def quick_retries(monkeypatch):
    """Failed objects are due again at once (the backoff's base is a setting)."""
    monkeypatch.setenv("TXD_INGEST_RETRY_SECONDS", "0")


# --- bad values --------------------------------------------------------------------------------------

BAD_VALUES = [
    _line("crm:bad-inf", amount="Infinity"),
    _line("crm:bad-snan", amount="sNaN"),
    _line("crm:bad-1e400", amount="x").replace('"x"', "1e400"),
    _line("crm:bad-digits", amount="1" * 30),
    _line("crm:bad-time", event_time="9999-12-31T23:00:00-05:00"),
    _line("crm:bad-version").replace('"account_id"', '"version": 1e400, "account_id"'),
    '{"a":' * 100_000 + "1" + "}" * 100_000,
]


def test_bad_values_in_one_file_among_good_files_are_quarantined_and_the_good_rows_published(
    settings, orchestrator, capsys
):
    folder = f"raw/crm/dt={TODAY}/bad-values-"
    for n in range(3):
        _put(settings, f"{folder}good-{n}.jsonl", "\n".join(_line(f"crm:good-{n}-{i}") for i in range(5)))
    bad_key = f"{folder}bad.jsonl"
    _put(settings, bad_key, "\n".join([_line("crm:among-bad"), *BAD_VALUES]))
    csv_key = f"{folder}extra-cell.csv"
    header = "transaction_id,account_id,amount,currency,transaction_type,status,event_time"
    _put(
        settings,
        csv_key,
        f"{header}\ncrm:csv-1,A,1.00,EUR,payment,settled,2026-11-20T00:00:00Z,surplus\n"
        "crm:csv-2,A,2.00,EUR,payment,settled,2026-11-20T00:00:00Z\n",
    )

    orchestrator.tick()

    assert orchestrator.failed_runs == []
    assert len(_ids(settings, f"source_file LIKE '{folder}%'")) == 17  # 15 good + 1 beside the bad ones + 1 CSV
    entry = _trace(settings, bad_key, capsys)
    assert (entry["state"], entry["rows_in"], entry["rows_published"], entry["rows_quarantined"]) == (
        DONE,
        1 + len(BAD_VALUES),
        1,
        len(BAD_VALUES),
    )
    quarantine = [key for key in entry["outputs"] if key.startswith("quarantine/")]
    body = aws.client("s3", settings).get_object(Bucket=settings.lake_bucket, Key=quarantine[0])["Body"].read()
    reasons = [json.loads(line)["reason"] for line in body.decode().splitlines()]
    assert sum("amount" in r for r in reasons) == 4
    assert any("timestamp" in r for r in reasons) and any("version" in r for r in reasons)
    assert any("nested too deeply" in r for r in reasons)
    assert _trace(settings, csv_key, capsys)["rows_quarantined"] == 1


# --- days ------------------------------------------------------------------------------------------


def test_a_far_future_day_never_stops_today_and_a_day_ahead_is_ingested_when_it_opens(
    settings, orchestrator, monkeypatch, capsys
):
    real_today = datetime.now(UTC).date()
    yesterday = (real_today - timedelta(days=1)).isoformat()
    monkeypatch.setattr(sensors, "utc_now", lambda: datetime.now(UTC) - timedelta(days=1))  # the clock: yesterday
    far = "raw/crm/dt=2099-01-01/far.jsonl"
    ahead = f"raw/crm/dt={real_today.isoformat()}/ahead.jsonl"
    _put(settings, far, _line("crm:far"))
    _put(settings, ahead, _line("crm:ahead"))
    orchestrator.tick()
    _put(settings, f"raw/crm/dt={yesterday}/now.jsonl", _line("crm:now"))

    orchestrator.tick()

    assert _ids(settings, "transaction_id IN ('crm:now', 'crm:ahead', 'crm:far')") == ["crm:now"]
    assert cli.main(["trace", ahead]) == 2  # never handed out: its day has not begun
    monkeypatch.setattr(sensors, "utc_now", lambda: datetime.now(UTC))  # the day opens

    orchestrator.tick()

    assert _ids(settings, "transaction_id IN ('crm:now', 'crm:ahead', 'crm:far')") == ["crm:ahead", "crm:now"]
    assert _trace(settings, ahead, capsys)["state"] == DONE
    assert cli.main(["trace", far]) == 2


# --- a killed run --------------------------------------------------------------------------------------

# the child imports Dagster and the definitions while the test writes, then reads its run from stdin
CHILD_RUN = """
import json, sys
from txdagster.definitions import defs
job = defs.resolve_job_def("ingest_changes")
request = json.loads(sys.stdin.readline())
job.execute_in_process(run_config=request["run_config"], partition_key=request["partition_key"])
"""


def test_a_run_killed_mid_batch_is_handed_out_again_and_every_object_is_ingested_once(
    settings, stack, orchestrator, api, monkeypatch
):
    monkeypatch.setenv("TXD_INGEST_LEASE_SECONDS", "3")
    [poller] = [loop for loop in stack.loops if isinstance(loop, StreamPoller)]
    monkeypatch.setattr(poller, "mapping", replace(poller.mapping, batching_window=0))  # a batch per write
    orchestrator.tick()  # the lake is level with everything before this test
    with subprocess.Popen(  # leaving the block closes its stdin: a child still waiting exits
        [sys.executable, "-c", CHILD_RUN],
        env={**os.environ, **state.stack_environment(settings), "TXD_INGEST_LEASE_SECONDS": "3"},
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as child:
        ids = [f"payments:killed-{n}" for n in range(24)]
        for tid in ids:  # one change batch per write: the stream poller picks each up on its own
            api.create(
                {
                    "transaction_id": tid,
                    "source_system": "payments",
                    "account_id": "ACC-K",
                    "amount": "3.00",
                    "currency": "EUR",
                    "transaction_type": "fee",
                    "status": "settled",
                    "event_time": "2026-11-27T00:00:00Z",
                    "ingested_at": "2026-11-27T00:00:00Z",
                }
            )
            time.sleep(0.4)
        time.sleep(1.5)
        [request] = orchestrator.requests("cdc_sensor")
        keys = request.run_config["ops"]["transaction_changes"]["config"]["object_keys"]
        assert len(keys) >= 10
        assert child.stdin is not None
        child.stdin.write(json.dumps({"run_config": request.run_config, "partition_key": request.partition_key}) + "\n")
        child.stdin.flush()
        ledger = Ledger(settings)

        def done_count() -> int:
            return sum(e.state == DONE for e in ledger.get_many(settings.lake_bucket, keys).values())

        wait_for(lambda: done_count() >= 3, timeout=150, interval=0.05, what="the child run to finish 3 objects")
        child.send_signal(signal.SIGKILL)
        child.wait()
    finished = done_count()
    assert finished < len(keys), "the run finished before it could be killed"
    time.sleep(3.5)  # the killed run's lease runs out

    rows = until_in_view(
        settings, orchestrator, lambda r: all(t in r for t in ids), "every killed-batch id in the view"
    )

    assert all(e.state == DONE for e in ledger.get_many(settings.lake_bucket, keys).values())
    retried = [e for e in ledger.get_many(settings.lake_bucket, keys).values() if e.attempts == 1]
    assert len(retried) == len(keys) - finished
    in_list = ", ".join(f"'{t}'" for t in ids)
    sql = "SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids FROM transaction_changes WHERE transaction_id"
    counts = query_engine(settings).query(f"{sql} IN ({in_list})").to_pylist()[0]
    assert counts == {"n": len(ids), "ids": len(ids)}  # exactly once
    assert all(rows[t]["version"] == 1 for t in ids)
    assert orchestrator.refresh_views()["passed"] is True


# --- overwritten keys ------------------------------------------------------------------------------


def test_an_overwritten_raw_key_replaces_its_rows_in_the_lake(settings, orchestrator, capsys):
    key = f"raw/trading/dt={TODAY}/positions.jsonl"
    _put(settings, key, "\n".join([_line("trading:v1-a"), _line("trading:v1-b")]))
    orchestrator.tick()
    assert _ids(settings, f"source_file = '{key}'") == ["trading:v1-a", "trading:v1-b"]

    _put(settings, key, _line("trading:v2-a"))
    orchestrator.tick()

    assert _ids(settings, f"source_file = '{key}'") == ["trading:v2-a"]
    assert _trace(settings, key, capsys)["rows_published"] == 1


def test_a_deleted_file_replayed_withdraws_its_rows_and_keeps_its_record(settings, orchestrator, capsys):
    key = f"raw/crm/dt={TODAY}/uploaded-twice.jsonl"
    _put(settings, key, _line("crm:withdrawn"))
    orchestrator.tick()
    assert _ids(settings, f"source_file = '{key}'") == ["crm:withdrawn"]
    aws.client("s3", settings).delete_object(Bucket=settings.lake_bucket, Key=key)

    assert cli.main(["replay", key]) == 0
    orchestrator.tick()

    assert _ids(settings, f"source_file = '{key}'") == []
    entry = _trace(settings, key, capsys)
    assert (entry["state"], entry["outputs"], entry["rows_in"]) == (DONE, [], 0)
    assert "deleted" in entry["error"]


def test_a_backfill_of_an_old_day_ingests_what_changed_and_only_that(settings):
    import dagster as dg

    from txdagster.defs.lake.assets import transaction_files
    from txdagster.defs.resources import lake_resources

    day = "2026-10-18"
    key, other = f"raw/payments/dt={day}/late.jsonl", f"raw/payments/dt={day}/kept.jsonl"
    _put(settings, key, _line("payments:late-v1"))
    _put(settings, other, _line("payments:kept"))

    def backfill() -> dict:
        result = dg.materialize([transaction_files], partition_key=day, resources=lake_resources())
        return result.asset_materializations_for_node("transaction_files")[0].metadata

    assert backfill()["objects_done"].value == 2
    _put(settings, key, _line("payments:late-v2"))  # a corrected file, dropped into an old day

    assert backfill()["objects_done"].value == 1  # the unchanged file is done already
    assert _ids(settings, f"dt = '{day}'") == ["payments:kept", "payments:late-v2"]


def test_a_run_of_many_small_objects_fetches_the_next_ones_while_it_ingests_each_once(settings):
    import dagster as dg

    from txdagster.defs.lake.assets import transaction_files
    from txdagster.defs.resources import lake_resources
    from txdagster.lake.ingest_run import PREFETCH_OBJECTS

    day = "2026-10-19"
    keys = [f"raw/payments/dt={day}/small-{n}.jsonl" for n in range(8)]
    for n, key in enumerate(keys):
        _put(settings, key, _line(f"payments:small-{n}"))
    in_flight, most, lock = [0], [0], threading.Lock()

    def sent(**_) -> None:  # each GetObject takes 0.2 s more, as a far-away bucket would
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.2)

    def answered(**_) -> None:
        with lock:
            in_flight[0] -= 1

    events = boto3._get_default_session().events
    aws.forget_clients()  # clients copy the session's hooks when made
    events.register("before-send.s3.GetObject", sent)
    events.register("after-call.s3.GetObject", answered)
    try:
        result = dg.materialize([transaction_files], partition_key=day, resources=lake_resources())
    finally:
        events.unregister("before-send.s3.GetObject", sent)
        events.unregister("after-call.s3.GetObject", answered)
        aws.forget_clients()
    assert result.asset_materializations_for_node("transaction_files")[0].metadata["objects_done"].value == 8
    assert _ids(settings, f"dt = '{day}'") == sorted(f"payments:small-{n}" for n in range(8))
    assert 2 <= most[0] <= PREFETCH_OBJECTS  # the GETs overlapped, never more than the fetch threads


# --- infrastructure failures ---------------------------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


def _inject(event: str, status: int, body: bytes, headers: dict[str, str]):
    """Answer every ``event`` call with a server error, as the service would during an outage."""

    def answer(request, **_):
        return AWSResponse(request.url, status, headers, _Body(body))

    events = boto3._get_default_session().events
    aws.forget_clients()  # clients copy the session's hooks when made
    events.register(f"before-send.{event}", answer)

    def recover() -> None:
        events.unregister(f"before-send.{event}", answer)
        aws.forget_clients()

    return recover


OUTAGES = {
    "glue": (
        "glue.BatchCreatePartition",
        500,
        b'{"__type":"InternalServiceException","message":"injected"}',
        {"x-amzn-ErrorType": "InternalServiceException", "Content-Type": "application/x-amz-json-1.1"},
    ),
    "s3": (
        "s3.GetObject",
        503,
        b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>",
        {"Content-Type": "application/xml"},
    ),
}


@pytest.mark.parametrize("service", list(OUTAGES))
def test_an_outage_during_a_run_leaves_its_objects_pending_until_the_service_recovers(
    service, settings, orchestrator, monkeypatch, quick_retries, capsys
):
    orchestrator.tick()  # the lake is level: the outage meets this test's run alone
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    keys = [f"raw/payments/dt={TODAY}/{service}-{n}.jsonl" for n in range(2)]
    mine = f"source_file LIKE 'raw/payments/dt={TODAY}/{service}-%'"
    for n, key in enumerate(keys):
        _put(settings, key, _line(f"payments:{service}-outage-{n}"))
    recover = _inject(*OUTAGES[service])
    try:
        orchestrator.tick()
    finally:
        recover()

    assert len(orchestrator.failed_runs) == 1
    orchestrator.failed_runs.clear()
    entries = [_trace(settings, key, capsys) for key in keys]
    assert [(e["state"], e["attempts"]) for e in entries] == [(FAILED, 0), (FAILED, 0)]
    assert "injected" in entries[0]["error"]
    if service == "s3":  # nothing could be read, so nothing was written
        assert _ids(settings, mine) == []

    orchestrator.tick()

    assert [_trace(settings, key, capsys)["state"] for key in keys] == [DONE, DONE]
    assert _ids(settings, mine) == [f"payments:{service}-outage-0", f"payments:{service}-outage-1"]
    assert TODAY in catalog.partition_days(settings, "transaction_files")


# --- poison --------------------------------------------------------------------------------------------


def test_a_file_dropped_into_a_past_day_is_seen_by_its_event_notification_and_ingested_once(
    settings, orchestrator, capsys
):
    orchestrator.tick()  # the open days are level
    key = "raw/crm/dt=2025-03-01/late-arrival.jsonl"  # long before the sensor's open days
    _put(settings, key, _line("crm:late-1"))

    assert orchestrator.tick() >= 1

    entry = _trace(settings, key, capsys)
    assert (entry["state"], entry["dt"], entry["rows_published"]) == (DONE, "2025-03-01", 1)
    assert _ids(settings, f"source_file = '{key}'") == ["crm:late-1"]
    assert "2025-03-01" in catalog.partition_days(settings, "transaction_files")
    sqs = aws.client("sqs", settings)
    queue = sqs.get_queue_url(QueueName=settings.raw_events_queue)["QueueUrl"]
    event = {"s3": {"bucket": {"name": settings.lake_bucket}, "object": {"key": key, "eTag": entry["etag"]}}}
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"Records": [{"eventName": "ObjectCreated:Put", **event}]}))
    runs = orchestrator.runs
    orchestrator.tick()  # S3 delivers at least once: the same event again hands nothing out
    assert orchestrator.runs == runs and _ids(settings, f"source_file = '{key}'") == ["crm:late-1"]
    assert (
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    )  # every event taken is deleted once its object is in the ledger


def test_the_ledger_records_the_encoding_found_in_the_bytes_whatever_the_name_says(settings, orchestrator, capsys):
    import gzip

    zipped, plain = f"raw/crm/dt={TODAY}/zipped-under-a-plain-name.jsonl", f"raw/crm/dt={TODAY}/plain.jsonl.gz"
    _put(settings, zipped, gzip.compress(_line("crm:enc-gzip").encode()))
    _put(settings, plain, _line("crm:enc-plain"))  # a .gz name over plain bytes

    orchestrator.tick()

    assert [(e["state"], e["encoding"]) for e in (_trace(settings, k, capsys) for k in (zipped, plain))] == [
        (DONE, "gzip"),
        (DONE, "identity"),
    ]
    assert _ids(settings, "transaction_id IN ('crm:enc-gzip', 'crm:enc-plain')") == ["crm:enc-gzip", "crm:enc-plain"]


def test_a_file_under_no_calendar_day_is_quarantined_whole_and_the_sensor_goes_on(settings, orchestrator, capsys):
    impossible = "raw/crm/dt=2024-02-30/leap.jsonl"  # before the watermark: a fresh cursor lists it
    beyond = f"raw/crm/dt={TODAY[:8]}32/month-end.jsonl"  # after it: every tick lists it
    worded = "raw/crm/dt=today/worded.jsonl"
    good = f"raw/crm/dt={TODAY}/beside-the-odd-days.jsonl"
    for key, tid in ((impossible, "crm:leap"), (beyond, "crm:month-end"), (worded, "crm:worded"), (good, "crm:odd-ok")):
        _put(settings, key, _line(tid))
    orchestrator.cursors["raw_sensor"] = None  # a new sensor (or a wiped instance) lists every day

    orchestrator.tick()

    assert _ids(settings, "transaction_id IN ('crm:leap', 'crm:month-end', 'crm:worded', 'crm:odd-ok')") == [
        "crm:odd-ok"
    ]
    for key in (impossible, beyond, worded):
        entry = _trace(settings, key, capsys)
        assert entry["state"] == POISONED and "is not a calendar day" in entry["error"], entry
        [quarantine] = entry["outputs"]
        assert quarantine.startswith(f"quarantine/transaction_files/dt={datetime.now(UTC).date().isoformat()}/")
        line = json.loads(
            aws.client("s3", settings).get_object(Bucket=settings.lake_bucket, Key=quarantine)["Body"].read()
        )
        assert line["source_key"] == key and "move it under the day it belongs to" in line["reason"]
    before = Ledger(settings).get(settings.lake_bucket, beyond)
    orchestrator.tick()  # the sensor goes on, and quarantines nothing twice
    assert Ledger(settings).get(settings.lake_bucket, beyond).updated_at == before.updated_at

    from txdagster.defs.lake.checks import _no_objects_ahead, _no_poisoned_objects
    from txdagster.defs.resources import LakeResource

    named = _no_poisoned_objects(LakeResource(), "transaction_files")  # the check that names them, with why
    assert not named.passed
    objects = named.metadata["objects"].value
    assert any(o.endswith(worded) and "not a calendar day" in why for o, why in objects.items()), objects
    ahead = _no_objects_ahead(LakeResource(), "transaction_files").metadata["objects"].value
    assert beyond not in ahead and worded not in ahead  # a folder that is no day is not a day to come


def test_an_object_that_fails_every_attempt_is_poisoned_quarantined_and_alerted_and_blocks_nothing(
    settings, orchestrator, quick_retries, capsys
):
    sqs, sns = aws.client("sqs", settings), aws.client("sns", settings)
    queue_url = sqs.create_queue(QueueName="poison-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=settings.alerts_topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    day = TODAY
    archived = f"raw/crm/dt={day}/archived.jsonl"  # archived to Glacier: every GetObject fails on it
    _put(settings, archived, _line("crm:archived"), StorageClass="GLACIER")
    good = f"raw/crm/dt={day}/good.jsonl"
    _put(settings, good, _line("crm:beside-archived"))

    for attempt in range(1, settings.ingest_max_attempts + 1):
        orchestrator.tick()
        entry = _trace(settings, archived, capsys)
        assert entry["attempts"] == attempt

    assert entry["state"] == POISONED
    assert "InvalidObjectState" in entry["error"] and "poisoned after 3 failed attempts" in entry["error"]
    assert _trace(settings, good, capsys)["state"] == DONE
    assert _ids(settings, "transaction_id IN ('crm:beside-archived', 'crm:archived')") == ["crm:beside-archived"]
    [quarantine] = entry["outputs"]
    record = json.loads(
        aws.client("s3", settings).get_object(Bucket=settings.lake_bucket, Key=quarantine)["Body"].read()
    )
    assert record["source_key"] == archived and record["reason"].startswith("poisoned")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    alerts = [json.loads(m["Body"]) for m in messages]
    assert any(a.get("event") == "lake_object_poisoned" and a["object"].endswith(archived) for a in alerts)
    counted = aws.client("cloudwatch", settings).get_metric_statistics(
        Namespace=settings.metrics_namespace,
        MetricName="PoisonedLakeObjects",
        Statistics=["Sum"],
        Period=60,
        Dimensions=[{"Name": "table", "Value": "transaction_files"}],
        StartTime=datetime.now(UTC) - timedelta(minutes=10),
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
    )["Datapoints"]
    assert sum(point["Sum"] for point in counted) >= 1  # what the template's PoisonedLakeObjectsAlarm watches
    orchestrator.tick()  # a poisoned object is never handed out again
    assert _trace(settings, archived, capsys)["attempts"] == 3
    poisoned = Ledger(settings).open_entries("transaction_files", POISONED)
    assert [e.key for e in poisoned if e.key.startswith(f"raw/crm/dt={day}/")] == [archived]


# --- duplicates across files -------------------------------------------------------------------------


def test_the_same_file_under_two_names_is_named_by_the_duplicates_check(settings):
    import dagster as dg

    from txdagster.defs.lake.assets import transaction_files
    from txdagster.defs.resources import lake_resources

    day = "2026-10-16"
    body = "\n".join([_line("crm:twice-1"), _line("crm:twice-2")])
    _put(settings, f"raw/crm/dt={day}/export.jsonl", body)
    _put(settings, f"raw/crm/dt={day}/export-copy.jsonl", body)

    result = dg.materialize([transaction_files], partition_key=day, resources=lake_resources())

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["valid_rows"].passed  # one run's file holds both: each row is valid on its own
    check = checks["unique_across_files"]
    assert not check.passed
    named = check.metadata["ids"].value
    assert sorted(named["crm:twice-1"]) == [f"raw/crm/dt={day}/export-copy.jsonl", f"raw/crm/dt={day}/export.jsonl"]


# --- readers during ingestion ----------------------------------------------------------------------------


def test_queries_during_ingestion_never_see_a_partial_file_or_an_error(settings, orchestrator):
    errors: list[str] = []
    queries = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal queries
        engine = query_engine(settings)
        while not stop.is_set():
            try:
                engine.query("SELECT count(*), sum(amount) FROM transaction_files")
                queries += 1
            except Exception as exc:  # any error a reader sees fails the test
                errors.append(f"{type(exc).__name__}: {exc}")
            stop.wait(0.05)  # a dashboard's pace, not a core's worth of queries starving the run

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for round_ in range(4):
            for n in range(5):
                rows = [_line(f"crm:concurrent-{round_}-{n}-{i}") for i in range(50)]
                _put(settings, f"raw/crm/dt={TODAY}/concurrent-{n}.jsonl", "\n".join(rows))  # overwritten each round
            orchestrator.tick()
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert queries >= 5
    assert len(_ids(settings, f"source_file LIKE 'raw/crm/dt={TODAY}/concurrent-%'")) == 250
