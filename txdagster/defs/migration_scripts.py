"""Dagster instances made in this process read alembic's migration scripts once, not at every sensor tick.

A sensor that uses its context's instance or resources gets a fresh ``DagsterInstance`` at every
evaluation; each of its SQLite storages checks the database's alembic revision against the scripts'
head, and Dagster (``dagster._core.storage.sql.check_alembic_revision``) builds a new
``ScriptDirectory`` for that, which reads and executes every migration script from disk. Measured with
py-spy on an idle ``txdagster up``: a quarter of the code server's CPU. The scripts do not change while
the process runs, so one ``ScriptDirectory`` per script location answers every check.

Installed from ``definitions.py`` (the code server, its runs, anything that loads the definitions);
checked against the pinned Dagster by ``tests/unit/test_migration_scripts.py``.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_directories: dict[tuple[str | None, str | None], Any] = {}


class _ReadOnce:
    """Stands for ``ScriptDirectory`` in Dagster's ``sql`` module, whose one use of it is
    ``from_config``: the directory of a script location, made the first time it is asked for."""

    @staticmethod
    def from_config(config: Any) -> Any:
        from alembic.script import ScriptDirectory

        key = (config.get_main_option("script_location"), config.get_main_option("version_locations"))
        with _lock:
            if key not in _directories:
                _directories[key] = ScriptDirectory.from_config(config)
            return _directories[key]


def install() -> None:
    """Idempotent."""
    from dagster._core.storage import sql

    sql.ScriptDirectory = _ReadOnce  # type: ignore[attr-defined]
