"""The one place boto3 clients and the pyarrow S3 filesystem are made from ``Settings``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from pyarrow import fs

from txdagster.settings import Settings


def client(service: str, settings: Settings) -> Any:
    return boto3.client(service, region_name=settings.region, endpoint_url=settings.endpoint_url or None)


def resource(service: str, settings: Settings) -> Any:
    return boto3.resource(service, region_name=settings.region, endpoint_url=settings.endpoint_url or None)


def credentials(settings: Settings) -> tuple[str, str, str | None] | None:
    """boto3's current (access key, secret key, session token), for clients that are not boto3's."""
    found = boto3.Session(region_name=settings.region).get_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


def s3_filesystem(settings: Settings) -> fs.S3FileSystem:
    """pyarrow's S3 filesystem with boto3's credentials, pointed at the emulator when one is set."""
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
