"""Source-system payload schemas and their mappings to the canonical transaction.

Each (subject, version) pair is published to the DynamoDB schema registry; the ``source_validator``
Lambda reads it from there at run time. A mapping is a list of rules, each producing one canonical
field from the payload with a named transform (implemented in ``lambdas/common/standardise.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from txdagster.contract.fields import FIELD_NAMES, STATUSES, TRANSACTION_TYPES

CANONICAL_SUBJECT = "canonical"


@dataclass(frozen=True)
class SourceSchema:
    subject: str
    version: int
    description: str
    json_schema: dict[str, Any]
    mapping: list[dict[str, Any]]
    #: still accepted, but its messages are counted (metric DeprecatedSchemaMessages) until producers move on
    deprecated: bool = False
    #: the canonical field that orders the source's states of one transaction: a message for a stored
    #: transaction with other content is an update when this is later, stale otherwise
    ordering: str = "event_time"
    #: the source's state machine in canonical statuses, earliest first (a tier holds states that no
    #: state of its own tier follows): two states of one transaction at the same ``ordering`` time are
    #: told apart by it, the later tier being the newer state
    state_order: tuple[tuple[str, ...], ...] = ()


#: pending -> authorized -> settled | failed | cancelled -> reversed: how every source here moves
#: (a payment is captured before it is refunded, a CRM record posted before it is reversed).
LIFECYCLE = (("pending",), ("authorized",), ("settled", "failed", "cancelled"), ("reversed",))


def _rule(target: str, transform: str, source: str | None = None, **args: Any) -> dict[str, Any]:
    if target not in FIELD_NAMES:
        raise KeyError(f"mapping target {target!r} is not a canonical field")
    rule: dict[str, Any] = {"target": target, "transform": transform}
    if source is not None:
        rule["source"] = source
    if args:
        rule["args"] = args
    return rule


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


_STR = {"type": "string", "minLength": 1, "maxLength": 128}
_CURRENCY = {"type": "string", "pattern": "^[A-Za-z]{3}$"}
_DECIMAL_TEXT = {"type": "string", "pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$"}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}

PAYMENTS_V1 = SourceSchema(
    subject="payments",
    version=1,
    description="Card and wallet payments: amount in minor units, epoch-millisecond timestamps.",
    state_order=LIFECYCLE,  # captured < refunded, whatever the clock says
    json_schema=_object(
        {
            "payment_id": _STR,
            "merchant_account": _STR,
            "payer": {"type": "string", "maxLength": 256},
            "amount_minor": {"type": "integer"},
            "currency": _CURRENCY,
            "kind": {"enum": ["payment", "refund", "fee"]},
            "state": {"enum": ["pending", "authorized", "captured", "declined", "refunded", "voided"]},
            "created_at_ms": {"type": "integer", "minimum": 0},
            "metadata": _STRING_MAP,
        },
        ["payment_id", "merchant_account", "amount_minor", "currency", "kind", "state", "created_at_ms"],
    ),
    mapping=[
        _rule("transaction_id", "prefix", "payment_id", prefix="payments:"),
        _rule("source_system", "const", value="payments"),
        _rule("account_id", "copy", "merchant_account"),
        _rule("counterparty", "copy", "payer"),
        _rule("currency", "upper", "currency"),
        _rule("amount", "minor_units", "amount_minor", currency_field="currency"),
        _rule("transaction_type", "copy", "kind"),
        _rule(
            "status",
            "lookup",
            "state",
            table={
                "pending": "pending",
                "authorized": "authorized",
                "captured": "settled",
                "declined": "failed",
                "refunded": "reversed",
                "voided": "cancelled",
            },
        ),
        _rule("event_time", "epoch_millis", "created_at_ms"),
        _rule("attributes", "string_map", "metadata"),
    ],
)

CRM_V1 = SourceSchema(
    subject="crm",
    version=1,
    description="CRM deposits and adjustments: nested customer, decimal text amount, ISO times with offsets.",
    state_order=LIFECYCLE,
    json_schema=_object(
        {
            "crmRecordId": _STR,
            "customer": {
                "type": "object",
                "properties": {"accountNumber": _STR, "displayName": {"type": "string", "maxLength": 256}},
                "required": ["accountNumber"],
            },
            "value": _DECIMAL_TEXT,
            "currencyCode": _CURRENCY,
            "recordType": {"enum": ["DEPOSIT", "WITHDRAWAL", "ADJUSTMENT", "FEE"]},
            "stage": {"enum": ["OPEN", "APPROVED", "POSTED", "REJECTED", "CANCELLED"]},
            "occurredAt": {"type": "string", "format": "date-time", "minLength": 20},
            "tags": _STRING_MAP,
        },
        ["crmRecordId", "customer", "value", "currencyCode", "recordType", "stage", "occurredAt"],
    ),
    mapping=[
        _rule("transaction_id", "prefix", "crmRecordId", prefix="crm:"),
        _rule("source_system", "const", value="crm"),
        _rule("account_id", "copy", "customer.accountNumber"),
        _rule("counterparty", "copy", "customer.displayName"),
        _rule("currency", "upper", "currencyCode"),
        _rule("amount", "decimal", "value"),
        _rule("transaction_type", "lower", "recordType"),
        _rule(
            "status",
            "lookup",
            "stage",
            table={
                "OPEN": "pending",
                "APPROVED": "authorized",
                "POSTED": "settled",
                "REJECTED": "failed",
                "CANCELLED": "cancelled",
            },
        ),
        _rule("event_time", "iso8601", "occurredAt"),
        _rule("attributes", "string_map", "tags"),
    ],
)

TRADING_V1 = SourceSchema(
    subject="trading",
    version=1,
    description="Trade executions: side BUY/SELL, notional as decimal text, epoch-second timestamps.",
    state_order=LIFECYCLE,
    json_schema=_object(
        {
            "tradeRef": _STR,
            "book": _STR,
            "cpty": {"type": "string", "maxLength": 256},
            "notional": _DECIMAL_TEXT,
            "ccy": _CURRENCY,
            "side": {"enum": ["BUY", "SELL"]},
            "execStatus": {"enum": ["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED"]},
            "execTs": {"type": "integer", "minimum": 0},
            "venue": {"type": "string", "maxLength": 32},
        },
        ["tradeRef", "book", "notional", "ccy", "side", "execStatus", "execTs"],
    ),
    mapping=[
        _rule("transaction_id", "prefix", "tradeRef", prefix="trading:"),
        _rule("source_system", "const", value="trading"),
        _rule("account_id", "copy", "book"),
        _rule("counterparty", "copy", "cpty"),
        _rule("currency", "upper", "ccy"),
        _rule("amount", "decimal", "notional"),
        _rule("transaction_type", "lookup", "side", table={"BUY": "trade_buy", "SELL": "trade_sell"}),
        _rule(
            "status",
            "lookup",
            "execStatus",
            table={
                "NEW": "pending",
                "PARTIALLY_FILLED": "authorized",
                "FILLED": "settled",
                "CANCELED": "cancelled",
                "REJECTED": "failed",
            },
        ),
        _rule("event_time", "epoch_seconds", "execTs"),
        _rule("attributes", "string_map", "venue", key="venue"),
    ],
)

SOURCE_SCHEMAS: tuple[SourceSchema, ...] = (PAYMENTS_V1, CRM_V1, TRADING_V1)


def _check_mappings() -> None:
    """Fail at import if a mapping could produce a value outside the canonical enums, or a state order
    names another or one status twice."""
    for schema in SOURCE_SCHEMAS:
        ordered = [status for tier in schema.state_order for status in tier]
        if len(ordered) != len(set(ordered)) or not set(ordered) <= set(STATUSES):
            raise ValueError(f"{schema.subject} v{schema.version}: state_order must name canonical statuses once")
        for rule in schema.mapping:
            table = rule.get("args", {}).get("table")
            allowed = {"status": STATUSES, "transaction_type": TRANSACTION_TYPES}.get(rule["target"])
            if table and allowed and not set(table.values()) <= set(allowed):
                raise ValueError(f"{schema.subject} v{schema.version}: {rule['target']} maps outside {allowed}")


_check_mappings()
