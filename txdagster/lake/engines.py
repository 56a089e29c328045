"""Query engines for the lake's SQL: Athena in AWS; locally DuckDB resolving tables through Glue.

Both run the same Athena-dialect SQL. DuckDB sees exactly what Athena would: only the partitions
registered in Glue, read from S3 through pyarrow; views come from the catalog's VIRTUAL_VIEW entries.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import sqlglot
from pyarrow import fs
from sqlglot import exp
from sqlglot.errors import ParseError

from txdagster.contract.arrow import PARTITION_COLUMN, TABLE_EXTRA_COLUMNS, table_arrow_schema
from txdagster.lake import aws, catalog
from txdagster.lake.read_only import NotReadOnly, read_statement
from txdagster.settings import Settings

ATHENA_POLL_SECONDS = 0.5
ATHENA_TIMEOUT_SECONDS = 300
QUERY_ATTEMPTS = 3


class QueryError(RuntimeError):
    pass


class QueryEngine(Protocol):
    def query(self, sql: str) -> pa.Table: ...

    def create_view(self, name: str, select_sql: str) -> None: ...


def _read_only(sql: str) -> str:
    try:
        return read_statement(sql)
    except NotReadOnly as exc:
        raise QueryError(f"refused: {exc}") from exc


def to_duckdb(athena_sql: str) -> str:
    try:
        return sqlglot.transpile(athena_sql, read="athena", write="duckdb")[0]
    except ParseError as exc:
        raise QueryError(f"not valid Athena SQL: {exc}") from exc


def _view_sql(table: dict[str, Any]) -> str:
    text = table.get("ViewOriginalText", "")
    if text.startswith("/* Presto View: "):  # how Athena itself stores a view
        encoded = text.removeprefix("/* Presto View: ").removesuffix(" */")
        return json.loads(base64.b64decode(encoded))["originalSql"]
    return text


class DuckDBEngine:
    """Athena stand-in: DuckDB over Parquet in S3, with tables and views resolved through Glue."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.filesystem = aws.s3_filesystem(settings)
        self._listed: dict[str, list[tuple[str, int, Any, str]]] = {}  # the files the last session read

    def _files(self, table: dict[str, Any]) -> list[tuple[str, int, Any, str]]:
        """(path, size, mtime, day) of the files at the locations of the table's registered partitions, as
        Athena reads them: files directly in the folder, names starting with _ or . skipped (Athena's
        INSERT INTO names its files without an extension)."""
        files: list[tuple[str, int, Any, str]] = []
        for dt, location in catalog.partitions(self.settings, table["Name"]).items():
            selector = fs.FileSelector(location.removeprefix("s3://").rstrip("/"), allow_not_found=True)
            files.extend(
                (info.path, info.size, info.mtime, dt)
                for info in self.filesystem.get_file_info(selector)
                if info.type == fs.FileType.File and not info.base_name.startswith(("_", "."))
            )
        return sorted(files)

    def _snapshot(self) -> dict[str, list[tuple[str, int, Any, str]]]:
        """The files the last session's tables would read now."""
        tables = [t for t in catalog.list_tables(self.settings) if catalog.is_parquet(t) and t["Name"] in self._listed]
        return {t["Name"]: self._files(t) for t in tables}

    def _dataset(self, table: dict[str, Any]) -> ds.Dataset | pa.Table:
        name = table["Name"]
        schema = (
            table_arrow_schema(name).append(pa.field(PARTITION_COLUMN, pa.string()))
            if name in TABLE_EXTRA_COLUMNS
            else None
        )
        self._listed[name] = self._files(table)
        if not self._listed[name]:
            if schema is None:
                raise QueryError(f"table {name} has no registered data and no contract schema")
            return schema.empty_table()
        return ds.FileSystemDataset.from_paths(
            [path for path, _, _, _ in self._listed[name]],
            schema=schema,
            format=ds.ParquetFileFormat(),
            filesystem=self.filesystem,
            partitions=[pc.field(PARTITION_COLUMN) == dt for _, _, _, dt in self._listed[name]],
        )

    def _iceberg(self, name: str) -> ds.Dataset:
        """An Iceberg table as Athena reads it: the data files of its current snapshot (pyiceberg plans
        them; DuckDB's iceberg extension cannot be installed offline)."""
        from txdagster.lake.current import snapshot  # pyiceberg: imported only where an Iceberg table is read

        paths, schema = snapshot(self.settings, name)
        return ds.FileSystemDataset.from_paths(
            paths, schema=schema, format=ds.ParquetFileFormat(), filesystem=self.filesystem
        )

    def connect(self, reads: str | None = None) -> duckdb.DuckDBPyConnection:
        """A session where the Glue tables and views of the database can be queried by name, and nothing
        else: DuckDB's file access is off once the lake's datasets are registered. With ``reads`` (a
        query), only the tables and views it names, and what those views name, are registered: listing
        and planning every table of the lake would cost a ``select 1`` a third of a second."""
        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        self._listed = {}
        views: list[dict[str, Any]] = []
        listing = functools.cache(lambda: catalog.list_tables(self.settings))  # a select 1 asks Glue nothing
        wanted = tables_read_by(reads, listing) if reads is not None else None
        for table in listing() if wanted != set() else []:
            if wanted is not None and table["Name"] not in wanted:
                continue
            if table.get("TableType") == "VIRTUAL_VIEW":
                views.append(table)
            elif catalog.is_parquet(table):  # quarantine tables (JSON lines) are Athena's only
                con.register(table["Name"], self._dataset(table))
            elif catalog.is_iceberg(table):
                con.register(table["Name"], self._iceberg(table["Name"]))
        pending = list(views)
        while pending:  # views may build on views: create in whatever order binds
            failures: list[tuple[dict[str, Any], duckdb.CatalogException]] = []
            for view in pending:
                try:
                    con.execute(f'CREATE OR REPLACE VIEW "{view["Name"]}" AS {to_duckdb(_view_sql(view))}')
                except duckdb.CatalogException as exc:
                    failures.append((view, exc))
            if len(failures) == len(pending):
                raise QueryError(f"view {failures[0][0]['Name']} does not bind: {failures[0][1]}")
            pending = [view for view, _ in failures]
        # the lake's datasets are registered: from here on no statement reads or writes a file itself
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return con

    def query(self, sql: str) -> pa.Table:
        """Run ``sql`` (one read statement). A file replaced or removed by a writer while the query read it
        (a retried or overwritten object) fails the read: the query then runs again on the new listing."""
        _read_only(sql)
        for _ in range(QUERY_ATTEMPTS - 1):
            try:
                return self._query_once(sql)
            except QueryError:
                if self._snapshot() == self._listed:
                    raise
        return self._query_once(sql)

    def _query_once(self, sql: str) -> pa.Table:
        con = self.connect(reads=sql)
        try:
            return con.sql(to_duckdb(sql)).to_arrow_table()
        except duckdb.CatalogException as exc:
            known = ", ".join(t["Name"] for t in catalog.list_tables(self.settings))
            raise QueryError(
                f"{exc}\nGlue database {self.settings.glue_database} has: {known}. Views appear once they "
                "are created (the local stack creates them when it starts; in AWS the refresh_views job, hourly)."
            ) from exc
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from exc
        finally:
            con.close()

    def create_view(self, name: str, select_sql: str) -> None:
        """Check that the view binds against the current tables, then record it in Glue as Athena does."""
        con = self.connect()
        try:
            described = con.execute(f"DESCRIBE {to_duckdb(select_sql)}").fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"view {name} does not run: {exc}") from exc
        finally:
            con.close()
        columns = [{"Name": row[0], "Type": _athena_type(row[1])} for row in described]
        catalog.put_view(self.settings, name, select_sql, columns)


