"""Sample traffic from the three source systems, valid and deliberately invalid."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from lambdas.common.currency import minor_unit_exponent
from txdagster.lake import aws
from txdagster.settings import Settings

CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF")
SQS_BATCH = 10


@dataclass(frozen=True)
class Message:
    source_system: str
    transaction_id: str | None  # canonical id when valid, None when it must be rejected
    body: str
    expected_error: str | None = None


def _envelope(source: str, payload: dict[str, Any], version: int = 1) -> str:
    return json.dumps({"source_system": source, "schema_version": version, "payload": payload})


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(100, 5_000_000)).scaleb(-2)


def payments_message(rng: random.Random, ref: str) -> Message:
    currency = rng.choice(CURRENCIES)
    minor = int(_amount(rng).scaleb(minor_unit_exponent(currency)))
    payload = {
        "payment_id": ref,
        "merchant_account": f"ACC-{rng.randint(1, 40):04d}",
        "payer": rng.choice(["Alice Martin", "Bob Chen", "Chloé Durand", "Dmitri Ivanov"]),
        "amount_minor": minor,
        "currency": currency.lower(),
        "kind": rng.choice(["payment", "payment", "refund", "fee"]),
        "state": rng.choice(["captured", "authorized", "pending", "declined"]),
        "created_at_ms": int(time.time() * 1000) - rng.randint(0, 3_600_000),
        "metadata": {"channel": rng.choice(["web", "pos", "app"]), "3ds": True},
    }
    return Message("payments", f"payments:{ref}", _envelope("payments", payload))


def crm_message(rng: random.Random, ref: str) -> Message:
    payload = {
        "crmRecordId": ref,
        "customer": {"accountNumber": f"ACC-{rng.randint(1, 40):04d}", "displayName": "Northwind Ltd"},
        "value": str(_amount(rng)),
        "currencyCode": rng.choice(CURRENCIES),
        "recordType": rng.choice(["DEPOSIT", "WITHDRAWAL", "ADJUSTMENT"]),
        "stage": rng.choice(["POSTED", "APPROVED", "OPEN"]),
        "occurredAt": datetime.now(UTC).astimezone().isoformat(timespec="milliseconds"),
        "tags": {"region": rng.choice(["emea", "amer", "apac"])},
    }
    return Message("crm", f"crm:{ref}", _envelope("crm", payload))


def trading_message(rng: random.Random, ref: str) -> Message:
    payload = {
        "tradeRef": ref,
        "book": f"BOOK-{rng.randint(1, 8)}",
        "cpty": rng.choice(["Goldline Securities", "Harbor Capital"]),
        "notional": str(_amount(rng) * 100),
        "ccy": rng.choice(CURRENCIES),
        "side": rng.choice(["BUY", "SELL"]),
        "execStatus": rng.choice(["FILLED", "FILLED", "PARTIALLY_FILLED", "NEW"]),
        "execTs": int(time.time()) - rng.randint(0, 3600),
        "venue": rng.choice(["XLON", "XNYS", "XPAR"]),
    }
    return Message("trading", f"trading:{ref}", _envelope("trading", payload))


MAKERS = {"payments": payments_message, "crm": crm_message, "trading": trading_message}


def valid_message(source: str, rng: random.Random, ref: str | None = None) -> Message:
    return MAKERS[source](rng, ref or uuid.UUID(int=rng.getrandbits(128)).hex[:16])


def invalid_messages(rng: random.Random) -> list[Message]:
    """One of each way a message is rejected, with the error code it must get in the DLQ."""
    wrong_type = json.loads(payments_message(rng, "bad-amount").body)
    wrong_type["payload"]["amount_minor"] = "12.50"
    missing = json.loads(crm_message(rng, "no-currency").body)
    del missing["payload"]["currencyCode"]
    unknown_version = json.loads(trading_message(rng, "v9").body)
    unknown_version["schema_version"] = 9
    return [
        Message("payments", None, json.dumps(wrong_type), "SCHEMA_MISMATCH"),
        Message("crm", None, json.dumps(missing), "SCHEMA_MISMATCH"),
        Message("trading", None, json.dumps(unknown_version), "UNKNOWN_SCHEMA"),
        Message("unknown", None, "{not json", "MALFORMED_JSON"),
    ]


def mixed_batch(rng: random.Random, per_source: int) -> list[Message]:
    messages = [valid_message(source, rng) for source in MAKERS for _ in range(per_source)]
    messages.extend(invalid_messages(rng))
    rng.shuffle(messages)
    return messages


def valid_stream(rng: random.Random) -> Iterator[Message]:
    """Endless valid traffic from the three source systems."""
    while True:
        yield valid_message(rng.choice(list(MAKERS)), rng)


def stream(rng: random.Random) -> Iterator[Message]:
    """Endless traffic: mostly valid, about one message in twenty invalid."""
    while True:
        if rng.random() < 0.05:
            yield rng.choice(invalid_messages(rng))
        else:
            yield valid_message(rng.choice(list(MAKERS)), rng)


def send(settings: Settings, messages: list[Message]) -> None:
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.inbound_queue)["QueueUrl"]
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        result = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": m.body} for i, m in enumerate(chunk)]
        )
        if result.get("Failed"):
            raise RuntimeError(f"SQS refused messages: {result['Failed']}")
