"""Schema registry lookups: compiled validators and mappings, cached per (subject, version)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import fastjsonschema

from lambdas.common import aws
from lambdas.common.config import setting

CACHE_SECONDS = 300


class SchemaNotFound(LookupError):
    pass


@dataclass(frozen=True)
class RegisteredSchema:
    subject: str
    version: int
    status: str
    validate: Any
    mapping: list[dict[str, Any]]
    ordering: str | None = None  # the canonical field that orders a source's states of one transaction
    #: canonical status -> its tier in the source's state machine: orders two states at the same time
    state_rank: dict[str, int] | None = None
    document: dict[str, Any] | None = None  # the JSON Schema itself, as published


_cache: dict[tuple[str, int], tuple[float, RegisteredSchema]] = {}


def get_schema(subject: str, version: int) -> RegisteredSchema:
    """The ACTIVE or DEPRECATED schema for ``subject`` at ``version``; raises SchemaNotFound otherwise."""
    key = (subject, version)
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    item = (
        aws.table(setting("registry_table"))
        .get_item(Key={"subject": subject, "version": version}, ConsistentRead=True)
        .get("Item")
    )
    if not item or item.get("status") not in ("ACTIVE", "DEPRECATED"):
        raise SchemaNotFound(f"no active schema registered for subject {subject!r} version {version}")
    schema = RegisteredSchema(
        subject=subject,
        version=int(item["version"]),
        status=str(item["status"]),
        validate=fastjsonschema.compile(document := json.loads(item["schema"])),
        mapping=json.loads(item.get("mapping") or "[]"),
        ordering=item.get("ordering"),
        state_rank={
            status: tier
            for tier, statuses in enumerate(json.loads(item.get("state_order") or "[]"))
            for status in statuses
        },
        document=document,
    )
    _cache[key] = (time.monotonic(), schema)
    return schema
