"""The SQL road: a raw CSV above ``TXD_SQL_ROAD_MIN_BYTES`` is converted by the query engine (Athena in
AWS, DuckDB locally), not by the Dagster process, with the contract's checks written as SQL.

For one object:
1. A staging table over the object (``Staging``): its cells as text, named by position, plus one more
   column that catches an extra cell. Athena reads it through an external table (OpenCSVSerde) over
   the object's folder, filtered by ``"$path"``; DuckDB through ``read_csv`` (``sql_engines.py``).
2. One query counts the rows by reason (row accounting) and the cells of columns the contract does
   not know.
3. ``INSERT INTO`` the lake table (the rows without a reason, typed) and ``INSERT INTO`` its
   quarantine table (the others, with the reason and the row's cells). The engine names the files;
   the ledger records them as the object's outputs.

Each statement carries a token derived from the statement and the object's attempt: Athena answers a
repeated token with the first execution, so a run killed after an INSERT re-runs it without inserting
twice. No SQL engine knows a row's position in a file: ``source_row`` is NULL on this road, and an id
repeated in the file quarantines every copy (which came first is unknown). The other limits are in
docs/lake.md ("The SQL road").
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from txdagster.contract.fields import FIELD_NAMES, FIELDS, KEY
from txdagster.contract.sql_rules import event_time_window, first_reason, identifier, literal, reasons, typed
from txdagster.ingest.pipeline import REASONS_KEPT, ObjectResult
from txdagster.lake.catalog import quarantine_table

PATH_COLUMN = '"$path"'
EXTRA_CELL = "more cells than the header"


def is_sql_road(key: str, size: int, min_bytes: int) -> bool:
    """A CSV (optionally gzip) of at least ``min_bytes``; 0 turns the road off."""
    return bool(min_bytes) and size >= min_bytes and key.lower().removesuffix(".gz").endswith(".csv")


@dataclass(frozen=True)
class Staging:
    """The external table over one raw CSV: columns ``c0``..``cN`` (the header's, by position) and one
    more for an extra cell."""

    name: str
    database: str
    bucket: str
    key: str
    width: int  # the header's number of columns

    @property
    def columns(self) -> list[str]:
        return [f"c{i}" for i in range(self.width + 1)]

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def athena_ddl(self) -> str:
        columns = ", ".join(f"`{c}` string" for c in self.columns)
        folder = self.uri.rsplit("/", 1)[0] + "/"
        return (
            f"CREATE EXTERNAL TABLE IF NOT EXISTS `{self.database}`.`{self.name}` ({columns})\n"
            "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
            "WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"')\n"
            f"LOCATION {literal(folder)}\n"
            "TBLPROPERTIES ('skip.header.line.count' = '1')"
        )

    def drop(self) -> str:
        return f"DROP TABLE IF EXISTS `{self.database}`.`{self.name}`"


def _insert(engine: SqlEngine, obj: SqlObject, table: str, select: str) -> list[str]:
    return engine.insert(table, obj.dt, select, obj.token(f"{table}\n{select}"))


class EmptyFile(ValueError):
    """A file with a header and no rows: the caller hands it to the columnar road, which quarantines it."""


class SqlEngine(Protocol):
    """Runs the road's statements: Athena through dagster-aws, or DuckDB (``sql_engines.py``)."""

    def stage(self, staging: Staging, token: str) -> None: ...

    def unstage(self, staging: Staging, token: str) -> None: ...

    def rows(self, select: str, token: str) -> list[tuple[str | None, ...]]: ...

    def insert(self, table: str, dt: str, select: str, token: str) -> list[str]:
        """Append the rows of ``select`` (the table's columns, ``dt`` last) as new files in the day's
        partition (registered if new); returns the keys written."""
        ...


@dataclass(frozen=True)
class SqlObject:
    """One raw CSV on the SQL road, and everything its statements depend on (so they are repeatable)."""

    database: str
    bucket: str
    key: str
    etag: str
    table: str
    dt: str
    header: tuple[str, ...]
    source_system: str
    ingested_at: datetime  # the object's arrival in the lake: stable across retries
    max_ahead: timedelta
    attempt: int = 0

    @property
    def staging(self) -> Staging:
        digest = hashlib.sha256(f"{self.key}\n{self.etag}".encode()).hexdigest()[:16]
        return Staging(f"txd_raw_{digest}", self.database, self.bucket, self.key, len(self.header))

    def token(self, statement: str) -> str:
        """Athena's ClientRequestToken (32-128 characters) for one statement of this attempt."""
        return hashlib.sha256(f"{statement}\n{self.etag}\n{self.attempt}".encode()).hexdigest()

    def _cell(self, name: str) -> str:
        """The text of a header column (blank is missing), or NULL when the header lacks it."""
        if name not in self.header:
            return "CAST(NULL AS VARCHAR)"
        return f"NULLIF({identifier(f'c{self.header.index(name)}')}, '')"

    @property
    def unknown(self) -> list[str]:
        return [name for name in self.header if name not in FIELD_NAMES]

    def judged(self) -> str:
        """The CTEs ending in ``judged``: each row's values (``v_<field>``, defaults filled), its cells and
        its reason (NULL: publish)."""
        defaults = {
            "source_system": literal(self.source_system),
            "version": "'1'",
            "ingested_at": literal(self.ingested_at.isoformat().replace("+00:00", "Z")),
        }
        values = [
            f"COALESCE({self._cell(f.name)}, {defaults[f.name]}) AS v_{f.name}"
            if f.name in defaults
            else f"{self._cell(f.name)} AS v_{f.name}"
            for f in FIELDS
        ]
        unknown = [f"{self._cell(name)} AS u_{i}" for i, name in enumerate(self.unknown)]
        cells = ", ".join(identifier(c) for c in self.staging.columns)
        checks = [check for f in FIELDS for check in reasons(f, f"v_{f.name}")]
        checks.append(event_time_window("v_event_time", self.ingested_at + self.max_ahead))
        source = f"{identifier(self.database)}.{identifier(self.staging.name)}"
        return (
            f"WITH cells AS (\n  SELECT {cells}, {', '.join(values + unknown)}\n  FROM {source}\n"
            f"  WHERE {PATH_COLUMN} = {literal(self.staging.uri)}\n"
            f"), checked AS (\n  SELECT *, {first_reason(checks)} AS rule_broken,\n"
            f"  count(*) OVER (PARTITION BY v_{KEY}) AS copies\n  FROM cells\n"
            f"), judged AS (\n  SELECT *, CASE\n"
            f"    WHEN {identifier(self.staging.columns[-1])} IS NOT NULL THEN {literal(f'row has {EXTRA_CELL}')}\n"
            f"    WHEN rule_broken IS NOT NULL THEN rule_broken\n"
            f"    WHEN copies > 1 THEN concat({literal(f'{KEY}: repeated in this file (')}, CAST(copies AS VARCHAR), "
            f"{literal(' rows); the SQL road cannot tell which came first, so every copy is quarantined')})\n"
            f"  END AS reason\n  FROM checked\n)\n"
        )

    def accounting(self) -> str:
        """Rows per reason (NULL: published), with the filled cells of each unknown column."""
        unknown = "".join(f", count(u_{i}) AS u_{i}" for i in range(len(self.unknown)))
        return f"{self.judged()}SELECT reason, count(*) AS row_count{unknown}\nFROM judged\nGROUP BY reason"

    def published(self) -> str:
        columns = [f"{typed(f, f'v_{f.name}')} AS {f.name}" for f in FIELDS]
        columns += [
            f"{literal(self.key)} AS source_file",
            "CAST(NULL AS BIGINT) AS source_row",
            f"{literal(self.dt)} AS dt",
        ]
        return f"{self.judged()}SELECT {', '.join(columns)}\nFROM judged\nWHERE reason IS NULL"

    def quarantined(self) -> str:
        names = ", ".join(literal(name) for name in self.header)
        cells = ", ".join(identifier(f"c{i}") for i in range(len(self.header)))
        return (
            f"{self.judged()}SELECT {literal(self.key)} AS source_key, CAST(NULL AS BIGINT) AS row_number, reason, "
            f"map(ARRAY[{names}], ARRAY[{cells}]) AS record, {literal(self.dt)} AS dt\n"
            "FROM judged\nWHERE reason IS NOT NULL"
        )


def convert(engine: SqlEngine, obj: SqlObject) -> ObjectResult:
    """Run the object through the SQL road; the outputs are the files the engine wrote. Quarantine goes
    first: an attempt that fails between the two INSERTs has published nothing."""
    staging = obj.staging
    engine.stage(staging, obj.token(staging.athena_ddl()))
    try:
        by_reason: Counter[str | None] = Counter()
        unknown: Counter[str] = Counter()
        for reason, count, *cells in engine.rows(obj.accounting(), obj.token(obj.accounting())):
            by_reason[reason] += int(count or 0)
            unknown.update({name: int(n or 0) for name, n in zip(obj.unknown, cells, strict=True)})
        rows_in = sum(by_reason.values())
        published_rows = by_reason.pop(None, 0)
        quarantined = _insert(engine, obj, quarantine_table(obj.table), obj.quarantined()) if by_reason else []
        published = _insert(engine, obj, obj.table, obj.published()) if published_rows else []
    finally:
        engine.unstage(staging, obj.token(staging.drop()))
    if rows_in == 0:
        raise EmptyFile(f"{obj.key}: the file holds no records")
    return ObjectResult(
        source_key=obj.key,
        rows_in=rows_in,
        rows_valid=published_rows,
        rows_quarantined=rows_in - published_rows,
        parquet_key=published[0] if published else None,
        parquet_bytes=0,
        quarantine_key=quarantined[0] if quarantined else None,
        reasons=tuple(reason for reason, _ in by_reason.most_common(REASONS_KEPT) if reason is not None),
        unknown_fields={name: n for name, n in unknown.items() if n},
        more_published=tuple(published[1:]),
        more_quarantined=tuple(quarantined[1:]),
        road="sql",
    )
