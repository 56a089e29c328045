"""Rows on their way into the lake, and the rejects that go to quarantine with their reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from txdagster.contract.arrow import table_arrow_schema


@dataclass(frozen=True)
class Reject:
    source_key: str
    row_number: int
    reason: str
    record: Any

    def as_json(self) -> dict[str, Any]:
        return {"source_key": self.source_key, "row_number": self.row_number, "reason": self.reason,
                "record": self.record}  # fmt: skip


@dataclass
class Parsed:
    """What came out of one input object: typed rows (with their origin) and rejects."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    origins: list[tuple[str, int, Any]] = field(default_factory=list)  # (key, row number, raw record)
    rejects: list[Reject] = field(default_factory=list)

    def add(self, row: dict[str, Any], key: str, row_number: int, raw: Any) -> None:
        self.rows.append(row)
        self.origins.append((key, row_number, raw))

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejects)


def to_arrow(table: str, parsed: Parsed) -> tuple[pa.Table, list[Reject]]:
    """The rows as an arrow table of the lake schema; a row arrow cannot hold becomes a reject."""
    schema = table_arrow_schema(table)
    try:
        return pa.Table.from_pylist(parsed.rows, schema=schema), []
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    kept, rejects = [], []
    for row, (key, number, raw) in zip(parsed.rows, parsed.origins, strict=True):
        try:
            pa.Table.from_pylist([row], schema=schema)
            kept.append(row)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            rejects.append(Reject(key, number, f"does not fit the lake schema: {exc}", raw))
    return pa.Table.from_pylist(kept, schema=schema), rejects
