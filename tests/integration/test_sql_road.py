"""The SQL road (a big CSV converted by the query engine) against the embedded stack: DuckDB runs the
statements Athena runs in AWS. Its rows must be the columnar road's, row for row."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq

from txdagster.contract.fields import FIELD_NAMES
from txdagster.defs.lake.assets import transaction_files
from txdagster.defs.resources import LakeAthena, lake_resources
from txdagster.ingest.files import raw_file_blocks
from txdagster.ingest.pipeline import ingest_object
from txdagster.ingest.write import local_publisher
from txdagster.lake import aws, catalog
from txdagster.lake.engines import DuckDBEngine
from txdagster.lake.ledger import Ledger
from txdagster.lake.sql_engines import DuckDBSqlEngine
from txdagster.lake.sql_road import SqlObject, convert

INGESTED_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HEADER = [*FIELD_NAMES, "channel"]
GOOD = {
    "source_system": "payments",
    "account_id": "acc-1",
    "counterparty": "shop",
    "amount": "12.50",
    "currency": "EUR",
    "transaction_type": "payment",
    "status": "settled",
    "event_time": "2026-11-20T10:00:00Z",
    "ingested_at": "2026-11-20T10:00:05Z",
    "version": "1",
    "attributes": "",
    "channel": "web",
}
#: (changes to a good row, the field the columnar road names); None: the row is published
ROWS: list[tuple[dict[str, str], str | None]] = [
    ({}, None),
    ({"amount": "-0.5", "counterparty": ""}, None),
    ({"amount": "123456789012345.1234", "channel": ""}, None),
    ({"source_system": "", "version": "", "ingested_at": ""}, None),  # blank defaulted cells take defaults
    ({"source_system": "crm", "version": "7"}, None),
    ({"event_time": "2026-11-20T12:00:00.123456+02:00"}, None),
    ({"attributes": '{"channel": "pos", "terminal": "T-9"}'}, None),
    ({"account_id": "ünïcode 账户"}, None),
    ({"transaction_id": "bad id!"}, "transaction_id"),
    ({"transaction_id": ""}, "transaction_id"),
    ({"account_id": ""}, "account_id"),
    ({"account_id": "x" * 65}, "account_id"),
    ({"account_id": "esc\x1bape"}, "account_id"),
    ({"account_id": "rtl\u202eoverride"}, "account_id"),
    ({"counterparty": "y" * 257}, "counterparty"),
    ({"amount": "12.5e3"}, "amount"),
    ({"amount": " 12.50"}, "amount"),
    ({"amount": "1.23456"}, "amount"),
    ({"amount": "10000000000000000"}, "amount"),
    ({"amount": "+5"}, "amount"),
    ({"amount": ""}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "eur"}, "currency"),
    ({"transaction_type": "gift"}, "transaction_type"),
    ({"status": "done"}, "status"),
    ({"event_time": "yesterday"}, "event_time"),
    ({"event_time": "2026-02-30T00:00:00Z"}, "event_time"),
    ({"event_time": "1970-01-01T00:00:00Z"}, "event_time"),
    ({"event_time": "2999-01-01T00:00:00Z"}, "event_time"),
    ({"event_time": ""}, "event_time"),
    ({"ingested_at": "not a time"}, "ingested_at"),
    ({"version": "1.9"}, "version"),
    ({"version": "0"}, "version"),
    ({"version": "abc"}, "version"),
    ({"attributes": '{"a": 1}'}, "attributes"),
    ({"attributes": "[1, 2]"}, "attributes"),
    ({"attributes": "{not json"}, "attributes"),
]


def _csv(rows: list[tuple[dict[str, str], str | None]], *, extra_cell: bool = True) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for number, (changes, _) in enumerate(rows):
        row = {**GOOD, "transaction_id": f"pay-{number:04d}", **changes}
        writer.writerow([row[name] for name in HEADER])
    if extra_cell:
        writer.writerow([{**GOOD, "transaction_id": "pay-extra"}[name] for name in HEADER] + ["surplus"])
    return out.getvalue().encode()


def _put(settings, key: str, body: bytes) -> str:
    s3 = aws.client("s3", settings)
    return s3.put_object(Bucket=settings.lake_bucket, Key=key, Body=body)["ETag"].strip('"')


def _columnar(data: bytes, key: str, work: Path) -> tuple[pa.Table, list[dict], dict[str, int]]:
    result = ingest_object(
        table="transaction_files",
        source_key=key,
        source=[data],
        parse=lambda chunks, k: raw_file_blocks(chunks, k, INGESTED_AT, timedelta(hours=24)),
        publish=local_publisher(work),
        parquet_key="rows.parquet",
        quarantine_key="rejects.jsonl",
    )
    assert result.rows_in == result.rows_valid + result.rows_quarantined
    rejects = [json.loads(line) for line in (work / "rejects.jsonl").read_text().splitlines()]
    return pq.read_table(work / "rows.parquet"), rejects, result.unknown_fields


def _read_s3(settings, keys: list[str]) -> tuple[pa.Table, list[dict]]:
    s3 = aws.client("s3", settings)
    tables, rejects = [], []
    for key in keys:
        body = s3.get_object(Bucket=settings.lake_bucket, Key=key)["Body"].read()
        if key.startswith("quarantine/"):
            rejects += [json.loads(line) for line in body.decode().splitlines()]
        else:
            tables.append(pq.read_table(pa.BufferReader(body)))
    return (pa.concat_tables(tables) if tables else None), rejects


def _comparable(table: pa.Table) -> list[tuple]:
    """Published rows without their row number (unknown to SQL), the attributes as sorted pairs."""
    rows = table.drop_columns(["source_row"]).to_pylist()
    pairs = (sorted((k, tuple(sorted(v)) if isinstance(v, list) else v) for k, v in r.items()) for r in rows)
    return sorted((tuple(p) for p in pairs), key=repr)


def _field(reason: str) -> str:
    return reason.replace(":", " ").split()[0].split(".")[0]


def _sql_object(settings, key: str, etag: str, day: str) -> SqlObject:
    return SqlObject(
        database=settings.glue_database,
        bucket=settings.lake_bucket,
        key=key,
        etag=etag,
        table="transaction_files",
        dt=day,
        header=tuple(HEADER),
        source_system="payments",
        ingested_at=INGESTED_AT,
        max_ahead=timedelta(hours=24),
    )


def test_the_sql_road_publishes_and_quarantines_the_same_rows_as_the_columnar_road(settings, tmp_path):
    day = "2026-11-20"
    key = f"raw/payments/dt={day}/big-sql.csv"
    data = _csv(ROWS)
    result = convert(DuckDBSqlEngine(settings), _sql_object(settings, key, _put(settings, key, data), day))

    columnar_rows, columnar_rejects, columnar_unknown = _columnar(data, key, tmp_path)
    sql_rows, sql_rejects = _read_s3(settings, result.outputs)
    assert result.road == "sql"
    assert result.rows_in == len(ROWS) + 1 == result.rows_valid + result.rows_quarantined
    assert result.rows_valid == sql_rows.num_rows == columnar_rows.num_rows == sum(1 for _, f in ROWS if f is None)
    assert _comparable(sql_rows) == _comparable(columnar_rows)
    assert set(sql_rows.column("source_file").to_pylist()) == {key}
    assert result.unknown_fields == {"channel": len(ROWS)}  # every row but one carried it (also refused ones)
    assert set(columnar_unknown) == {"channel"}

    expected = {f"pay-{n:04d}": field for n, (_, field) in enumerate(ROWS) if field} | {"pay-extra": "row"}
    by_id = {}
    for rejects in (columnar_rejects, sql_rejects):
        assert len(rejects) == len(expected)
    for reject in sql_rejects:
        assert reject["source_key"] == key and reject["row_number"] is None
        by_id[reject["record"]["transaction_id"]] = _field(reject["reason"])
    columnar_by_id = {r["record"]["transaction_id"]: _field(r["reason"]) for r in columnar_rejects}
    wanted = {}
    for n, (changes, field) in enumerate(ROWS):
        if field:
            wanted[changes.get("transaction_id", f"pay-{n:04d}") or None] = field  # a blank cell is missing
    wanted["pay-extra"] = "row"
    assert by_id == columnar_by_id == wanted

    # Athena-named files (no extension) in the day's partition: the lake's readers see them like Athena
    assert catalog.partitions(settings, "transaction_files_quarantine")[day].endswith(
        f"quarantine/transaction_files/dt={day}/"
    )
    counted = DuckDBEngine(settings).query(f"SELECT count(*) AS n FROM transaction_files WHERE source_file = '{key}'")
    assert counted.column("n")[0].as_py() == result.rows_valid


def test_an_id_repeated_in_the_file_is_quarantined_in_every_copy(settings):
    day = "2026-11-21"
    key = f"raw/payments/dt={day}/repeats.csv"
    data = _csv([({}, None), ({}, None)], extra_cell=False)
    data += data.split(b"\n", 1)[1].split(b"\n", 1)[0] + b"\n"  # pay-0000 once more
    result = convert(DuckDBSqlEngine(settings), _sql_object(settings, key, _put(settings, key, data), day))
    _, rejects = _read_s3(settings, result.outputs)
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (3, 1, 2)
    assert {r["record"]["transaction_id"] for r in rejects} == {"pay-0000"}
    assert all(r["reason"].startswith("transaction_id: repeated in this file (2 rows)") for r in rejects)


def test_a_big_csv_in_raw_takes_the_sql_road_and_the_ledger_records_its_files(settings, monkeypatch):
    day = "2026-11-22"
    key = f"raw/payments/dt={day}/big.csv.gz"
    big = gzip.compress(_csv(ROWS))
    etag = _put(settings, key, big)
    small = f"raw/payments/dt={day}/small.csv"
    small_body = _csv([({"transaction_id": f"small-{n}"}, None) for n in range(2)], extra_cell=False)
    _put(settings, small, small_body)
    assert len(small_body) < len(big)
    monkeypatch.setenv("TXD_SQL_ROAD_MIN_BYTES", str(len(big)))  # the gzip file reaches it, the small one not
    config = {"ops": {"transaction_files": {"config": {"object_keys": [key, small]}}}}
    result = dg.materialize([transaction_files], partition_key=day, resources=lake_resources(), run_config=config)
    assert result.success
    metadata = result.asset_materializations_for_node("transaction_files")[0].metadata
    assert metadata["sql_road_objects"].value == [key]
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["rows_accounted"] and checks["valid_rows"]

    entry = Ledger(settings).get_many(settings.lake_bucket, [key])[key]
    assert entry.state == "done" and entry.etag == etag
    assert (entry.rows_in, entry.rows_published) == (len(ROWS) + 1, sum(1 for _, f in ROWS if f is None))
    assert entry.outputs and all(not o.endswith(".parquet") for o in entry.outputs)  # the engine's names
    rows = (
        DuckDBEngine(settings)
        .query(f"SELECT source_file, count(*) AS n FROM transaction_files WHERE dt = '{day}' GROUP BY 1 ORDER BY 1")
        .to_pylist()
    )
    assert rows == [{"source_file": key, "n": entry.rows_published}, {"source_file": small, "n": 2}]


def test_dagster_aws_launches_and_tracks_the_query_in_the_workgroup_with_its_token(settings):
    client = LakeAthena(polling_interval=0).get_client()  # moto's Athena runs no SQL: each query SUCCEEDS
    token = "t" * 64
    execution_id = client.run("SELECT 1", token, settings.glue_database)
    athena = aws.client("athena", settings)
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert execution["Query"] == "SELECT 1" and execution["Status"]["State"] == "SUCCEEDED"
    assert execution["WorkGroup"] == settings.athena_workgroup
    assert execution["QueryExecutionContext"]["Database"] == settings.glue_database
    assert isinstance(LakeAthena().sql_engine(), DuckDBSqlEngine)  # TXD_QUERY_ENGINE=duckdb: the local stack
