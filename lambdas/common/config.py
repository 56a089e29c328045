"""Resource names for the Lambdas, from the same ``TXD_*`` variables the stack sets on each function."""

from __future__ import annotations

import os


class MissingSetting(RuntimeError):
    pass


def setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(f"TXD_{name.upper()}", default)
    if value is None or value == "":
        if default is not None:
            return default
        raise MissingSetting(f"environment variable TXD_{name.upper()} is not set for this function")
    return value


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
