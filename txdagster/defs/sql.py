"""Athena (Trino) SQL kept in ``<name>.sql`` files beside the definitions that run it. ``{canonical_columns}``
is filled from the contract, so no column list is written twice."""

from __future__ import annotations

from importlib import resources

from txdagster.contract.fields import FIELD_NAMES


def sql_text(package: str, name: str) -> str:
    """The statement in ``<name>.sql`` of ``package``, without its final semicolon."""
    text = resources.files(package).joinpath(f"{name}.sql").read_text()
    return text.replace("{canonical_columns}", ", ".join(FIELD_NAMES)).strip().rstrip(";")
