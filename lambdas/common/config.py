"""Resource names for the Lambdas, from the same ``TXD_*`` variables the stack sets on each function.

In Lambda a function's environment is its process's. The local runtime runs every function in one
process, so it hands each invocation its function's own environment (``invocation_environment``):
a variable missing from a function's configuration is missing locally too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_invocation: ContextVar[Mapping[str, str] | None] = ContextVar("txd_invocation_environment", default=None)


class MissingSetting(RuntimeError):
    pass


@contextmanager
def invocation_environment(environment: Mapping[str, str]) -> Iterator[None]:
    """Run the body with ``environment`` as the function's variables (the local runtime's per call)."""
    token = _invocation.set(environment)
    try:
        yield
    finally:
        _invocation.reset(token)


def setting(name: str, default: str | None = None) -> str:
    environment = _invocation.get()
    value = (os.environ if environment is None else environment).get(f"TXD_{name.upper()}", default)
    if value is None or value == "":
        if default is not None:
            return default
        raise MissingSetting(f"environment variable TXD_{name.upper()} is not set for this function")
    return value


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1"
