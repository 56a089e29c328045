"""Validate lake rows with the contract's pandera schema; failing rows become rejects, not errors."""

from __future__ import annotations

from typing import Any, cast

import pandas as pd
import pandera.errors
import pyarrow as pa

from txdagster.contract.pandera_schema import lake_schema
from txdagster.ingest.rows import Origin, Reject


def split_valid(table_name: str, table: pa.Table, origins: list[Origin]) -> tuple[pa.Table, list[Reject]]:
    """(rows that pass every check, a reject per failing row naming each failed check)."""
    if table.num_rows == 0:
        return table, []
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    try:
        lake_schema(table_name).validate(frame, lazy=True)
        return table, []
    except pandera.errors.SchemaErrors as exc:
        cases = cast(pd.DataFrame, exc.failure_cases)  # pandera declares it untyped
    reasons: dict[int, list[str]] = {}
    failures: list[dict[str, Any]] = pa.Table.from_pandas(cases, preserve_index=False).to_pylist()
    for case in failures:
        index, column, check = case["index"], case["column"], case["check"]
        if index is None:  # a check without a row to blame: no row of this set can be trusted
            reason = f"{column} fails {check} across the object"
            return table.slice(0, 0), [Reject(o[0], o[1], reason, o[2]) for o in origins]
        reasons.setdefault(int(index), []).append(f"{column} fails {check}: {case['failure_case']!r}")
    rejects = [Reject(origins[i][0], origins[i][1], "; ".join(reasons[i]), origins[i][2]) for i in sorted(reasons)]
    keep = pa.array([i not in reasons for i in range(table.num_rows)])
    return table.filter(keep), rejects
