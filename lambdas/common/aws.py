"""boto3 clients made once per process; ``AWS_ENDPOINT_URL`` (set by the local stack) is honoured."""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any

import boto3

from lambdas.common.config import region

#: boto3's default session is not safe to make clients from in several threads at once (a handler's
#: threads may ask for their first client together): one at a time.
_making = threading.Lock()


@cache
def client(service: str) -> Any:
    make: Any = boto3.client  # the service is named at run time: the stubs' overloads by literal name do not apply
    with _making:
        return make(service, region_name=region(), endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


@cache
def table(name: str) -> Any:
    with _making:
        resource = boto3.resource("dynamodb", region_name=region(), endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    return resource.Table(name)


def reset_clients() -> None:
    """Forget cached clients (the local stack calls this when it points the functions elsewhere)."""
    client.cache_clear()
    table.cache_clear()
