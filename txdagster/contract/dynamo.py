"""DynamoDB codec for the lake side: items and stream images to typed canonical rows.

Money stays ``Decimal`` all the way (DynamoDB Number -> Decimal -> Parquet DECIMAL).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from boto3.dynamodb.types import TypeDeserializer

from txdagster.contract.fields import (
    AMOUNT_PRECISION,
    AMOUNT_SCALE,
    ATTRIBUTE_KEY_MAX_LENGTH,
    ATTRIBUTE_VALUE_MAX_LENGTH,
    ATTRIBUTES_MAX_KEYS,
    FIELDS,
    FORBIDDEN_CHARACTERS,
    INTEGER_MAX,
    INTEGER_MIN,
    INTEGER_TEXT_PATTERN,
    Field,
)

_DESERIALIZER = TypeDeserializer()
_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)
_AMOUNT_LIMIT = Decimal(10) ** (AMOUNT_PRECISION - AMOUNT_SCALE)
_DECIMAL_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")  # the form; DECIMAL_PATTERN adds the digit limits
_INTEGER_TEXT = re.compile(INTEGER_TEXT_PATTERN)
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


_KINDS: dict[type[object], str] = {dict: "an object", list: "an array", bool: "a boolean", str: "text"}


def _kind_of(value: object) -> str:
    kind: type[object] = type(value)
    return _KINDS.get(kind, "a number" if isinstance(value, (int, float, Decimal)) else kind.__name__)


def _decimal(f: Field, value: Any) -> Decimal:
    """Decimal text as the contract writes it ("-1234.5"), or a DynamoDB Number (already a Decimal).
    A JSON number is refused even when exact: money never travels as a float."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):  # fullmatch: no line break after it
            raise RecordError(
                f'{f.name}: not decimal text like "-1234.56" (no spaces, exponent or plus sign): {value[:40]!r}'
            )
        if len(value.partition(".")[2]) > AMOUNT_SCALE:  # text says it as the contract does: "12.5", not "12.50000"
            raise RecordError(f"{f.name}: more than {AMOUNT_SCALE} decimal places: {value[:40]}")
        amount = Decimal(value)
    else:
        raise RecordError(f'{f.name}: must be decimal text like "12.50", not {_kind_of(value)}: {str(value)[:40]}')
    if not amount.is_finite():
        raise RecordError(f"{f.name}: not a finite decimal: {value!r}")
    if abs(amount) >= _AMOUNT_LIMIT:
        raise RecordError(f"{f.name}: more than {AMOUNT_PRECISION - AMOUNT_SCALE} integer digits: {str(value)[:40]}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -AMOUNT_SCALE and amount != amount.quantize(_QUANTUM):
        raise RecordError(f"{f.name}: more than {AMOUNT_SCALE} decimal places: {value}")
    return amount


def _integer(f: Field, value: Any) -> int:
    """A JSON integer, integer text (CSV) or an integral DynamoDB Number; never a float."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()) or (
        isinstance(value, str) and _INTEGER_TEXT.fullmatch(value)
    ):
        number = int(value)
    else:
        raise RecordError(f"{f.name}: must be an integer, not {_kind_of(value)}: {str(value)[:40]}")
    if not INTEGER_MIN <= number <= INTEGER_MAX:
        raise RecordError(f"{f.name}: outside {INTEGER_MIN}..{INTEGER_MAX}: {str(value)[:40]}")
    return number


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{name}: must be text, not {_kind_of(value)}: {str(value)[:40]}")
    bad = FORBIDDEN_CHARACTERS.search(value)
    if bad:
        raise RecordError(f"{name}: contains a control or bidirectional-override character (U+{ord(bad.group()):04X})")
    return value


def _map(f: Field, value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        raise RecordError(f"{f.name}: must be an object of text values, not {_kind_of(value)}")
    mapping = cast("dict[Any, Any]", value)  # parsed JSON: what it holds is checked here
    pairs = [(_text(f"{f.name} key", k), _text(f"{f.name}.{k}", v)) for k, v in mapping.items() if v is not None]
    if len(pairs) > ATTRIBUTES_MAX_KEYS:
        raise RecordError(f"{f.name}: {len(pairs)} keys, at most {ATTRIBUTES_MAX_KEYS}")
    for key, text in pairs:
        if len(key) > ATTRIBUTE_KEY_MAX_LENGTH:
            raise RecordError(f"{f.name}: a key of {len(key)} characters, at most {ATTRIBUTE_KEY_MAX_LENGTH}")
        if len(text) > ATTRIBUTE_VALUE_MAX_LENGTH:
            raise RecordError(f"{f.name}.{key}: {len(text)} characters, at most {ATTRIBUTE_VALUE_MAX_LENGTH}")
    return pairs


def _typed(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.kind == "decimal":
        return _decimal(f, value)
    if f.kind == "timestamp":
        if isinstance(value, datetime):  # a typed timestamp (Parquet): it must say where it is in time
            if value.tzinfo is None:
                raise RecordError(f"{f.name}: a timestamp without a time zone: {value.isoformat()}")
            return value.astimezone(UTC)
        try:
            return parse_utc(_text(f.name, value))
        except RecordError as exc:
            raise RecordError(f"{f.name}: {exc}") from exc
    if f.kind == "integer":
        return _integer(f, value)
    if f.kind == "map":
        return _map(f, value)
    return _text(f.name, value)


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
