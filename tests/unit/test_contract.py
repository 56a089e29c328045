import json
from decimal import Decimal

import fastjsonschema
import pyarrow as pa
import pytest

from txdagster.contract.arrow import glue_columns, table_arrow_schema
from txdagster.contract.dynamo import RecordError, deserialize_image, item_to_row
from txdagster.contract.fields import FIELD_NAMES
from txdagster.contract.json_schema import canonical_json_schema
from txdagster.contract.sources import SOURCE_SCHEMAS

VALID = {
    "transaction_id": "payments:p-1",
    "source_system": "payments",
    "account_id": "ACC-1",
    "amount": "1234.5600",
    "currency": "EUR",
    "transaction_type": "payment",
    "status": "settled",
    "event_time": "2026-11-27T10:00:00.000000Z",
    "ingested_at": "2026-11-27T10:00:01.000000Z",
}


def test_every_representation_has_every_canonical_field():
    assert list(canonical_json_schema()["properties"]) == list(FIELD_NAMES)
    assert table_arrow_schema("transaction_files").names[: len(FIELD_NAMES)] == list(FIELD_NAMES)
    assert [c["Name"] for c in glue_columns("transaction_changes")][: len(FIELD_NAMES)] == list(FIELD_NAMES)


def test_amount_is_decimal_everywhere_never_float():
    assert table_arrow_schema("transaction_changes").field("amount").type == pa.decimal128(19, 4)
    assert {c["Name"]: c["Type"] for c in glue_columns("transaction_files")}["amount"] == "decimal(19,4)"
    assert canonical_json_schema()["properties"]["amount"]["type"] == "string"


def test_canonical_schema_accepts_a_valid_record_and_rejects_a_float_amount():
    validate = fastjsonschema.compile(canonical_json_schema())
    validate(VALID)
    with pytest.raises(fastjsonschema.JsonSchemaValueException, match="amount"):
        validate({**VALID, "amount": 12.5})


def test_canonical_schema_rejects_lowercase_currency_and_unknown_fields():
    validate = fastjsonschema.compile(canonical_json_schema())
    with pytest.raises(fastjsonschema.JsonSchemaValueException, match="currency"):
        validate({**VALID, "currency": "eur"})
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        validate({**VALID, "colour": "blue"})


def test_stream_image_decodes_to_a_typed_row_with_decimal_amount():
    image = {
        **{k: {"S": v} for k, v in VALID.items() if k != "amount"},
        "amount": {"N": "1234.56"},
        "version": {"N": "3"},
        "attributes": {"M": {"channel": {"S": "web"}}},
    }
    row = item_to_row(deserialize_image(image))
    assert row["amount"] == Decimal("1234.56")
    assert row["version"] == 3
    assert row["event_time"].isoformat() == "2026-11-27T10:00:00+00:00"
    assert row["attributes"] == [("channel", "web")]


def test_more_than_four_decimals_is_a_record_error():
    with pytest.raises(RecordError, match="amount: more than 4 decimal places"):
        item_to_row({**VALID, "amount": "1.00001", "version": 1})


def test_every_source_schema_is_valid_json_schema_with_a_complete_mapping():
    required = {
        "transaction_id",
        "source_system",
        "account_id",
        "amount",
        "currency",
        "transaction_type",
        "status",
        "event_time",
    }
    for source in SOURCE_SCHEMAS:
        fastjsonschema.compile(source.json_schema)
        assert required <= {rule["target"] for rule in source.mapping}, source.subject
        json.dumps(source.mapping)
