"""Athena (Trino) SQL, one ``<name>.sql`` file each: the views, and the queries of the checks.
``{canonical_columns}`` is filled from the contract so no column list is written twice."""

from __future__ import annotations

from importlib import resources

from txdagster.contract.fields import FIELD_NAMES

#: The Athena views, in the order they build on each other; the BI views read the current table.
VIEWS = ("transactions_current_from_log", "transactions_unified", "daily_account_summary", "daily_source_summary")
BI_VIEWS = VIEWS[1:]


def sql_text(name: str) -> str:
    text = resources.files(__package__).joinpath(f"{name}.sql").read_text()
    return text.replace("{canonical_columns}", ", ".join(FIELD_NAMES)).strip().rstrip(";")


view_sql = sql_text
