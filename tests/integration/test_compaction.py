"""One file per run, and compaction: a day's small files become one part, atomically for readers, with
the ledger following the rows; the day's lock keeps ingest runs and a rewrite apart. Each test has a
day of its own."""

from __future__ import annotations

import json
import posixpath
import threading

import dagster as dg
import pytest

from txdagster import cli
from txdagster.defs.lake.assets import transaction_files
from txdagster.defs.resources import lake_resources
from txdagster.lake import aws, catalog, layout
from txdagster.lake.compaction import compact_day, live_files
from txdagster.lake.day_lock import EXCLUSIVE, DayBusy, DayLock
from txdagster.lake.engines import query_engine
from txdagster.lake.ledger import Ledger
from txdagster.settings import with_overrides

pytestmark = pytest.mark.integration


def _line(tid: str) -> str:
    record = {
        "transaction_id": tid,
        "account_id": "ACC-COMPACT",
        "amount": "3.50",
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "settled",
        "event_time": "2026-10-01T10:00:00Z",
    }
    return json.dumps(record)


def _ingest(settings, day: str, files: dict[str, list[str]]) -> None:
    """Drop raw files into the day and backfill it (the sensors only watch today)."""
    s3 = aws.client("s3", settings)
    for name, ids in files.items():
        body = "\n".join(_line(i) for i in ids).encode()
        s3.put_object(Bucket=settings.lake_bucket, Key=f"raw/crm/dt={day}/{name}.jsonl", Body=body)
    dg.materialize([transaction_files], partition_key=day, resources=lake_resources())


def _ids(settings, day: str) -> list[str]:
    table = query_engine(settings).query(f"SELECT transaction_id FROM transaction_files WHERE dt = '{day}'")
    return sorted(table.column(0).to_pylist())


def test_a_run_writes_one_file_for_all_its_objects_keeping_each_rows_origin(settings):
    day = "2026-10-01"
    _ingest(settings, day, {f"one-run-{n}": [f"crm:o{n}-{r}" for r in range(3)] for n in range(5)})
    (key, _), *others = live_files(settings, catalog.live_prefix(settings, "transaction_files", day))
    assert not others and "/run-" in key
    rows = (
        query_engine(settings)
        .query(
            f"SELECT source_file, count(*) AS n, min(source_row) AS first FROM transaction_files WHERE dt = '{day}' "
            "GROUP BY source_file ORDER BY source_file"
        )
        .to_pylist()
    )
    assert rows == [{"source_file": f"raw/crm/dt={day}/one-run-{n}.jsonl", "n": 3, "first": 1} for n in range(5)]
    entry = Ledger(settings).get(settings.lake_bucket, f"raw/crm/dt={day}/one-run-2.jsonl")
    assert entry.outputs == [key] and entry.planned == ""


def test_a_compacted_day_is_one_part_with_every_row_and_the_ledger_follows(settings, capsys):
    day = "2026-10-02"
    for n in range(6):  # six runs, six files
        _ingest(settings, day, {f"f{n}": [f"crm:c{n}-{r}" for r in range(5)]})
    before = _ids(settings, day)
    assert len(before) == 30 and len(live_files(settings, catalog.live_prefix(settings, "transaction_files", day))) == 6

    capsys.readouterr()
    assert cli.main(["compact", "transaction_files", day, "--json"]) == 0
    done = json.loads(capsys.readouterr().out)

    assert (len(done["files_in"]), len(done["parts"]), done["rows_in"], done["rows_out"]) == (6, 1, 30, 30)
    live = catalog.live_prefix(settings, "transaction_files", day)
    assert live == done["generation"] and [k for k, _ in live_files(settings, live)] == done["parts"]
    assert _ids(settings, day) == before
    entry = Ledger(settings).get(settings.lake_bucket, f"raw/crm/dt={day}/f3.jsonl")
    assert entry.outputs == done["parts"]
    # Already one part: nothing to do, and the old files stay for the grace period.
    assert compact_day(settings, "transaction_files", day, "test").generation is None
    assert len(live_files(settings, layout.partition_prefix("transaction_files", day))) == 6


