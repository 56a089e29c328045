"""What the commands print: text for people (rich, imported on first use) or JSON for programs."""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=True)  # a long path or key stays on one line, whole, for copying


def say(text: str) -> None:
    """A line for people; rich markup such as ``[bold]`` is honoured."""
    console().print(text)


def fail(text: str) -> None:
    """A refusal or an error, in red, naming what went wrong."""
    console().print(f"[red]{text}[/]")


def emit_json(value: Any) -> None:
    """JSON on stdout, for programs (dates and decimals as text)."""
    print(json.dumps(value, indent=2, default=str))


def fields(values: dict[str, Any], width: int = 0) -> None:
    """``name: value`` lines, names right-aligned to ``width``."""
    for name, value in values.items():
        say(f"[bold]{name:>{width}}[/]: {value}")


def rows(columns: list[str], values: list[list[Any]]) -> None:
    """A query result as a table, then its row count."""
    from rich.table import Table

    table = Table()
    for name in columns:
        table.add_column(name)
    for row in values:
        table.add_row(*("" if v is None else str(v) for v in row))
    console().print(table)
    say(f"{len(values)} rows")
