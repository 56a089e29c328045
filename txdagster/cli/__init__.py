"""The ``txdagster`` command. Each subcommand lives in the module of its group (``local``, ``lake``,
``deploy``) and imports what it uses when it runs, so ``--help`` and the quick commands start at once."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from txdagster.cli import deploy, lake, local, output
from txdagster.cli.targets import CannotRun

#: Commands that serve the local stack; the others work on the environment's AWS unless given --local.
LOCAL_COMMANDS = ("info", "token")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("txdagster")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="txdagster",
        usage="txdagster [-h] [--version] COMMAND ...",
        description="Real-time transactional data on AWS (SQS, API Gateway, DynamoDB, Glue, Athena) with Dagster.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"txdagster {_version()}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS, prog="txdagster"
    )
    groups = [module.register(sub) for module in (local, lake, deploy)]
    width = max(len(name) for group in groups for name, _ in group.commands)
    parser.epilog = "\n\n".join(group.listing(width) for group in groups) + (
        "\n\n`txdagster COMMAND --help` describes a command and its exit status. The lake and deploy commands "
        "talk to the AWS account of the environment (credentials, AWS_REGION, TXD_* names) unless given --local."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CannotRun as exc:
        output.fail(str(exc))
        return 2
    except Exception as exc:
        if not isinstance(exc, _unreachable()):
            raise
        output.fail(f"{_silent_endpoint(args)} does not answer ({type(exc).__name__}: {str(exc)[:200]}).")
        output.say(
            "A stopped or killed local stack: start one with `txdagster up`; for AWS, check the credentials "
            "and the region."
        )
        return 2


def _silent_endpoint(args: argparse.Namespace) -> str:
    """Whom the command talked to: the local stack when asked for it (or serving it while one is recorded),
    else the environment's AWS."""
    asked = getattr(args, "local", False)
    if asked or args.command in LOCAL_COMMANDS:
        from txdagster.local import state  # the embedded stack: not in the production image

        if asked or state.read_stack():
            return f"the local stack in {state.stack_file()}"
    return "the environment's AWS endpoint"


def _unreachable() -> tuple[type[BaseException], ...]:
    """Errors that mean nobody answers at the endpoint (imported only when one happened)."""
    import urllib.error

    import botocore.exceptions

    return (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectionClosedError,
        ConnectionError,
        urllib.error.URLError,
    )


if __name__ == "__main__":
    sys.exit(main())