def test_a_compaction_racing_a_query_loop_shows_neither_duplicates_nor_gaps(settings):
    day = "2026-10-03"
    runs = [{f"g{run}-{n}": [f"crm:r{run}-{n}-{r}" for r in range(20)] for n in range(4)} for run in range(3)]
    for files in runs:  # three runs, three files of 80 rows, each from four inputs
        _ingest(settings, day, files)
    expected = sorted(i for files in runs for ids in files.values() for i in ids)
    seen: list[list[str]] = []
    stop = threading.Event()

    def query_loop() -> None:
        while not stop.is_set():
            seen.append(_ids(settings, day))

    reader = threading.Thread(target=query_loop)
    reader.start()
    try:
        no_grace = with_overrides(settings, compaction_grace_seconds=0)  # old generations deleted at once
        compactions = 0
        while compactions < 4 or (len(seen) < 4 and compactions < 16):  # a slow machine: race on until 4 queries ran
            result = compact_day(no_grace, "transaction_files", day, "race", force=True)
            assert result.rows_out == len(expected)
            compactions += 1
    finally:
        stop.set()
        reader.join()

    assert len(seen) >= 4
    wrong = [ids for ids in seen if ids != expected]
    assert not wrong, f"{len(wrong)} of {len(seen)} queries saw {len(wrong[0])} rows, not {len(expected)}"
    assert len(live_files(settings, layout.partition_prefix("transaction_files", day))) == 0  # expired


def test_an_input_overwritten_after_compaction_replaces_its_rows_in_the_part(settings):
    day = "2026-10-04"
    _ingest(settings, day, {"keep": ["crm:keep-1", "crm:keep-2"], "fix": ["crm:old-1", "crm:old-2"]})
    compact_day(settings, "transaction_files", day, "test")

    _ingest(settings, day, {"fix": ["crm:new-1"]})  # a corrected file under the same key

    assert _ids(settings, day) == ["crm:keep-1", "crm:keep-2", "crm:new-1"]
    live = catalog.live_prefix(settings, "transaction_files", day)
    entry = Ledger(settings).get(settings.lake_bucket, f"raw/crm/dt={day}/fix.jsonl")
    assert entry.outputs and all(o.startswith(live) for o in entry.outputs if o.startswith("curated/"))


def test_a_compaction_waits_for_ingest_runs_and_they_wait_for_it(settings):
    first = DayLock(settings, "transaction_files", "2026-10-05", "run:a")
    second = DayLock(settings, "transaction_files", "2026-10-05", "run:b")
    compactor = DayLock(settings, "transaction_files", "2026-10-05", "compactor", mode=EXCLUSIVE)
    first.acquire(0)
    second.acquire(0)  # ingest runs share the day
    with pytest.raises(DayBusy):
        compactor.acquire(0)
    first.release()
    second.release()
    compactor.acquire(0)
    with pytest.raises(DayBusy):
        first.acquire(0)
    compactor.release()
    first.acquire(0)
    first.release()


def test_a_killed_ingest_runs_share_lapses(settings):
    now = [1_000_000.0]
    clock = lambda: now[0]  # noqa: E731
    killed = DayLock(settings, "transaction_files", "2026-10-06", "run:killed", clock=clock)
    killed.acquire(0)  # and never released
    compactor = DayLock(settings, "transaction_files", "2026-10-06", "compactor", mode=EXCLUSIVE, clock=clock)
    with pytest.raises(DayBusy):
        compactor.acquire(0)
    now[0] += settings.ingest_lease_seconds + 1
    compactor.acquire(0)
    with pytest.raises(DayBusy):
        killed.renew()


def test_a_run_that_died_after_publishing_leaves_no_duplicate_rows(settings, monkeypatch):
    import boto3
    from botocore.awsrequest import AWSResponse

    day = "2026-10-07"
    monkeypatch.setenv("TXD_INGEST_LEASE_SECONDS", "1")  # the dead run's objects are free again at once
    s3 = aws.client("s3", settings)
    for name in ("a", "b"):
        s3.put_object(
            Bucket=settings.lake_bucket, Key=f"raw/crm/dt={day}/{name}.jsonl", Body=_line(f"crm:{name}").encode()
        )

    class Body:
        def stream(self, **_):
            yield b'{"__type":"InternalServerError","message":"injected"}'

    def fail_marking_done(request, **_):  # the run's file is published, then DynamoDB goes away
        if b'"done"' in (request.body or b""):
            return AWSResponse(request.url, 500, {"x-amzn-ErrorType": "InternalServerError"}, Body())
        return None

    events = boto3._get_default_session().events
    aws.forget_clients()  # clients copy the session's hooks when made
    events.register("before-send.dynamodb.UpdateItem", fail_marking_done)
    try:
        died = dg.materialize([transaction_files], partition_key=day, resources=lake_resources(), raise_on_error=False)
    finally:
        events.unregister("before-send.dynamodb.UpdateItem", fail_marking_done)
        aws.forget_clients()
    assert not died.success
    assert _ids(settings, day) == ["crm:a", "crm:b"]  # published, though the ledger does not know it yet

    import time

    time.sleep(1.5)
    dg.materialize([transaction_files], partition_key=day, resources=lake_resources())

    assert _ids(settings, day) == ["crm:a", "crm:b"]  # the dead run's file was rewritten away, not doubled
    entry = Ledger(settings).get(settings.lake_bucket, f"raw/crm/dt={day}/a.jsonl")
    assert entry.state == "done" and all(layout.is_part(o) for o in entry.outputs if o.startswith("curated/"))


