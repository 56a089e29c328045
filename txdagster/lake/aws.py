"""The one place boto3 clients and the pyarrow S3 filesystem are made from ``Settings``.

Clients are made once per process (boto3 clients are thread-safe; making one costs 20-40 ms of CPU,
and a short ingest run used to make a dozen); resources, which are not thread-safe, once per thread.
Both are kept by service, region, endpoint and the ``AWS_*`` environment they read when made.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import boto3

from txdagster.settings import Settings

if TYPE_CHECKING:
    from pyarrow import fs

#: the service is named at run time: boto3-stubs' overloads by literal service name do not apply here
_make_client: Any = boto3.client  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
_make_resource: Any = boto3.resource  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
_made = threading.Lock()  # boto3's default session is not safe to make clients from in several threads
_clients: dict[tuple[object, ...], Any] = {}


class _Resources(threading.local):
    """Each thread's resources (boto3 resources are not thread-safe), of one generation of clients."""

    generation = -1
    made: dict[tuple[object, ...], Any]


_resources = _Resources()
_generation = [0]  # forget_clients() starts a new one


def _key(service: str, settings: Settings) -> tuple[object, ...]:
    read_when_made = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))
    return _generation[0], service, settings.region, settings.endpoint_url or None, read_when_made


def client(service: str, settings: Settings) -> Any:
    key = _key(service, settings)
    found = _clients.get(key)
    if found is None:
        with _made:
            found = _clients.get(key)
            if found is None:
                found = _clients[key] = _make_client(
                    service, region_name=settings.region, endpoint_url=settings.endpoint_url or None
                )
    return found


def resource(service: str, settings: Settings) -> Any:
    key = _key(service, settings)
    if _resources.generation != _generation[0]:
        _resources.made, _resources.generation = {}, _generation[0]
    made = _resources.made
    if key not in made:
        with _made:
            made[key] = _make_resource(service, region_name=settings.region, endpoint_url=settings.endpoint_url or None)
    return made[key]


def forget_clients() -> None:
    """Make clients afresh from now on: they copy the default session's event hooks when made (tests
    that inject a service's failure through those hooks call this before and after)."""
    with _made:
        _clients.clear()
        _generation[0] += 1


def credentials(settings: Settings) -> tuple[str, str, str | None] | None:
    """boto3's current (access key, secret key, session token), for clients that are not boto3's."""
    found = boto3.Session(region_name=settings.region).get_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    if frozen.access_key is None or frozen.secret_key is None:
        return None
    return frozen.access_key, frozen.secret_key, frozen.token


def s3_filesystem(settings: Settings) -> fs.S3FileSystem:
    """pyarrow's S3 filesystem with boto3's credentials, pointed at the emulator when one is set."""
    from pyarrow import fs  # imported by what reads the lake, not by every command that talks to AWS

    found = credentials(settings)
    options: dict[str, Any] = {"region": settings.region}
    if found is not None:
        options.update(access_key=found[0], secret_key=found[1], session_token=found[2])
    if settings.endpoint_url:
        parsed = urlparse(settings.endpoint_url)
        options.update(endpoint_override=parsed.netloc, scheme=parsed.scheme or "http")
    return fs.S3FileSystem(**options)


def s3_publisher(settings: Settings) -> Callable[[Path, str], int]:
    """Publish a finished local file at a key of the lake bucket. boto3 uploads big files in parts and
    the object appears only when the upload completes (a failed upload is aborted): readers see the
    whole file or none. The stored size is checked before the file counts as published."""
    s3 = client("s3", settings)

    def publish(path: Path, key: str) -> int:
        s3.upload_file(str(path), settings.lake_bucket, key)
        stored = s3.head_object(Bucket=settings.lake_bucket, Key=key)["ContentLength"]
        if stored != path.stat().st_size:
            raise OSError(f"s3://{settings.lake_bucket}/{key} holds {stored} bytes of the {path.stat().st_size} sent")
        return stored

    return publish
