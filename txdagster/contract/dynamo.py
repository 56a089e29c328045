"""DynamoDB codec for the lake side: items and stream images to typed canonical rows.

Money stays ``Decimal`` all the way (DynamoDB Number -> Decimal -> Parquet DECIMAL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from txdagster.contract.fields import AMOUNT_SCALE, FIELDS, Field

_DESERIALIZER = TypeDeserializer()
_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)


class RecordError(ValueError):
    """A stored record that cannot become a canonical row; the message names the field and why."""


def parse_utc(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecordError(f"not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise RecordError(f"timestamp without a UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def _typed(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == "decimal":
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise RecordError(f"{f.name}: not a decimal: {value!r}") from exc
        if amount != amount.quantize(_QUANTUM):
            raise RecordError(f"{f.name}: more than {AMOUNT_SCALE} decimal places: {value}")
        return amount
    if f.kind == "timestamp":
        return parse_utc(str(value))
    if f.kind == "integer":
        return int(value)
    if f.kind == "map":
        if not isinstance(value, dict):
            raise RecordError(f"{f.name}: expected a map, got {type(value).__name__}")
        return [(str(k), None if v is None else str(v)) for k, v in value.items()]
    return str(value)


def item_to_row(item: dict[str, Any]) -> dict[str, Any]:
    """A deserialised DynamoDB item (or canonical JSON record) as a row for the arrow schema."""
    row: dict[str, Any] = {}
    for f in FIELDS:
        value = _typed(f, item.get(f.name))
        if value is None and f.required:
            raise RecordError(f"{f.name}: required but missing")
        row[f.name] = value
    return row


def deserialize_image(image: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB-JSON (``{"S": ...}``) to plain Python values (numbers as Decimal)."""
    return {name: _DESERIALIZER.deserialize(value) for name, value in image.items()}
