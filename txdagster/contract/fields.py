"""The canonical transaction, declared once. Every other representation is derived from ``FIELDS``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from txdagster.contract.currencies import ISO_4217

Kind = Literal["string", "decimal", "timestamp", "integer", "map"]

AMOUNT_PRECISION = 19
AMOUNT_SCALE = 4
#: A decimal amount as text: never a float on the wire. Up to 15 integer digits and 4 decimals.
DECIMAL_PATTERN = r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$"
#: C0 controls, DEL and the bidirectional overrides/isolates (U+202A-U+202E, U+2066-U+2069): never in text.
FORBIDDEN_RANGES = ((0x00, 0x1F), (0x7F, 0x7F), (0x202A, 0x202E), (0x2066, 0x2069))
#: The forbidden characters as a regex class, written with the characters themselves (ASCII ones one
#: by one), so that Python's re, RE2 (pyarrow) and JSON Schema validators read the same pattern.
_FORBIDDEN_CLASS = "".join(
    "".join(map(chr, range(low, high + 1))) if high < 0x80 else f"{chr(low)}-{chr(high)}"
    for low, high in FORBIDDEN_RANGES
)
FORBIDDEN_CHARACTERS = re.compile(f"[{_FORBIDDEN_CLASS}]")
#: Free text: anything but the forbidden characters.
FREE_TEXT_PATTERN = f"^[^{_FORBIDDEN_CLASS}]*$"
INTEGER_MIN, INTEGER_MAX = 1, 2**63 - 1
#: An integer written as text (a CSV cell, a DynamoDB Number): its form; the range is checked after.
INTEGER_TEXT_DIGITS = 19  # int64 has 19 digits; the range check follows
INTEGER_TEXT_PATTERN = rf"^-?[0-9]{{1,{INTEGER_TEXT_DIGITS}}}$"
#: ``attributes``: at most this many keys, of at most this many characters, with values of at most that
#: many: a transaction stays far below DynamoDB's 400 KB item limit.
ATTRIBUTES_MAX_KEYS, ATTRIBUTE_KEY_MAX_LENGTH, ATTRIBUTE_VALUE_MAX_LENGTH = 50, 128, 1024
#: An event_time must be later than this (epoch 0 is a missing value, not a time); the latest is the
#: ingestion time plus a setting.
EVENT_TIME_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
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
    min_length: int | None = None


FIELDS: tuple[Field, ...] = (
    Field(
        "transaction_id",
        "string",
        "Globally unique key: the source system's id, prefixed by the source.",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$",
    ),
    Field("source_system", "string", "Which system emitted it.", pattern=r"^[a-z][a-z0-9_]{1,31}$"),
    Field(
        "account_id",
        "string",
        "The account the transaction books on.",
        max_length=64,
        min_length=1,
        pattern=FREE_TEXT_PATTERN,
    ),
    Field(
        "counterparty",
        "string",
        "The other party, when known.",
        required=False,
        max_length=256,
        pattern=FREE_TEXT_PATTERN,
    ),
    Field("amount", "decimal", "Signed amount in major units (DECIMAL(19,4)).", pattern=DECIMAL_PATTERN),
    Field("currency", "string", "Active ISO 4217 alphabetic code (contract/currencies.py).", enum=ISO_4217),
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
