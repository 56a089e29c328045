import json
import random
from datetime import UTC, datetime

import fastjsonschema
import pytest

from lambdas.common.standardise import StandardiseError, standardise
from txdagster.contract.json_schema import canonical_json_schema
from txdagster.contract.sources import CRM_V1, PAYMENTS_V1, TRADING_V1
from txdagster.local import traffic

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CANONICAL = fastjsonschema.compile(canonical_json_schema())


def _payload(message):
    return json.loads(message.body)["payload"]


def test_payments_minor_units_become_a_decimal_amount_and_epoch_millis_utc():
    payload = {
        **_payload(traffic.payments_message(random.Random(1), "p1")),
        "amount_minor": 123456,
        "currency": "eur",
        "created_at_ms": 1_764_244_800_123,
        "state": "captured",
    }
    record = standardise(payload, PAYMENTS_V1.mapping, NOW)
    assert record["transaction_id"] == "payments:p1"
    assert record["amount"] == "1234.56"
    assert record["currency"] == "EUR"
    assert record["status"] == "settled"
    assert record["event_time"] == "2025-11-27T12:00:00.123000Z"
    CANONICAL(record)


def test_zero_decimal_currency_keeps_whole_units():
    payload = {**_payload(traffic.payments_message(random.Random(1), "p2")), "amount_minor": 5000, "currency": "JPY"}
    assert standardise(payload, PAYMENTS_V1.mapping, NOW)["amount"] == "5000"


def test_crm_offset_timestamp_is_converted_to_utc():
    payload = {**_payload(traffic.crm_message(random.Random(2), "c1")), "occurredAt": "2026-11-27T10:00:00+02:00"}
    record = standardise(payload, CRM_V1.mapping, NOW)
    assert record["event_time"] == "2026-11-27T08:00:00.000000Z"
    assert record["account_id"].startswith("ACC-")
    CANONICAL(record)


def test_trading_side_maps_to_transaction_type():
    payload = {**_payload(traffic.trading_message(random.Random(3), "t1")), "side": "SELL", "execTs": 0}
    record = standardise(payload, TRADING_V1.mapping, NOW)
    assert record["transaction_type"] == "trade_sell"
    assert record["event_time"] == "1970-01-01T00:00:00.000000Z"
    assert record["attributes"]["venue"] in {"XLON", "XNYS", "XPAR"}
    CANONICAL(record)


def test_unmapped_enum_value_names_the_field():
    payload = {**_payload(traffic.trading_message(random.Random(3), "t2")), "execStatus": "EXPIRED"}
    with pytest.raises(StandardiseError, match="status: 'EXPIRED' has no mapping"):
        standardise(payload, TRADING_V1.mapping, NOW)
