"""The engines of the SQL road (``sql_road.py``): Athena in AWS, DuckDB for the local stack.

``AthenaSqlEngine`` sends each statement to Athena through dagster-aws's client (``resources.py``:
launched with an idempotency token, tracked until it ends) and learns the files an INSERT INTO wrote
from the query's manifest. ``DuckDBSqlEngine`` plays Athena's part locally and faithfully: the same
statements, transpiled by sqlglot; the staging table is DuckDB's ``read_csv`` with OpenCSVSerde's
behaviour (cells by position, missing ones NULL, cells past the declared columns ignored); an INSERT
INTO writes new files into the day's partition location, registering the partition when it is new.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import tempfile
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

from txdagster.contract.arrow import PARTITION_COLUMN, table_arrow_schema
from txdagster.contract.sql_rules import literal
from txdagster.ingest.write import ROW_GROUP_SIZE, ParquetRows
from txdagster.lake import aws, catalog
from txdagster.lake.engines import to_duckdb
from txdagster.lake.sql_road import Staging
from txdagster.settings import Settings


class AthenaRunner(Protocol):
    """What the engine needs of dagster-aws's Athena client (``resources.TrackedAthenaClient``)."""

    def run(self, query: str, token: str, database: str) -> str: ...

    def manifest(self, execution_id: str) -> list[str]: ...

    def results(self, execution_id: str) -> list[tuple[str | None, ...]]: ...


class AthenaSqlEngine:
    def __init__(self, settings: Settings, athena: AthenaRunner) -> None:
        self.settings, self.athena = settings, athena

    def _run(self, sql: str, token: str) -> str:
        return self.athena.run(sql, token, self.settings.glue_database)

    def stage(self, staging: Staging, token: str) -> None:
        self._run(staging.athena_ddl(), token)

    def unstage(self, staging: Staging, token: str) -> None:
        self._run(staging.drop(), token)

    def rows(self, select: str, token: str) -> list[tuple[str | None, ...]]:
        return self.athena.results(self._run(select, token))

    def insert(self, table: str, dt: str, select: str, token: str) -> list[str]:
        """The files an INSERT INTO wrote, from its manifest. A failed INSERT may have written some: the
        manifest names them too, and they are deleted before the failure is reported."""
        try:
            execution_id = self._run(f'INSERT INTO "{self.settings.glue_database}"."{table}"\n{select}', token)
        except QueryFailed as exc:
            with contextlib.suppress(Exception):  # no manifest: nothing was written
                keys = self._keys(exc.execution_id)
                s3 = aws.client("s3", self.settings)
                for key in keys:
                    s3.delete_object(Bucket=self.settings.lake_bucket, Key=key)
            raise
        return self._keys(execution_id)

    def _keys(self, execution_id: str) -> list[str]:
        prefix = f"s3://{self.settings.lake_bucket}/"
        return [uri.removeprefix(prefix) for uri in self.athena.manifest(execution_id)]


class DuckDBSqlEngine:
    """One object's statements in one DuckDB session; the raw object is downloaded (streamed to disk)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._con: duckdb.DuckDBPyConnection | None = None
        self._work: tempfile.TemporaryDirectory[str] | None = None

    def stage(self, staging: Staging, token: str) -> None:
        self._work = tempfile.TemporaryDirectory(prefix="txd-sql-")
        path = Path(self._work.name, posixpath.basename(staging.key))  # the suffix tells read_csv about gzip
        aws.client("s3", self.settings).download_file(staging.bucket, staging.key, str(path))
        columns = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in staging.columns) + "}"
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone='UTC'")
        self._con.execute(f'CREATE SCHEMA IF NOT EXISTS "{staging.database}"')
        self._con.execute(
            f'CREATE VIEW "{staging.database}"."{staging.name}" AS SELECT *, {literal(staging.uri)} AS "$path" '
            f"FROM read_csv({literal(str(path))}, header = false, skip = 1, columns = {columns}, auto_detect = false, "
            "quote = '\"', escape = '\"', null_padding = true, strict_mode = false)"
        )

    def unstage(self, staging: Staging, token: str) -> None:
        if self._con is not None:
            self._con.close()
        if self._work is not None:
            self._work.cleanup()
        self._con = self._work = None

    def _relation(self, select: str) -> duckdb.DuckDBPyRelation:
        if self._con is None:
            raise RuntimeError("stage() the object first")
        return self._con.sql(to_duckdb(select))

    def rows(self, select: str, token: str) -> list[tuple[str | None, ...]]:
        try:
            found = self._relation(select).fetchall()
        except duckdb.Error as exc:
            raise SqlRoadError(f"DuckDB refused the SQL road's statement: {exc}") from exc
        return [tuple(None if v is None else str(v) for v in row) for row in found]

    def insert(self, table: str, dt: str, select: str, token: str) -> list[str]:
        """As Athena: new files in the day's partition location, named by the statement (a repeated
        token rewrites its own files, as Athena returns its first execution)."""
        catalog.add_partitions(self.settings, table, [dt])
        key = f"{catalog.live_prefix(self.settings, table, dt)}{token[:32]}_00000"
        path = Path(self._work.name if self._work else tempfile.gettempdir(), f"{token[:32]}.out")
        try:
            reader = self._relation(select).to_arrow_reader(ROW_GROUP_SIZE)
            if table.endswith(catalog.QUARANTINE_SUFFIX):
                with path.open("w", encoding="utf-8") as out:
                    for batch in reader:
                        for row in batch.drop_columns([PARTITION_COLUMN]).to_pylist():
                            row["record"] = dict(row["record"] or [])
                            out.write(json.dumps(row, sort_keys=True) + "\n")
            else:
                rows = ParquetRows(path, table_arrow_schema(table))
                for batch in reader:
                    rows.append(pa.Table.from_batches([batch]).drop_columns([PARTITION_COLUMN]))
                rows.close()
        except duckdb.Error as exc:
            raise SqlRoadError(f"DuckDB refused the SQL road's statement: {exc}") from exc
        aws.s3_publisher(self.settings)(path, key)
        return [key]


class SqlRoadError(RuntimeError):
    """The engine refused or failed a statement: the object's attempt fails (and is retried)."""


class QueryFailed(SqlRoadError):
    def __init__(self, execution_id: str, reason: str) -> None:
        super().__init__(f"Athena query {execution_id} failed: {reason}")
        self.execution_id = execution_id
