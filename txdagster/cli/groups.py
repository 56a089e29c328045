"""How commands are declared: each belongs to a group of the top-level help, says whom it talks to, and
lists its exit codes in its own ``--help``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

Command = Callable[[argparse.Namespace], int]

DONE = "0  done"
REFUSED = "2  refused: bad arguments, no local stack recorded, or nobody answers at the endpoint"


@dataclass
class Group:
    title: str
    commands: list[tuple[str, str]] = field(default_factory=list)

    def add(
        self,
        sub: argparse._SubParsersAction,
        name: str,
        summary: str,
        run: Command,
        *,
        description: str = "",
        exits: tuple[str, ...] = (DONE, REFUSED),
    ) -> argparse.ArgumentParser:
        """A subcommand: ``summary`` in the top-level list, ``description`` and the exit codes in its help."""
        parser = sub.add_parser(
            name,
            help=summary,
            description=description or summary,
            epilog="exit status:\n" + "\n".join(f"  {line}" for line in exits),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.set_defaults(func=run)
        self.commands.append((name, summary))
        return parser

    def listing(self, width: int) -> str:
        lines = [f"{self.title}:"]
        lines += [f"  {name:<{width}}  {summary}" for name, summary in self.commands]
        return "\n".join(lines)
