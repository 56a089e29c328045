"""The local state folder (``.local/`` by default, ``TXD_HOME`` to move it): Dagster's home and the
running stack's description live together, so they start fresh together (moto keeps no state)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from txdagster.local.emulator import FAKE_CREDENTIALS
from txdagster.settings import Settings, settings_environment

ROOT = Path(__file__).resolve().parents[2]


def home() -> Path:
    return Path(os.environ.get("TXD_HOME") or ROOT / ".local").resolve()


def stack_file() -> Path:
    return home() / "stack.json"


def dagster_home() -> Path:
    return home() / "dagster"


def reset() -> Path:
    """Start fresh: the emulator is in memory, so Dagster's cursors and runs must not outlive it."""
    folder = home()
    if folder.exists():
        shutil.rmtree(folder)
    dagster_home().mkdir(parents=True)
    shutil.copy(ROOT / "dagster.yaml", dagster_home() / "dagster.yaml")
    return folder


def stack_environment(settings: Settings) -> dict[str, str]:
    """What another process needs to talk to the running stack (the emulator takes any credentials)."""
    return {**settings_environment(settings), **FAKE_CREDENTIALS}


def write_stack(settings: Settings, extra: dict[str, object]) -> None:
    stack_file().write_text(json.dumps({"environment": stack_environment(settings), **extra}, indent=2))


def read_stack() -> dict | None:
    """The running stack's record, or None (none written, or a file cut short by a killed process)."""
    path = stack_file()
    try:
        stack = json.loads(path.read_text()) if path.exists() else None
    except (json.JSONDecodeError, OSError):
        return None
    return stack if isinstance(stack, dict) and isinstance(stack.get("environment"), dict) else None


def forget_stack() -> None:
    stack_file().unlink(missing_ok=True)
