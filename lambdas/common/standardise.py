"""Turn a source payload into the canonical transaction by applying a registry mapping.

Each mapping rule names a canonical ``target``, an optional dotted ``source`` path into the payload,
a ``transform`` and its ``args``. Unknown transforms are a registry error, not a payload error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from lambdas.common.currency import minor_unit_exponent


class StandardiseError(ValueError):
    """The payload passed its schema but cannot be mapped; ``field`` names the canonical field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def utc_iso(moment: datetime) -> str:
    """The one textual form of a canonical timestamp: microseconds, UTC, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lookup(payload: dict[str, Any], path: str) -> Any:
    value: Any = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _decimal_text(value: Any) -> str:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal number: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return format(amount, "f")


def _from_epoch(value: Any, divisor: int) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"expected an integer epoch, got {value!r}")
    try:
        return utc_iso(datetime.fromtimestamp(int(value) / divisor, tz=UTC))
    except (OverflowError, OSError) as exc:  # past what the platform's clock can hold, not a time
        raise ValueError(f"epoch {str(value)[:40]} is not a time between the years 1 and 9999") from exc


def normalise_timestamp(value: Any) -> str:
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp has no UTC offset: {value!r}")
    return utc_iso(parsed)


def _string_map(value: Any, args: dict[str, Any]) -> dict[str, str] | None:
    if value is None:
        return None
    if "key" in args:
        return {args["key"]: str(value)}
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {type(value).__name__}")
    return {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}


def _apply(rule: dict[str, Any], payload: dict[str, Any]) -> Any:
    transform = rule["transform"]
    args = rule.get("args", {})
    value = _lookup(payload, rule["source"]) if "source" in rule else None
    if transform == "const":
        return args["value"]
    if value is None and transform != "string_map":
        return None
    match transform:
        case "copy":
            return value
        case "prefix":
            return f"{args['prefix']}{value}"
        case "upper":
            return str(value).upper()
        case "lower":
            return str(value).lower()
        case "decimal":
            return _decimal_text(value)
        case "minor_units":
            currency = str(_lookup(payload, args["currency_field"]) or "")
            exponent = minor_unit_exponent(currency)
            return _decimal_text(Decimal(int(cast(Any, value))).scaleb(-exponent))  # not None: see above
        case "lookup":
            if value not in args["table"]:
                raise ValueError(f"{value!r} has no mapping; expected one of {sorted(args['table'])}")
            return args["table"][value]
        case "epoch_seconds":
            return _from_epoch(value, 1)
        case "epoch_millis":
            return _from_epoch(value, 1000)
        case "iso8601":
            return normalise_timestamp(value)
        case "string_map":
            return _string_map(value, args)
    raise LookupError(f"registry mapping uses unknown transform {transform!r}")


def standardise(payload: dict[str, Any], mapping: list[dict[str, Any]], ingested_at: datetime) -> dict[str, Any]:
    """The canonical record for ``payload``; fields that map to nothing are left out."""
    record: dict[str, Any] = {}
    for rule in mapping:
        try:
            value = _apply(rule, payload)
        except (ValueError, ArithmeticError, OverflowError) as exc:
            raise StandardiseError(rule["target"], str(exc)) from exc
        if value is not None:
            record[rule["target"]] = value
    record["ingested_at"] = utc_iso(ingested_at)
    return record