def test_a_big_day_is_cut_into_parts_of_the_target_size(settings):
    import io
    from datetime import UTC, datetime
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    from txdagster.contract.arrow import table_arrow_schema

    day, rows = "2026-10-08", 150_000
    schema = table_arrow_schema("transaction_files")
    s3 = aws.client("s3", settings)
    for n in range(3):  # files written by some other tool: their source is unknown to the ledger, so kept
        ids = [f"crm:big-{n}-{i}" for i in range(rows)]
        table = pa.table(
            {
                "transaction_id": ids,
                "source_system": ["crm"] * rows,
                "account_id": ids,
                "counterparty": [None] * rows,
                "amount": pa.array([Decimal(i) for i in range(rows)], schema.field("amount").type),
                "currency": ["EUR"] * rows,
                "transaction_type": ["payment"] * rows,
                "status": ["settled"] * rows,
                "event_time": pa.array([datetime(2026, 10, 8, tzinfo=UTC)] * rows, schema.field("event_time").type),
                "ingested_at": pa.array([datetime(2026, 10, 8, tzinfo=UTC)] * rows, schema.field("ingested_at").type),
                "version": [1] * rows,
                "attributes": pa.nulls(rows, schema.field("attributes").type),
                "source_file": pa.nulls(rows, pa.string()),
                "source_row": pa.nulls(rows, pa.int64()),
            },
            schema=schema,
        )
        body = io.BytesIO()
        pq.write_table(table, body, compression="zstd")
        key = f"{layout.partition_prefix('transaction_files', day)}old-{n}.parquet"
        s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=body.getvalue())
    catalog.add_partitions(settings, "transaction_files", [day])
    total = sum(size for _, size in live_files(settings, layout.partition_prefix("transaction_files", day)))

    result = compact_day(settings, "transaction_files", day, "test", target_bytes=total // 2)

    assert len(result.parts) == 2 and result.rows_out == result.rows_in == 3 * rows
    count = query_engine(settings).query(
        f"SELECT count(DISTINCT transaction_id) FROM transaction_files WHERE dt = '{day}'"
    )
    assert count.column(0)[0].as_py() == 3 * rows


def _publishing_during_the_parts(monkeypatch, settings, day: str, files: dict[str, list[str]]) -> None:
    """Ingests ``files`` into ``day`` once a compaction has written its parts, before it settles."""
    from txdagster.lake import compaction

    real, done = compaction._write_parts, []

    def write_then_ingest(*args, **kwargs) -> None:
        real(*args, **kwargs)
        if not done:
            done.append(True)
            _ingest(settings, day, files)  # ingest runs share the day: the compaction does not hold it yet

    monkeypatch.setattr(compaction, "_write_parts", write_then_ingest)


def test_files_published_while_a_compaction_writes_its_parts_join_its_generation(settings, monkeypatch):
    day = "2026-10-21"
    _ingest(settings, day, {"a": ["crm:a-1", "crm:a-2"], "b": ["crm:b-1"]})
    _publishing_during_the_parts(monkeypatch, settings, day, {"late": ["crm:late-1", "crm:late-2"]})
    said: list[str] = []

    result = compact_day(settings, "transaction_files", day, "test", force=True, log=said.append)

    assert _ids(settings, day) == ["crm:a-1", "crm:a-2", "crm:b-1", "crm:late-1", "crm:late-2"]
    live = catalog.live_prefix(settings, "transaction_files", day)
    assert live == result.generation and "1 files published meanwhile" in said[-1]
    late = Ledger(settings).get(settings.lake_bucket, f"raw/crm/dt={day}/late.jsonl")
    curated = [o for o in late.outputs if o.startswith("curated/")]
    assert curated and all(o.startswith(live) for o in curated)  # the ledger follows the copied file
    assert {posixpath.basename(key) for key, _ in live_files(settings, live)} >= {posixpath.basename(curated[0])}


def test_an_input_overwritten_while_the_parts_are_written_gets_the_day_rewritten_holding_it(settings, monkeypatch):
    day = "2026-10-22"
    _ingest(settings, day, {"keep": ["crm:keep-1"], "fix": ["crm:old-1", "crm:old-2"]})
    _publishing_during_the_parts(monkeypatch, settings, day, {"fix": ["crm:new-1"]})  # the same key, corrected
    said: list[str] = []

    compact_day(settings, "transaction_files", day, "test", force=True, log=said.append)

    assert any("rewriting it with the day held" in line for line in said)
    assert _ids(settings, day) == ["crm:keep-1", "crm:new-1"]  # no row of the old content, none twice
    live = catalog.live_prefix(settings, "transaction_files", day)
    assert all(layout.is_part(key) for key, _ in live_files(settings, live))
