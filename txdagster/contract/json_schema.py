"""The canonical JSON Schema, derived from ``FIELDS``; published to the registry for the Lambdas."""

from __future__ import annotations

from typing import Any

from txdagster.contract.fields import (
    ATTRIBUTE_KEY_MAX_LENGTH,
    ATTRIBUTE_VALUE_MAX_LENGTH,
    ATTRIBUTES_MAX_KEYS,
    FIELDS,
    FREE_TEXT_PATTERN,
    INTEGER_MAX,
    INTEGER_MIN,
    Field,
)

_TYPES = {"string": "string", "decimal": "string", "timestamp": "string", "integer": "integer", "map": "object"}


def _property(f: Field) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": _TYPES[f.kind], "description": f.description}
    if f.pattern:
        prop["pattern"] = f.pattern
    if f.enum:
        prop["enum"] = list(f.enum)
    if f.max_length:
        prop["maxLength"] = f.max_length
    if f.min_length:
        prop["minLength"] = f.min_length
    if f.kind == "integer":
        prop["minimum"], prop["maximum"] = INTEGER_MIN, INTEGER_MAX
    if f.kind == "map":
        prop["additionalProperties"] = {
            "type": "string",
            "maxLength": ATTRIBUTE_VALUE_MAX_LENGTH,
            "pattern": FREE_TEXT_PATTERN,
        }
        prop["propertyNames"] = {"maxLength": ATTRIBUTE_KEY_MAX_LENGTH, "pattern": FREE_TEXT_PATTERN}
        prop["maxProperties"] = ATTRIBUTES_MAX_KEYS
    if not f.required:
        prop["type"] = [prop["type"], "null"]
    return prop


def canonical_json_schema() -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "CanonicalTransaction",
        "type": "object",
        "properties": {f.name: _property(f) for f in FIELDS},
        "required": [f.name for f in FIELDS if f.required and not f.server_managed],
        "additionalProperties": False,
    }
