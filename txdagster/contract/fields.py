"""The canonical transaction, declared once. Every other representation is derived from ``FIELDS``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "decimal", "timestamp", "integer", "map"]

AMOUNT_PRECISION = 19
AMOUNT_SCALE = 4
#: A decimal amount as text: never a float on the wire. Up to 15 integer digits and 4 decimals.
DECIMAL_PATTERN = r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$"
#: ISO 8601 with an explicit UTC designator, as every canonical timestamp is written.
UTC_TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$"

TRANSACTION_TYPES = (
    "payment",
    "refund",
    "transfer",
    "fee",
    "deposit",
    "withdrawal",
    "trade_buy",
    "trade_sell",
    "adjustment",
)
STATUSES = ("pending", "authorized", "settled", "failed", "reversed", "cancelled")


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    description: str
    required: bool = True
    #: set by the Data API, not by producers (accepted on input, never required)
    server_managed: bool = False
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    max_length: int | None = None


FIELDS: tuple[Field, ...] = (
    Field(
        "transaction_id",
        "string",
        "Globally unique key: the source system's id, prefixed by the source.",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
    ),
    Field("source_system", "string", "Which system emitted it.", pattern=r"^[a-z][a-z0-9_]{1,31}$"),
    Field("account_id", "string", "The account the transaction books on.", max_length=64),
    Field("counterparty", "string", "The other party, when known.", required=False, max_length=256),
    Field("amount", "decimal", "Signed amount in major units (DECIMAL(19,4)).", pattern=DECIMAL_PATTERN),
    Field("currency", "string", "ISO 4217 alphabetic code.", pattern=r"^[A-Z]{3}$"),
    Field("transaction_type", "string", "What kind of movement.", enum=TRANSACTION_TYPES),
    Field("status", "string", "Lifecycle state.", enum=STATUSES),
    Field("event_time", "timestamp", "When it happened at the source (UTC).", pattern=UTC_TIMESTAMP_PATTERN),
    Field(
        "ingested_at",
        "timestamp",
        "When the source stage accepted it (UTC).",
        pattern=UTC_TIMESTAMP_PATTERN,
    ),
    Field(
        "version",
        "integer",
        "Optimistic-concurrency version, 1 on create, +1 on every update.",
        server_managed=True,
    ),
    Field("attributes", "map", "Free string map of source-specific extras.", required=False),
)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
KEY = "transaction_id"
