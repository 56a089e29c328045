"""Ingestion stage: raw files and CDC batches become Parquet, Glue partitions and view rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.helpers import until_in_view
from txdagster.lake import aws, catalog
from txdagster.lake.engines import query_engine
from txdagster.lake.ledger import Ledger
from txdagster.lake.parity import check_parity

pytestmark = pytest.mark.integration
#: Sensors list the open days only (the watermark's day and the one before): new files land today.
TODAY = datetime.now(UTC).date().isoformat()


def _line(n: int, **changes) -> str:
    return json.dumps(
        {
            "transaction_id": f"crm:file-{n}",
            "account_id": "ACC-FILE",
            "amount": f"{n}.25",
            "currency": "USD",
            "transaction_type": "deposit",
            "status": "settled",
            "event_time": "2026-11-20T10:00:00Z",
            **changes,
        }
    )


def test_a_raw_file_reaches_transaction_files_and_bad_rows_are_quarantined(settings, orchestrator):
    s3 = aws.client("s3", settings)
    body = "\n".join([_line(1), _line(2), _line(3, currency="usd")]) + "\n"
    key = f"raw/crm/dt={TODAY}/deposits.jsonl"
    s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=body.encode())

    orchestrator.tick()

    rows = query_engine(settings).query(
        f"SELECT transaction_id, source_system, amount, dt FROM transaction_files WHERE source_file = '{key}'"
    )
    assert sorted(rows.column("transaction_id").to_pylist()) == ["crm:file-1", "crm:file-2"]
    assert set(rows.column("source_system").to_pylist()) == {"crm"}
    assert set(rows.column("dt").to_pylist()) == {TODAY}
    assert TODAY in catalog.partition_days(settings, "transaction_files")
    quarantine = [k for k in Ledger(settings).get(settings.lake_bucket, key).outputs if k.startswith("quarantine/")]
    [entry] = quarantine
    reject = json.loads(s3.get_object(Bucket=settings.lake_bucket, Key=entry)["Body"].read())
    assert reject["row_number"] == 3
    assert "currency" in reject["reason"]


def test_a_file_is_processed_once_even_across_many_ticks(settings, orchestrator):
    s3 = aws.client("s3", settings)
    key = f"raw/crm/dt={TODAY}/once.jsonl"
    s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=_line(7).encode())
    assert orchestrator.tick() >= 1
    assert orchestrator.tick() == 0
    count = query_engine(settings).query(f"SELECT count(*) FROM transaction_files WHERE source_file = '{key}'")
    assert count.column(0)[0].as_py() == 1


def test_an_unregistered_partition_is_invisible_like_in_athena(settings):
    s3 = aws.client("s3", settings)
    source = s3.list_objects_v2(Bucket=settings.lake_bucket, Prefix=f"curated/transaction_files/dt={TODAY}/")
    key = source["Contents"][0]["Key"]
    s3.copy_object(
        Bucket=settings.lake_bucket,
        Key="curated/transaction_files/dt=2001-01-01/orphan.parquet",
        CopySource={"Bucket": settings.lake_bucket, "Key": key},
    )
    count = query_engine(settings).query("SELECT count(*) FROM transaction_files WHERE dt = '2001-01-01'")
    assert count.column(0)[0].as_py() == 0


def test_parity_names_the_transaction_changed_behind_the_lakes_back(settings, table, orchestrator, api):
    api.create(
        {
            "transaction_id": "payments:drift",
            "source_system": "payments",
            "account_id": "ACC-D",
            "amount": "1.00",
            "currency": "EUR",
            "transaction_type": "fee",
            "status": "settled",
            "event_time": "2026-11-27T00:00:00Z",
            "ingested_at": "2026-11-27T00:00:00Z",
        }
    )
    until_in_view(settings, orchestrator, lambda r: "payments:drift" in r, "payments:drift in the view")
    # A change the lake has not ingested yet: the check must name the key, not just fail.
    aws.client("dynamodb", settings).update_item(
        TableName=settings.transactions_table,
        Key={"transaction_id": {"S": "payments:drift"}},
        UpdateExpression="SET #v = :v",
        ExpressionAttributeNames={"#v": "version"},
        ExpressionAttributeValues={":v": {"N": "7"}},
    )
    report = check_parity(settings, query_engine(settings))
    assert not report.in_parity
    assert report.version_mismatch == ["payments:drift"]


def test_materialising_a_day_without_keys_backfills_every_object_of_that_day(settings):
    import dagster as dg

    from txdagster.defs.lake.assets import transaction_files
    from txdagster.defs.resources import lake_resources

    s3 = aws.client("s3", settings)
    for name in ("one", "two"):
        s3.put_object(
            Bucket=settings.lake_bucket,
            Key=f"raw/payments/dt=2026-11-05/{name}.jsonl",
            Body=_line(len(name), transaction_id=f"payments:backfill-{name}").encode(),
        )

    result = dg.materialize([transaction_files], partition_key="2026-11-05", resources=lake_resources())

    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    for name in ("rows_accounted", "valid_rows", "schema_matches_contract"):
        assert checks[name] is True, name
    metadata = result.asset_materializations_for_node("transaction_files")[0].metadata
    assert metadata["rows_published"].value == 2
    ids = query_engine(settings).query("SELECT transaction_id FROM transaction_files WHERE dt = '2026-11-05'")
    assert sorted(ids.column(0).to_pylist()) == ["payments:backfill-one", "payments:backfill-two"]


def test_a_change_batch_left_waiting_past_the_budget_is_named_by_the_freshness_check(settings, orchestrator):
    from txdagster.lake.freshness import ingestion_lag

    orchestrator.tick()  # everything that arrived so far is ingested
    today = datetime.now(UTC).date().isoformat()
    key = f"cdc/transactions/dt={today}/stream/{'9' * 40}-{'9' * 40}.jsonl.gz"
    aws.client("s3", settings).put_object(Bucket=settings.lake_bucket, Key=key, Body=b"")
    later = datetime.now(UTC) + timedelta(minutes=20)

    # (a change batch of an earlier test may still be on its way from the stream: only ours is asserted)
    assert key in ingestion_lag(settings, later, timedelta(minutes=15)).waiting
    assert ingestion_lag(settings, datetime.now(UTC), timedelta(minutes=15)).waiting == []
    orchestrator.tick()  # the (empty) batch is ingested: it waits no more
    assert key not in ingestion_lag(settings, later, timedelta(minutes=15)).waiting


def test_the_sensor_starts_no_second_run_while_one_is_in_flight_and_the_next_takes_what_arrived(settings):
    import dagster as dg

    from txdagster.local.headless import HeadlessDagster

    instance = dg.DagsterInstance.ephemeral()
    orchestrator = HeadlessDagster(instance)
    running = dg.DagsterRun(job_name="ingest_files", run_id="in-flight-run", status=dg.DagsterRunStatus.STARTED)
    instance.add_run(running)
    s3 = aws.client("s3", settings)
    keys = [f"raw/crm/dt={TODAY}/while-running-{n}.jsonl" for n in range(2)]
    for n, key in enumerate(keys):
        s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=(_line(900 + n) + "\n").encode())
        assert orchestrator.requests("raw_sensor") == []  # waits: nothing registered, the cursor stays
    assert not Ledger(settings).get_many(settings.lake_bucket, keys)
    instance.handle_new_event(
        dg.EventLogEntry(
            error_info=None,
            level="INFO",
            user_message="",
            run_id=running.run_id,
            timestamp=0.0,
            dagster_event=dg.DagsterEvent(dg.DagsterEventType.RUN_SUCCESS.value, job_name="ingest_files"),
        )
    )
    assert orchestrator.tick() >= 1  # one run takes both objects
    entries = Ledger(settings).get_many(settings.lake_bucket, keys)
    assert {e.state for e in entries.values()} == {"done"} and len({e.run_id for e in entries.values()}) == 1
