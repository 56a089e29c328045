"""boto3 clients made once per process; ``AWS_ENDPOINT_URL`` (set by the local stack) is honoured."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from lambdas.common.config import region


@cache
def client(service: str) -> Any:
    make: Any = boto3.client  # the service is named at run time: the stubs' overloads by literal name do not apply
    return make(service, region_name=region(), endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


@cache
def table(name: str) -> Any:
    resource = boto3.resource("dynamodb", region_name=region(), endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    return resource.Table(name)


def reset_clients() -> None:
    """Forget cached clients (the local stack calls this when it points the functions elsewhere)."""
    client.cache_clear()
    table.cache_clear()
