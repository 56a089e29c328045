"""The Athena views, one ``<name>.sql`` file each beside this module."""

from __future__ import annotations

from txdagster.defs.sql import sql_text

#: The Athena views, in the order they build on each other; the BI views read the current table.
VIEWS = ("transactions_current_from_log", "transactions_unified", "daily_account_summary", "daily_source_summary")


def view_sql(name: str) -> str:
    return sql_text(__name__.rpartition(".")[0], name)
