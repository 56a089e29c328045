"""The SQL road's statements as Athena receives them: valid Athena SQL, in order, with stable tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlglot

from txdagster.contract.fields import FIELD_NAMES
from txdagster.lake.sql_engines import AthenaSqlEngine, QueryFailed
from txdagster.lake.sql_road import SqlObject, convert, is_sql_road
from txdagster.settings import Settings

SETTINGS = Settings(lake_bucket="lake", glue_database="txlake")


class RecordingAthena:
    """Stands in for dagster-aws's client (``resources.TrackedAthenaClient``): records what it is asked to
    run and answers like Athena would for a file of 10 rows, 3 of them refused."""

    def __init__(self, fail_on: str = "") -> None:
        self.statements: list[tuple[str, str, str]] = []
        self.fail_on = fail_on
        self.failed: set[str] = set()

    def run(self, query: str, token: str, database: str) -> str:
        self.statements.append((query, token, database))
        if self.fail_on and self.fail_on in query.split("\n", 1)[0]:
            self.failed.add(f"q{len(self.statements)}")
            raise QueryFailed(f"q{len(self.statements)}", "HIVE_BAD_DATA")
        return f"q{len(self.statements)}"

    def results(self, execution_id: str) -> list[tuple[str | None, ...]]:
        return [(None, "7", "7"), ("amount: not decimal text", "3", "2")]

    def manifest(self, execution_id: str) -> list[str]:
        if execution_id in self.failed:  # Athena wrote no manifest: nothing to clean up
            raise LookupError(execution_id)
        return [f"s3://lake/curated/transaction_files/dt=2026-11-20/{execution_id}_0"]


def _object(attempt: int = 0) -> SqlObject:
    return SqlObject(
        database="txlake",
        bucket="lake",
        key="raw/payments/dt=2026-11-20/big.csv",
        etag="e1",
        table="transaction_files",
        dt="2026-11-20",
        header=(*FIELD_NAMES, "channel"),
        source_system="payments",
        ingested_at=datetime(2026, 11, 20, tzinfo=UTC),
        max_ahead=timedelta(hours=24),
        attempt=attempt,
    )


def test_athena_gets_the_staging_table_the_count_both_inserts_and_the_drop_as_athena_sql():
    athena = RecordingAthena()
    result = convert(AthenaSqlEngine(SETTINGS, athena), _object())
    queries = [query for query, _, _ in athena.statements]
    assert queries[0].startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `txlake`.`txd_raw_")
    assert "OpenCSVSerde" in queries[0] and "'skip.header.line.count' = '1'" in queries[0]
    assert "LOCATION 's3://lake/raw/payments/dt=2026-11-20/'" in queries[0]
    assert queries[1].startswith("WITH cells AS") and "GROUP BY reason" in queries[1]
    assert queries[2].startswith('INSERT INTO "txlake"."transaction_files_quarantine"')
    assert queries[3].startswith('INSERT INTO "txlake"."transaction_files"\n')
    assert queries[4].startswith("DROP TABLE IF EXISTS `txlake`.`txd_raw_")
    for query in queries[1:4]:
        assert """"$path" = 's3://lake/raw/payments/dt=2026-11-20/big.csv'""" in query
        sqlglot.parse_one(query, read="athena")  # raises on anything Athena's dialect does not read
    assert {database for _, _, database in athena.statements} == {"txlake"}
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (10, 7, 3)
    assert result.unknown_fields == {"channel": 9}
    assert result.reasons == ("amount: not decimal text",)
    assert result.outputs == [
        "curated/transaction_files/dt=2026-11-20/q4_0",
        "curated/transaction_files/dt=2026-11-20/q3_0",
    ]


def test_tokens_repeat_for_the_same_attempt_and_change_with_the_next():
    first, again, retry = RecordingAthena(), RecordingAthena(), RecordingAthena()
    convert(AthenaSqlEngine(SETTINGS, first), _object())
    convert(AthenaSqlEngine(SETTINGS, again), _object())
    convert(AthenaSqlEngine(SETTINGS, retry), _object(attempt=1))
    tokens = [token for _, token, _ in first.statements]
    assert tokens == [token for _, token, _ in again.statements]  # a killed run's re-run gets Athena's first answer
    assert len(set(tokens)) == 5 and all(32 <= len(t) <= 128 for t in tokens)
    assert not set(tokens) & {token for _, token, _ in retry.statements}  # a failed attempt's retry runs anew


def test_a_failed_insert_fails_the_object_and_the_staging_table_is_dropped():
    athena = RecordingAthena(fail_on='"transaction_files"')
    with pytest.raises(QueryFailed, match="HIVE_BAD_DATA"):
        convert(AthenaSqlEngine(SETTINGS, athena), _object())
    assert athena.statements[-1][0].startswith("DROP TABLE IF EXISTS")


@pytest.mark.parametrize(
    ("key", "size", "minimum", "expected"),
    [
        ("raw/a/dt=x/f.csv", 10, 10, True),
        ("raw/a/dt=x/f.CSV.gz", 11, 10, True),
        ("raw/a/dt=x/f.csv", 9, 10, False),
        ("raw/a/dt=x/f.jsonl", 99, 10, False),
        ("raw/a/dt=x/f.csv", 99, 0, False),
    ],
)
def test_the_road_takes_csv_files_at_or_above_the_threshold(key, size, minimum, expected):
    assert is_sql_road(key, size, minimum) is expected
