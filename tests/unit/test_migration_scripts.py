"""Dagster's storages read alembic's migration scripts once per process (defs/migration_scripts.py):
checked against the pinned Dagster, whose revision check must still build its directory through
``ScriptDirectory.from_config`` in ``dagster._core.storage.sql``."""

from __future__ import annotations

import inspect

from alembic.script import ScriptDirectory
from dagster import DagsterInstance
from dagster._core.storage import sql
from dagster._core.storage.runs.sqlite import sqlite_run_storage

from txdagster.defs import migration_scripts


def test_the_revision_check_builds_its_scripts_through_the_name_that_is_replaced():
    assert "ScriptDirectory.from_config(alembic_config)" in inspect.getsource(sql.check_alembic_revision)


def test_instances_check_their_revision_against_one_directory_with_alembics_own_head(tmp_path):
    migration_scripts.install()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = DagsterInstance.local_temp(str(tmp_path / "a"))
    second = DagsterInstance.local_temp(str(tmp_path / "b"))  # a fresh SQLite database: migrated to head
    try:
        db_revision, head = second.run_storage.alembic_version()  # pyright: ignore[reportAttributeAccessIssue]
        config = sql.get_alembic_config(sqlite_run_storage.__file__)
        assert head == ScriptDirectory.from_config(config).as_revision_number("head")  # read afresh
        assert db_revision == head  # the new database is at the scripts' head
        assert sql.ScriptDirectory.from_config(config) is sql.ScriptDirectory.from_config(config)
        assert len(migration_scripts._directories) >= 1
    finally:
        first.dispose()
        second.dispose()
