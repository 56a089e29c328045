"""Query engines: the Athena client sends the view SQL to the workgroup; DuckDB transpiles it."""

from __future__ import annotations

import pytest

from txdagster.lake import aws
from txdagster.lake.engines import AthenaEngine, QueryError, query_engine, to_duckdb
from txdagster.settings import with_overrides
from txdagster.sql import view_sql

pytestmark = pytest.mark.integration


def test_the_athena_engine_runs_in_the_workgroup_against_the_lake_database(settings):
    engine = query_engine(with_overrides(settings, query_engine="athena"))
    assert isinstance(engine, AthenaEngine)
    engine.create_view("transactions_current", view_sql("transactions_current"))

    athena = aws.client("athena", settings)
    ids = athena.list_query_executions(WorkGroup=settings.athena_workgroup)["QueryExecutionIds"]
    executions = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    [created] = [e for e in executions if e["Query"].startswith("CREATE OR REPLACE VIEW transactions_current")]
    assert created["QueryExecutionContext"]["Database"] == settings.glue_database


def test_the_view_sql_transpiles_to_duckdb_with_its_window_and_filter():
    sql = to_duckdb(view_sql("transactions_current"))
    assert "ROW_NUMBER() OVER (PARTITION BY transaction_id ORDER BY sequence_number DESC" in sql
    assert "change_type <> 'REMOVE'" in sql


def test_an_unknown_engine_is_a_clear_error(settings):
    with pytest.raises(QueryError, match="TXD_QUERY_ENGINE must be 'athena' or 'duckdb'"):
        query_engine(with_overrides(settings, query_engine="presto"))


def test_bad_sql_is_a_query_error_not_a_crash(settings):
    with pytest.raises(QueryError):
        query_engine(settings).query("SELECT nope FROM transactions_current")
