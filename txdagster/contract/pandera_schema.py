"""The pandera schema of the lake tables, derived from ``FIELDS`` (pandas with Arrow-backed columns)."""

from __future__ import annotations

import pandera.pandas as pa

from txdagster.contract.fields import FIELDS, KEY, Field


# pandera's Check builders leave their **kwargs untyped (reportUnknownMemberType): the calls pass none
def _checks(f: Field) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if f.enum:
        checks.append(pa.Check.isin(list(f.enum)))  # pyright: ignore[reportUnknownMemberType]
    elif f.pattern and f.kind == "string":
        checks.append(pa.Check.str_matches(f.pattern))  # pyright: ignore[reportUnknownMemberType]
    if f.max_length or f.min_length:
        checks.append(pa.Check.str_length(min_value=f.min_length, max_value=f.max_length))  # pyright: ignore[reportUnknownMemberType]
    if f.kind == "integer":
        checks.append(pa.Check.ge(1))  # pyright: ignore[reportUnknownMemberType]
    return checks


def lake_schema(table: str, unique_keys: bool = True) -> pa.DataFrameSchema:
    """Row rules for a lake table; keys are unique in ``transaction_files`` (one row per record of a
    file; ``unique_keys=False`` for a set of rows from many files, such as a run's file)."""
    columns = {
        f.name: pa.Column(
            checks=_checks(f),
            nullable=not f.required,
            unique=(unique_keys and f.name == KEY and table == "transaction_files"),
            required=True,
        )
        for f in FIELDS
    }
    return pa.DataFrameSchema(columns, name=table, strict=False, coerce=False)
