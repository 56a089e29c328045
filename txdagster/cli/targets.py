"""Which AWS a command talks to: the running local stack (from ``.local/stack.json``) or the environment's.

The operator commands work on the environment's AWS unless given ``--local``, so a production shell that
once ran ``make run`` cannot hit a stale local stack by mistake; the local-stack commands read the state
file.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from txdagster.settings import Settings


class CannotRun(RuntimeError):
    """A command cannot run as asked: no local stack is recorded, or the environment names no lake bucket."""


def stack_settings() -> Settings:
    """Settings of the running local stack, else of the environment (``send``, ``info``, ``token``)."""
    from txdagster.local import state
    from txdagster.settings import load_settings

    stack = state.read_stack()
    if stack:
        os.environ.update(stack["environment"])
    return load_settings()


def target_settings(args: argparse.Namespace) -> Settings:
    """Settings of the environment (AWS, or whatever it names); those of the running local stack only when
    ``--local`` asks for them."""
    from txdagster.settings import load_settings

    if args.local:
        from txdagster.local import state  # the embedded stack: not in the production image

        stack = state.read_stack()
        if not stack:
            raise CannotRun(
                f"--local: no local stack is recorded in {state.stack_file()}; start one with `txdagster up`"
            )
        os.environ.update(stack["environment"])
    settings = load_settings()
    if not settings.lake_bucket and not args.local:
        raise CannotRun(
            "TXD_LAKE_BUCKET is not set: export it from the data plane stack's LakeBucketName output "
            "(or give --local to work on the running local stack)"
        )
    return settings


def add_local_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local", action="store_true", help="work on the running local stack (.local/stack.json), not AWS"
    )