def tables_read_by(sql: str, tables: Callable[[], list[dict[str, Any]]]) -> set[str] | None:
    """The names of the Glue tables and views a query reads, the views' own sources included (``tables``
    lists the catalog, asked only when the query names a table); None (every table) for a statement that
    reads no table by name (SHOW, DESCRIBE) or that does not parse."""
    try:
        statement = sqlglot.parse_one(sql, read="athena")
    except ParseError:
        return None
    if not isinstance(statement, exp.Query):
        return None
    wanted: set[str] = set()
    pending = [table.name for table in statement.find_all(exp.Table)]
    views = {t["Name"]: _view_sql(t) for t in tables() if t.get("TableType") == "VIRTUAL_VIEW"} if pending else {}
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        if name in views:
            pending.extend(table.name for table in sqlglot.parse_one(views[name], read="athena").find_all(exp.Table))
    return wanted


def _athena_type(duckdb_type: str) -> str:
    lowered = duckdb_type.lower()
    return {
        "varchar": "string",
        "timestamp with time zone": "timestamp",
        "bigint": "bigint",
        "integer": "int",
        "boolean": "boolean",
        "double": "double",
    }.get(lowered, lowered.replace("map(varchar, varchar)", "map<string,string>"))


class AthenaEngine:
    """Runs the SQL on Amazon Athena in the configured workgroup and database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.athena = aws.client("athena", settings)

    def _run(self, sql: str) -> str:
        execution_id = self.athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": self.settings.glue_database},
            WorkGroup=self.settings.athena_workgroup,
        )["QueryExecutionId"]
        deadline = time.monotonic() + ATHENA_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            status = self.athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
            if status["State"] == "SUCCEEDED":
                return execution_id
            if status["State"] in ("FAILED", "CANCELLED"):
                raise QueryError(f"Athena query {execution_id} {status['State']}: {status.get('StateChangeReason')}")
            time.sleep(ATHENA_POLL_SECONDS)
        raise QueryError(f"Athena query {execution_id} did not finish in {ATHENA_TIMEOUT_SECONDS}s")

    def query(self, sql: str) -> pa.Table:
        execution_id = self._run(_read_only(sql))
        rows: list[list[str | None]] = []
        header: list[str] = []
        for page in self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
            if not header:
                header = [c["Name"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            rows.extend([d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"])
        data = rows[1:] if rows and rows[0] == header else rows
        return pa.table({name: [row[i] for row in data] for i, name in enumerate(header)})

    def create_view(self, name: str, select_sql: str) -> None:
        self._run(f"CREATE OR REPLACE VIEW {name} AS {select_sql}")


def query_engine(settings: Settings) -> QueryEngine:
    """``TXD_QUERY_ENGINE``: ``athena`` (the default, AWS) or ``duckdb`` (the local stack, or when asked)."""
    if settings.query_engine == "athena":
        return AthenaEngine(settings)
    if settings.query_engine == "duckdb":
        return DuckDBEngine(settings)
    raise QueryError(f"TXD_QUERY_ENGINE must be 'athena' or 'duckdb', not {settings.query_engine!r}")
