"""Query engines: the Athena client sends the view SQL to the workgroup; DuckDB transpiles it."""

from __future__ import annotations

import pytest

from txdagster.defs.bi.views import view_sql
from txdagster.lake import aws
from txdagster.lake.engines import AthenaEngine, QueryError, query_engine, to_duckdb
from txdagster.settings import with_overrides

pytestmark = pytest.mark.integration


def test_the_athena_engine_runs_in_the_workgroup_against_the_lake_database(settings):
    engine = query_engine(with_overrides(settings, query_engine="athena"))
    assert isinstance(engine, AthenaEngine)
    engine.create_view("transactions_current_from_log", view_sql("transactions_current_from_log"))

    athena = aws.client("athena", settings)
    ids = athena.list_query_executions(WorkGroup=settings.athena_workgroup)["QueryExecutionIds"]
    executions = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    [created] = [e for e in executions if e["Query"].startswith("CREATE OR REPLACE VIEW transactions_current_from_log")]
    assert created["QueryExecutionContext"]["Database"] == settings.glue_database


def test_query_outside_the_local_stack_runs_on_athena_unless_duckdb_is_asked_for(settings, monkeypatch, capsys):
    from txdagster import cli
    from txdagster.settings import settings_environment

    for name, value in settings_environment(settings).items():
        monkeypatch.setenv(name, value)  # an AWS shell: the stack's names, its endpoint (moto) as the AWS one
    monkeypatch.delenv("TXD_QUERY_ENGINE")  # as in a shell that never set it
    monkeypatch.setenv("TXD_HOME", "/nonexistent")  # no local stack recorded
    athena = aws.client("athena", settings)

    def athena_queries() -> list[str]:
        ids = athena.list_query_executions(WorkGroup=settings.athena_workgroup)["QueryExecutionIds"]
        return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]

    sql = "SELECT 42 AS asked_of_athena"
    cli.main(["query", sql, "--json"])  # moto's Athena runs nothing: what counts is where the query went
    assert sql in athena_queries()

    capsys.readouterr()
    assert cli.main(["query", "SELECT 43 AS n", "--json", "--engine", "duckdb"]) == 0
    assert '"n": 43' in capsys.readouterr().out and "SELECT 43 AS n" not in athena_queries()


def test_the_view_sql_transpiles_to_duckdb_with_its_window_and_filter():
    sql = to_duckdb(view_sql("transactions_current_from_log"))
    assert "ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY sequence_number DESC" in sql
    assert "change_type <> 'REMOVE'" in sql


def test_an_unknown_engine_is_a_clear_error(settings):
    with pytest.raises(QueryError, match="TXD_QUERY_ENGINE must be 'athena' or 'duckdb'"):
        query_engine(with_overrides(settings, query_engine="presto"))


def test_bad_sql_is_a_query_error_not_a_crash(settings):
    with pytest.raises(QueryError):
        query_engine(settings).query("SELECT nope FROM transactions_current")


HOSTILE = {
    "COPY (SELECT 1) TO '{out}'": "not COPY",
    "SELECT * FROM read_csv('/etc/hostname')": "read_csv() reads files",
    "SELECT * FROM read_text('/etc/hostname')": "read_text() reads files",
    "CREATE TABLE stolen AS SELECT * FROM transaction_files": "not CREATE",
    "DROP VIEW transactions_current": "not DROP",
    "SELECT 1; DROP VIEW transactions_current": "one statement at a time: 2",
    "SET enable_external_access = true": "not SET",
    "": "no SQL given",
    "   ": "no SQL given",
}


@pytest.mark.parametrize("sql", list(HOSTILE))
def test_txdagster_query_runs_one_read_statement_and_nothing_else(sql, settings, tmp_path, monkeypatch, capsys):
    from txdagster import cli

    out = tmp_path / "copied.csv"
    capsys.readouterr()
    assert cli.main(["query", sql.format(out=out)]) == 2
    printed = capsys.readouterr()
    assert HOSTILE[sql] in printed.out and "Traceback" not in printed.out + printed.err
    assert not out.exists()
    assert cli.main(["query", "SELECT count(*) AS n FROM transaction_files", "--json"]) == 0  # nothing dropped


def test_duckdb_reads_no_file_itself_once_the_lake_is_registered(settings):
    import duckdb

    from txdagster.lake.engines import DuckDBEngine

    con = DuckDBEngine(settings).connect()
    assert con.sql("SELECT count(*) FROM transaction_files").fetchall()[0][0] >= 0  # the lake is readable
    with pytest.raises(duckdb.PermissionException):
        con.sql("SELECT * FROM read_text('/etc/hostname')").fetchall()  # past the statement check, still refused
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")


def test_the_local_stacks_query_service_answers_as_the_engine_does_and_refuses_what_it_refuses(stack, settings):
    import json
    import urllib.error
    import urllib.request

    def ask(sql: str) -> tuple[int, dict]:
        request = urllib.request.Request(f"{stack.service.url}/query", json.dumps({"sql": sql}).encode())
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    sql = "SELECT count(*) AS n, 'x' AS tag FROM transactions_current"
    direct = query_engine(settings).query(sql).to_pylist()
    assert ask(sql) == (200, {"columns": ["n", "tag"], "rows": [[direct[0]["n"], "x"]]})

    status, answer = ask("DROP TABLE transactions_current")
    assert status == 400 and answer["error"].startswith("refused:")  # read statements only, as in the engine
    with pytest.raises(QueryError, match="refused"):
        query_engine(settings).query("DROP TABLE transactions_current")


def test_a_query_registers_the_tables_it_reads_and_those_its_views_read(settings):
    from txdagster.lake import catalog
    from txdagster.lake.engines import tables_read_by

    asked: list[str] = []

    def tables() -> list[dict]:
        asked.append("glue")
        return catalog.list_tables(settings)

    assert tables_read_by("SELECT 1 AS one", tables) == set()  # nothing to list or plan
    assert asked == []  # not even the catalog
    read = tables_read_by("SELECT count(*) FROM daily_source_summary", tables)
    assert read is not None
    assert {"daily_source_summary", "transactions_unified", "transactions_current", "transaction_files"} <= read
    assert "transaction_changes" not in read
    assert tables_read_by("SHOW TABLES", tables) is None  # a statement naming no table: every table


def test_the_local_stacks_service_answers_a_ledger_lookup_as_the_ledger_does(stack, settings):
    import json
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    from txdagster.lake.ledger import Entry, Ledger

    key = "raw/crm/dt=2026-10-09/looked-up.jsonl"
    entry = Entry(bucket=settings.lake_bucket, key=key, etag="e1", table="transaction_files", dt="2026-10-09")
    assert Ledger(settings).register(entry, "batch-1", time.time())

    def ask(key: str) -> tuple[int, dict]:
        query = urllib.parse.urlencode({"bucket": settings.lake_bucket, "key": key})
        try:
            with urllib.request.urlopen(f"{stack.service.url}/ledger?{query}", timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, found = ask(key)
    assert status == 200
    assert found == json.loads(json.dumps(Ledger(settings).get(settings.lake_bucket, key).as_json(), default=str))
    assert found["state"] == "pending" and found["batch"] == "batch-1"
    assert ask("raw/crm/dt=2026-10-09/never.jsonl")[0] == 404
