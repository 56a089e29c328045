"""Decide what a source message is: a canonical transaction, or a rejection with a specific reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastjsonschema import JsonSchemaValueException

from lambdas.common import strict_json
from lambdas.common.registry import SchemaNotFound, get_schema
from lambdas.common.standardise import StandardiseError, standardise


@dataclass(frozen=True)
class Rejection:
    code: str
    detail: str
    source_system: str = "unknown"
    schema_version: str = "unknown"


@dataclass(frozen=True)
class Accepted:
    record: dict[str, Any]
    source_system: str
    schema_version: int
    deprecated: bool = False  # the registry marks this schema version DEPRECATED
    ordering: str | None = None  # the field that says which of two states of a transaction is newer
    state_rank: dict[str, int] | None = None  # and, at the same time, the status's tier in the source's lifecycle


MAX_SCHEMA_VERSION = 10**6  # a registry key DynamoDB can hold; no source has near as many versions


def classify(body: str, now: datetime | None = None) -> Accepted | Rejection:
    """Parse the envelope ``{"source_system", "schema_version", "payload"}``, validate, standardise."""
    try:
        envelope = strict_json.loads(body)
    except strict_json.RepeatedKey as exc:
        return Rejection("MALFORMED_JSON", f"message body repeats the key {str(exc)[:100]!r} in one object")
    except json.JSONDecodeError as exc:
        return Rejection("MALFORMED_JSON", f"message body is not JSON: {exc.msg} at position {exc.pos}")
    except RecursionError:
        return Rejection("MALFORMED_JSON", "message body is nested too deeply to be a transaction")
    if not isinstance(envelope, dict):
        return Rejection("BAD_ENVELOPE", "message body must be a JSON object")
    source = envelope.get("source_system")
    version = envelope.get("schema_version")
    payload = envelope.get("payload")
    if not isinstance(source, str) or not source:
        return Rejection("BAD_ENVELOPE", "envelope field 'source_system' is missing or not a string")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_SCHEMA_VERSION:
        return Rejection(
            "BAD_ENVELOPE",
            f"envelope field 'schema_version' must be an integer from 1 to "
            f"{MAX_SCHEMA_VERSION}, got {str(version)[:40]}",
            source,
        )
    if not isinstance(payload, dict):
        return Rejection("BAD_ENVELOPE", "envelope field 'payload' must be an object", source, str(version))
    try:
        schema = get_schema(source, version)
    except SchemaNotFound as exc:
        return Rejection("UNKNOWN_SCHEMA", str(exc), source, str(version))
    try:
        schema.validate(payload)
    except JsonSchemaValueException as exc:
        return Rejection("SCHEMA_MISMATCH", f"payload {exc.message}", source, str(version))
    try:
        record = standardise(payload, schema.mapping, now or datetime.now(UTC))
    except StandardiseError as exc:
        return Rejection("MAPPING_FAILED", str(exc), source, str(version))
    return Accepted(
        record,
        source,
        version,
        deprecated=schema.status == "DEPRECATED",
        ordering=schema.ordering,
        state_rank=schema.state_rank,
    )
