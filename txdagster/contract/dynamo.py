"""DynamoDB codec for the lake side: items and stream images to typed canonical rows.

Money stays ``Decimal`` all the way (DynamoDB Number -> Decimal -> Parquet DECIMAL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from txdagster.contract.fields import AMOUNT_PRECISION, AMOUNT_SCALE, FIELDS, Field

_DESERIALIZER = TypeDeserializer()
_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
_AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_PRECISION - AMOUNT_SCALE)
#: What a malformed value can raise on its way to a row; the caller turns each into a reject.
VALUE_ERRORS = (ValueError, TypeError, ArithmeticError, RecursionError)


class RecordError(ValueError):
    """A stored record that cannot become a canonical row; the message names the field and why."""


def parse_utc(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RecordError(f"not an ISO 8601 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise RecordError(f"timestamp without a UTC offset: {value!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise RecordError(f"timestamp outside the representable range in UTC: {value!r}") from exc


def _decimal(f: Field, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise RecordError(f"{f.name}: not a decimal: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise RecordError(f"{f.name}: not a decimal: {str(value)[:40]!r}") from exc
    if not amount.is_finite():
        raise RecordError(f"{f.name}: not a finite decimal: {value!r}")
    if abs(amount) >= _AMOUNT_LIMIT:
        raise RecordError(f"{f.name}: more than {AMOUNT_PRECISION - AMOUNT_SCALE} integer digits: {str(value)[:40]}")
    if amount.as_tuple().exponent < -AMOUNT_SCALE and amount != amount.quantize(_QUANTUM):
        raise RecordError(f"{f.name}: more than {AMOUNT_SCALE} decimal places: {value}")
    return amount


def _integer(f: Field, value: Any) -> int:
    if isinstance(value, bool):
        raise RecordError(f"{f.name}: not an integer: {value!r}")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise RecordError(f"{f.name}: not an integer: {str(value)[:40]!r}") from exc
    if not number.is_finite() or number != number.to_integral_value() or abs(number) >= 2**63:
        raise RecordError(f"{f.name}: not an integer in range: {str(value)[:40]}")
    return int(number)


def _typed(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == "decimal":
        return _decimal(f, value)
    if f.kind == "timestamp":
        return parse_utc(str(value))
    if f.kind == "integer":
        return _integer(f, value)
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
