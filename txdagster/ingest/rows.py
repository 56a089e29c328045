"""Rows on their way into the lake, and the rejects that go to quarantine with their reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from txdagster.contract.arrow import table_arrow_schema

Origin = tuple[str, int, Any]


@dataclass(frozen=True)
class Reject:
    source_key: str
    row_number: int
    reason: str
    record: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "source_key": self.source_key,
            "row_number": self.row_number,
            "reason": self.reason,
            "record": self.record,
        }


@dataclass
class Parsed:
    """What came out of one input object: typed rows (with their origin), whole checked tables, rejects."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)  # (key, row number, raw record)
    rejects: list[Reject] = field(default_factory=list)
    unknown_fields: Counter[str] = field(default_factory=Counter)  # field -> rows that carried it
    tables: list[pa.Table] = field(default_factory=list)  # rows the columnar road typed and checked already
    whole: bool = False  # the object turned out unreadable: its one reject stands for all of it

    def add(self, row: dict[str, Any], key: str, row_number: int, raw: Any) -> None:
        self.rows.append(row)
        self.origins.append((key, row_number, raw))

    def add_table(self, table: pa.Table) -> None:
        self.tables.append(table)

    @classmethod
    def merged(cls, pieces: Iterable[Parsed]) -> Parsed:
        """The blocks of one object as one (for small inputs and inspection); an unreadable object's
        whole-object reject replaces what came before it."""
        result = cls()
        for piece in pieces:
            if piece.whole:
                result = cls(whole=True)
            result.rows += piece.rows
            result.origins += piece.origins
            result.rejects += piece.rejects
            result.tables += piece.tables
            result.unknown_fields.update(piece.unknown_fields)
        return result

    def typed_rows(self) -> list[dict[str, Any]]:
        """Every row that passed parsing, from either road (for inspection; the lake writes tables)."""
        return [*(row for table in self.tables for row in table.to_pylist()), *self.rows]

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejects) + sum(t.num_rows for t in self.tables)


def with_origin(table: pa.Table, source_key: str, first_row: int) -> pa.Table:
    """A columnar block's rows with the lake's ``source_file`` and ``source_row`` columns."""
    rows = np.arange(first_row, first_row + table.num_rows, dtype=np.int64)
    table = table.append_column("source_file", pa.repeat(source_key, table.num_rows))
    return table.append_column("source_row", pa.array(rows))


def to_arrow(table: str, parsed: Parsed) -> tuple[pa.Table, list[Origin], list[Reject]]:
    """The rows as an arrow table of the lake schema, the origins of the rows kept, and a reject for
    each row arrow cannot hold (e.g. an amount beyond DECIMAL(19,4))."""
    schema = table_arrow_schema(table)
    if not parsed.rows:  # the columnar road's blocks: from_pylist would cost more than the empty table
        return schema.empty_table(), [], []
    try:
        return pa.Table.from_pylist(parsed.rows, schema=schema), parsed.origins, []
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    kept: list[dict[str, Any]] = []
    kept_origins: list[Origin] = []
    rejects: list[Reject] = []
    for row, origin in zip(parsed.rows, parsed.origins, strict=True):
        try:
            pa.Table.from_pylist([row], schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            rejects.append(Reject(origin[0], origin[1], f"does not fit the lake schema: {exc}", origin[2]))
            continue
        kept.append(row)
        kept_origins.append(origin)
    return pa.Table.from_pylist(kept, schema=schema), kept_origins, rejects
