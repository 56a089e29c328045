"""A catalogue of bad source messages, each with the DLQ error code it must end in.

Each is a real-shaped message of one of the sample sources with one thing wrong (or an envelope
that cannot be one). Together they cover every code the source validator gives: MALFORMED_JSON,
BAD_ENVELOPE, UNKNOWN_SCHEMA, SCHEMA_MISMATCH, MAPPING_FAILED and API_REJECTED (the Data API's 4xx).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from txdagster.local import traffic


def _message(source: str, ref: str, **changes: Any) -> dict[str, Any]:
    """A valid message of ``source`` under the id ``ref``, its payload changed (None deletes a field)."""
    body = json.loads(traffic.valid_message(source, random.Random(ref), ref).body)
    for name, value in changes.items():
        if value is None:
            del body["payload"][name]
        else:
            body["payload"][name] = value
    return body


def _text(source: str, ref: str, **changes: Any) -> str:
    return json.dumps(_message(source, ref, **changes))


def _literal(source: str, ref: str, name: str, literal: str) -> str:
    """A valid message of ``source`` whose payload field ``name`` holds ``literal``, JSON or not."""
    text, count = re.subn(rf'("{name}": )("[^"]*"|-?[0-9.eE+]+)', rf"\g<1>{literal}", _text(source, ref))
    assert count == 1, (name, text)
    return text


def _envelope(**fields: Any) -> str:
    body = _message("crm", "catalogue-envelope")
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not None})


_VALID = _text("payments", "catalogue-valid-shape")
_CONTROL = "NUL \u0000"

BAD_MESSAGES: dict[str, tuple[str, str]] = {
    # not JSON at all, or JSON no parser should accept as a message
    "not JSON": ("{not json, from the catalogue", "MALFORMED_JSON"),
    "blank body": ("   ", "MALFORMED_JSON"),
    "truncated": (_VALID[:-10], "MALFORMED_JSON"),
    "trailing garbage": (_VALID + " trailing", "MALFORMED_JSON"),
    "byte-order mark": ("\ufeff" + _VALID, "MALFORMED_JSON"),
    "repeated envelope key": (
        _VALID.replace('"schema_version": 1', '"schema_version": 1, "schema_version": 1'),
        "MALFORMED_JSON",
    ),
    "repeated payload key": (
        _text("crm", "cat-repeat").replace('"stage":', '"stage": "OPEN", "stage":'),
        "MALFORMED_JSON",
    ),
    "100k-deep body": ('{"a":' * 100_000 + "1" + "}" * 100_000, "MALFORMED_JSON"),
    # an envelope that is not the envelope
    "a JSON array": ("[1, 2, 3]", "BAD_ENVELOPE"),
    "a JSON string": ('"payments"', "BAD_ENVELOPE"),
    "JSON null": ("null", "BAD_ENVELOPE"),
    "no source_system": (_envelope(source_system=None), "BAD_ENVELOPE"),
    "source_system a number": (_envelope(source_system=7), "BAD_ENVELOPE"),
    "source_system empty": (_envelope(source_system=""), "BAD_ENVELOPE"),
    "no schema_version": (_envelope(schema_version=None), "BAD_ENVELOPE"),
    "schema_version as text": (_envelope(schema_version="1"), "BAD_ENVELOPE"),
    "schema_version 1.5": (_envelope(schema_version=1.5), "BAD_ENVELOPE"),
    "schema_version true": (_envelope(schema_version=True), "BAD_ENVELOPE"),
    "schema_version 0": (_envelope(schema_version=0), "BAD_ENVELOPE"),
    "schema_version 10**40": (_envelope(schema_version=10**40), "BAD_ENVELOPE"),
    "schema_version NaN": (_envelope().replace('"schema_version": 1', '"schema_version": NaN'), "BAD_ENVELOPE"),
    "payload a list": (_envelope(payload=[1]), "BAD_ENVELOPE"),
    "no payload": (_envelope(payload=None), "BAD_ENVELOPE"),
    # a source or version the registry does not hold
    "unknown source": (_envelope(source_system="ledger"), "UNKNOWN_SCHEMA"),
    "unpublished version": (_envelope(schema_version=9), "UNKNOWN_SCHEMA"),
    # payloads that break their source's schema
    "payments: amount as text": (_text("payments", "cat-amount-text", amount_minor="1250"), "SCHEMA_MISMATCH"),
    "payments: amount a float": (_text("payments", "cat-amount-float", amount_minor=12.5), "SCHEMA_MISMATCH"),
    "payments: no currency": (_text("payments", "cat-no-ccy", currency=None), "SCHEMA_MISMATCH"),
    "payments: negative time": (_text("payments", "cat-neg-time", created_at_ms=-1), "SCHEMA_MISMATCH"),
    "payments: unknown state": (_text("payments", "cat-state", state="settled-ish"), "SCHEMA_MISMATCH"),
    "payments: an unknown field": (_text("payments", "cat-extra", surprise="x"), "SCHEMA_MISMATCH"),
    "payments: nested metadata": (_text("payments", "cat-nested", metadata={"a": {"b": 1}}), "SCHEMA_MISMATCH"),
    "crm: empty account": (_text("crm", "cat-empty-acc", customer={"accountNumber": ""}), "SCHEMA_MISMATCH"),
    "crm: amount with exponent": (_text("crm", "cat-exp", value="1e3"), "SCHEMA_MISMATCH"),
    "crm: amount with spaces": (_text("crm", "cat-spaces", value=" 12.50 "), "SCHEMA_MISMATCH"),
    "crm: impossible date": (_text("crm", "cat-date", occurredAt="2024-13-45T25:61:61Z"), "SCHEMA_MISMATCH"),
    "crm: time without offset": (
        _text("crm", "cat-naive", occurredAt="2026-11-27T10:00:00.000"),
        "SCHEMA_MISMATCH",
    ),
    "crm: four-letter currency": (_text("crm", "cat-ccy4", currencyCode="EURO"), "SCHEMA_MISMATCH"),
    "trading: unknown side": (_text("trading", "cat-side", side="HOLD"), "SCHEMA_MISMATCH"),
    "trading: empty book": (_text("trading", "cat-book", book=""), "SCHEMA_MISMATCH"),
    "trading: 129-character ref": (_text("trading", "x" * 129), "SCHEMA_MISMATCH"),
    "trading: time as text": (_text("trading", "cat-ts-text", execTs="1764237600"), "SCHEMA_MISMATCH"),
    # payloads that pass their schema but cannot be mapped
    "payments: time past year 9999": (_text("payments", "cat-far", created_at_ms=10**15), "MAPPING_FAILED"),
    "payments: time beyond the clock": (_text("payments", "cat-overflow", created_at_ms=10**20), "MAPPING_FAILED"),
    "trading: time past year 9999": (_text("trading", "cat-far-s", execTs=10**12), "MAPPING_FAILED"),
    # mapped, but refused by the contract at the Data API (a 4xx problem, the reason kept)
    "payments: epoch 0": (_text("payments", "cat-epoch0", created_at_ms=0), "API_REJECTED"),
    "trading: year 2999": (_text("trading", "cat-2999", execTs=32472144000), "API_REJECTED"),
    "crm: year 1969": (_text("crm", "cat-1969", occurredAt="1969-12-31T23:59:59+00:00"), "API_REJECTED"),
    "payments: unknown currency": (_text("payments", "cat-xyz", currency="xyz"), "API_REJECTED"),
    "crm: withdrawn currency": (_text("crm", "cat-hrk", currencyCode="HRK"), "API_REJECTED"),
    "payments: amount beyond DECIMAL(19,4)": (_text("payments", "cat-huge", amount_minor=10**30), "API_REJECTED"),
    "crm: RTL override in a name": (
        _text("crm", "cat-rtl", customer={"accountNumber": "ACC-1", "displayName": "a\u202eb"}),
        "API_REJECTED",
    ),
    "crm: NUL in the account": (_text("crm", "cat-nul", customer={"accountNumber": _CONTROL}), "API_REJECTED"),
    "crm: 51 tags": (_text("crm", "cat-tags", tags={f"t{i}": "v" for i in range(51)}), "API_REJECTED"),
    "crm: a 2000-character tag": (_text("crm", "cat-tag-long", tags={"note": "v" * 2000}), "API_REJECTED"),
    "trading: 100-character book": (_text("trading", "cat-long-book", book="B" * 100), "API_REJECTED"),
    "trading: a space in the ref": (_text("trading", "cat ref"), "API_REJECTED"),
    "trading: 125-character ref": (_text("trading", "r" * 125), "API_REJECTED"),
    # round 2 (issue 19)
    "a JSON number": ("42", "BAD_ENVELOPE"),
    "JSON true": ("true", "BAD_ENVELOPE"),
    "payload a string": (_envelope(payload="{}"), "BAD_ENVELOPE"),
    "schema_version -1": (_envelope(schema_version=-1), "BAD_ENVELOPE"),
    "schema_version 1.0": (_envelope().replace('"schema_version": 1', '"schema_version": 1.0'), "BAD_ENVELOPE"),
    "schema_version -Infinity": (
        _envelope().replace('"schema_version": 1', '"schema_version": -Infinity'),
        "BAD_ENVELOPE",
    ),
    "source_system with a trailing space": (_envelope(source_system="crm "), "UNKNOWN_SCHEMA"),
    "source_system in upper case": (_envelope(source_system="CRM"), "UNKNOWN_SCHEMA"),
    "payments: amount Infinity": (_literal("payments", "cat-inf", "amount_minor", "Infinity"), "SCHEMA_MISMATCH"),
    "payments: amount true": (_text("payments", "cat-bool", amount_minor=True), "SCHEMA_MISMATCH"),
    "payments: time 1.5 ms": (_text("payments", "cat-half-ms", created_at_ms=1.5), "SCHEMA_MISMATCH"),
    "payments: currency with a digit": (_text("payments", "cat-ccy-digit", currency="EU1"), "SCHEMA_MISMATCH"),
    "payments: kind null": (_literal("payments", "cat-kind-null", "kind", "null"), "SCHEMA_MISMATCH"),
    "payments: metadata value null": (_text("payments", "cat-meta-null", metadata={"a": None}), "SCHEMA_MISMATCH"),
    "payments: 257-character payer": (_text("payments", "cat-payer", payer="p" * 257), "SCHEMA_MISMATCH"),
    "crm: customer as text": (_text("crm", "cat-cust-text", customer="ACC-1"), "SCHEMA_MISMATCH"),
    "crm: amount with a comma": (_text("crm", "cat-comma", value="12,50"), "SCHEMA_MISMATCH"),
    "crm: amount with a plus sign": (_text("crm", "cat-plus", value="+12.50"), "SCHEMA_MISMATCH"),
    "crm: a date without a time": (_text("crm", "cat-date-only", occurredAt="2026-11-27"), "SCHEMA_MISMATCH"),
    "trading: side in lower case": (_text("trading", "cat-side-lc", side="buy"), "SCHEMA_MISMATCH"),
    "trading: negative time": (_text("trading", "cat-neg-ts", execTs=-5), "SCHEMA_MISMATCH"),
    "trading: 33-character venue": (_text("trading", "cat-venue", venue="V" * 33), "SCHEMA_MISMATCH"),
    "payments: a 129-character payment_id": (_text("payments", "p" * 129), "SCHEMA_MISMATCH"),
    "payments: an empty payment_id": (_text("payments", "cat-empty-id", payment_id=""), "SCHEMA_MISMATCH"),
    "payments: merchant_account null": (
        _literal("payments", "cat-merchant", "merchant_account", "null"),
        "SCHEMA_MISMATCH",
    ),
    "payments: a four-letter currency": (_text("payments", "cat-ccy4p", currency="EURO"), "SCHEMA_MISMATCH"),
    "payments: state in upper case": (_text("payments", "cat-state-uc", state="CAPTURED"), "SCHEMA_MISMATCH"),
    "payments: metadata a list": (_text("payments", "cat-meta-list", metadata=["a"]), "SCHEMA_MISMATCH"),
    "payments: time as ISO text": (
        _text("payments", "cat-iso", created_at_ms="2026-11-27T10:00:00Z"),
        "SCHEMA_MISMATCH",
    ),
    "payments: NUL in the payer": (_text("payments", "cat-payer-nul", payer=_CONTROL), "API_REJECTED"),
    "crm: customer without an account": (_text("crm", "cat-no-acc", customer={"displayName": "x"}), "SCHEMA_MISMATCH"),
    "crm: a 257-character name": (
        _text("crm", "cat-name", customer={"accountNumber": "ACC-1", "displayName": "n" * 257}),
        "SCHEMA_MISMATCH",
    ),
    "crm: amount of 16 digits": (_text("crm", "cat-16", value="1" * 16), "SCHEMA_MISMATCH"),
    "crm: amount with 5 decimals": (_text("crm", "cat-5dp", value="1.23456"), "SCHEMA_MISMATCH"),
    "crm: stage in lower case": (_text("crm", "cat-stage-lc", stage="posted"), "SCHEMA_MISMATCH"),
    "crm: a tag holding an object": (_text("crm", "cat-tag-obj", tags={"a": {"b": "c"}}), "SCHEMA_MISMATCH"),
    "trading: empty notional": (_text("trading", "cat-notional", notional=""), "SCHEMA_MISMATCH"),
    "trading: currency as a number": (_text("trading", "cat-ccy-num", ccy=978), "SCHEMA_MISMATCH"),
    "trading: unknown execStatus": (_text("trading", "cat-exec", execStatus="EXPIRED"), "SCHEMA_MISMATCH"),
    "trading: an unknown field": (_text("trading", "cat-extra-t", desk="FX"), "SCHEMA_MISMATCH"),
    "trading: tradeRef a number": (_literal("trading", "cat-ref-num", "tradeRef", "12345"), "SCHEMA_MISMATCH"),
    "payments: a newline ending the id": (_text("payments", "cat-newline\n"), "API_REJECTED"),
    "payments: a newline inside the id": (_text("payments", "cat-new\nline"), "API_REJECTED"),
}
