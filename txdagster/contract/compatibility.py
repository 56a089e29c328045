"""Is a new version of a source's JSON Schema backward compatible with the one before it?

Compatible means every message the old version accepted is still accepted: the new version may add
optional fields and widen limits, never remove a field, require a new one, drop a type or an enum
value, tighten a length, bound or pattern, or close an open object. ``breaking_changes`` names each
such change by its path (``payload.customer.accountNumber: maxLength 64 -> 32``).
"""

from __future__ import annotations

from typing import Any

#: Limits that may only grow, and those that may only shrink, in a compatible version.
_MAY_GROW = ("maxLength", "maximum", "maxItems", "maxProperties", "exclusiveMaximum")
_MAY_SHRINK = ("minLength", "minimum", "minItems", "minProperties", "exclusiveMinimum")


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if kind is None:
        return {"any"}
    return {kind} if isinstance(kind, str) else set(kind)


def breaking_changes(old: dict[str, Any], new: dict[str, Any], path: str = "payload") -> list[str]:
    """What a reader of ``old`` data would trip over in ``new``: this node's value rules, its fields, and the
    same for every nested schema."""
    return [*_value_changes(old, new, path), *_field_changes(old, new, path), *_nested_changes(old, new, path)]


def _value_changes(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    """Types, enums, patterns, formats and limits that admit less than before."""
    changes: list[str] = []
    old_types, new_types = _types(old), _types(new)
    if "any" not in new_types and not old_types <= new_types:
        changes.append(f"{path}: type {sorted(old_types)} -> {sorted(new_types)}")
    if "enum" in new and not set(old.get("enum", new["enum"])) <= set(new["enum"]):
        gone = sorted(map(str, set(old.get("enum", [])) - set(new["enum"])))
        changes.append(f"{path}: enum loses {', '.join(gone) if gone else 'its openness'}")
    for rule in ("pattern", "format"):
        if new.get(rule) not in (None, old.get(rule)):
            changes.append(f"{path}: {rule} {old.get(rule)!r} -> {new[rule]!r}")
    for limit in _MAY_GROW:
        if limit in new and (limit not in old or new[limit] < old[limit]):
            changes.append(f"{path}: {limit} {old.get(limit, 'none')} -> {new[limit]}")
    for limit in _MAY_SHRINK:
        if limit in new and (limit not in old or new[limit] > old[limit]):
            changes.append(f"{path}: {limit} {old.get(limit, 'none')} -> {new[limit]}")
    return changes


def _field_changes(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    """Fields removed from a closed object, newly required, or an object closed to other fields."""
    changes: list[str] = []
    old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
    for name in sorted(set(old_properties) - set(new_properties)):
        if new.get("additionalProperties", True) is False:
            changes.append(f"{path}.{name}: removed")
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        changes.append(f"{path}.{name}: now required")
    if old.get("additionalProperties", True) is not False and new.get("additionalProperties", True) is False:
        extra = sorted(set(new_properties) - set(old_properties))
        changes.append(f"{path}: closed to other fields" + (f" (new: {', '.join(extra)})" if extra else ""))
    return changes


def _nested_changes(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    changes: list[str] = []
    old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
    for name in sorted(set(old_properties) & set(new_properties)):
        changes += breaking_changes(old_properties[name], new_properties[name], f"{path}.{name}")
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        changes += breaking_changes(old["items"], new["items"], f"{path}[]")
    if isinstance(old.get("additionalProperties"), dict) and isinstance(new.get("additionalProperties"), dict):
        changes += breaking_changes(old["additionalProperties"], new["additionalProperties"], f"{path}.*")
    return changes
