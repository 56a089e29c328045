"""JSON as the contract reads it: an object never repeats a key (``json`` would keep the last one)."""

from __future__ import annotations

import json
from typing import Any


class RepeatedKey(ValueError):
    """An object of the document names this key twice."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise RepeatedKey(key)
        seen[key] = value
    return seen


def loads(text: str | bytes) -> Any:
    """``json.loads`` that raises ``RepeatedKey`` (and, as it does, ``JSONDecodeError`` and, for a
    document nested too deeply, ``RecursionError``)."""
    return json.loads(text, object_pairs_hook=_object)
