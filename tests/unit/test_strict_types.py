"""Strict types from one contract: each refused form is quarantined with a reason naming the field, each
accepted form is published exactly as meant. Nothing is coerced, nothing is silently dropped."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from txdagster.ingest.files import parse_raw_file, raw_file_blocks
from txdagster.ingest.pipeline import ingest_object
from txdagster.ingest.write import local_publisher

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GOOD = {
    "transaction_id": "crm:t-1",
    "account_id": "ACC-1",
    "amount": "12.50",
    "currency": "EUR",
    "transaction_type": "payment",
    "status": "settled",
    "event_time": "2026-11-27T10:00:00Z",
}


def _ingest(tmp_path, text: str, name: str = "f.jsonl"):
    result = ingest_object(
        table="transaction_files",
        source_key=f"raw/crm/dt=2026-11-27/{name}",
        source=text.encode(),
        parse=lambda chunks, key: raw_file_blocks(chunks, key, NOW),
        publish=local_publisher(tmp_path),
        parquet_key="curated/out.parquet",
        quarantine_key="quarantine/out.jsonl",
    )
    rows = pq.read_table(tmp_path / "curated/out.parquet").to_pylist() if result.parquet_key else []
    return result, rows


REFUSED = {
    "an object as account_id": ({"account_id": {"$ne": None}}, "account_id: must be text, not an object"),
    "a list as counterparty": ({"counterparty": ["a", "b"]}, "counterparty: must be text, not an array"),
    "a fractional version": ({"version": 1.9}, "version: must be an integer"),
    "an integral float version": ({"version": 2.0}, "version: must be an integer"),
    "an amount as a JSON float": ({"amount": 12.5}, "amount: must be decimal text"),
    "an amount as a JSON integer": ({"amount": 12}, "amount: must be decimal text"),
    "an amount with an exponent": ({"amount": "1e3"}, "amount: not decimal text"),
    "an amount with spaces": ({"amount": " 12.50 "}, "amount: not decimal text"),
    "an amount with a plus sign": ({"amount": "+12.50"}, "amount: not decimal text"),
    "an amount with a leading zero": ({"amount": "012.50"}, "amount: not decimal text"),
    "an amount with a line break after it": ({"amount": "12.50\n"}, "amount: not decimal text"),
    "an amount with five decimals, zeros too": ({"amount": "12.50000"}, "amount: more than 4 decimal places"),
    "an inactive currency": ({"currency": "XYZ"}, "currency fails isin"),
    "a withdrawn currency": ({"currency": "HRK"}, "currency fails isin"),
    "a lower-case currency": ({"currency": "eur"}, "currency fails isin"),
    "a NUL in text": ({"account_id": "ACC\x001"}, "account_id: contains a control"),
    "an ESC in text": ({"counterparty": "\x1b[31mred"}, "counterparty: contains a control"),
    "an RTL override in text": ({"counterparty": "abc\u202edcba"}, "counterparty: contains a control"),
    "an event_time in 2999": ({"event_time": "2999-01-01T00:00:00Z"}, "event_time: 2999-01-01"),
    "an event_time before 1970": ({"event_time": "1969-12-31T23:59:59Z"}, "event_time: 1969-12-31"),
    "an event_time at epoch 0": ({"event_time": "1970-01-01T00:00:00Z"}, "event_time: 1970-01-01"),
    "an event_time as epoch seconds": ({"event_time": 1764237600}, "event_time: must be text"),
    "a number as an attribute value": ({"attributes": {"n": 1}}, "attributes.n: must be text"),
    "an empty account_id": ({"account_id": ""}, "account_id fails str_length"),
    "51 attributes": ({"attributes": {f"k{i}": "v" for i in range(51)}}, "attributes: 51 keys, at most 50"),
    "a 129-character attribute key": ({"attributes": {"k" * 129: "v"}}, "attributes: a key of 129 characters"),
    "a 1025-character attribute value": ({"attributes": {"note": "v" * 1025}}, "attributes.note: 1025 characters"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_form_is_quarantined_with_a_reason_naming_its_field(case, tmp_path):
    change, reason = REFUSED[case]
    lines = [json.dumps({**GOOD, "transaction_id": "crm:ok"}), json.dumps({**GOOD, **change})]
    result, rows = _ingest(tmp_path, "\n".join(lines))
    assert [r["transaction_id"] for r in rows] == ["crm:ok"]
    assert result.rows_quarantined == 1
    assert reason in result.reasons[0], result.reasons


def test_accepted_forms_are_published_exactly(tmp_path):
    record = {
        **GOOD,
        "amount": "-0.0001",
        "currency": "JPY",
        "version": 3,
        "counterparty": "Zürich 東京 — Ltd",
        "event_time": "2026-11-27T10:00:00+02:00",
        "attributes": {"venue": "XLON", "note": ""},
    }
    result, [row] = _ingest(tmp_path, json.dumps(record))
    assert result.rows_quarantined == 0
    assert row["amount"] == Decimal("-0.0001")
    assert (row["currency"], row["version"], row["counterparty"]) == ("JPY", 3, "Zürich 東京 — Ltd")
    assert row["event_time"] == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert sorted(row["attributes"]) == [("note", ""), ("venue", "XLON")]


def test_fields_the_contract_does_not_know_are_reported_not_dropped_silently(tmp_path):
    lines = [json.dumps({**GOOD, "transaction_id": f"crm:{n}", "merchant_mcc": "5411"}) for n in range(3)]
    result, rows = _ingest(tmp_path, "\n".join(lines))
    assert len(rows) == 3
    assert result.unknown_fields == {"merchant_mcc": 3}


HEADER = (
    "transaction_id,source_system,account_id,amount,currency,transaction_type,status,event_time,version,ingested_at"
)


def test_a_csv_without_a_header_is_quarantined_whole_with_the_reason(tmp_path):
    rows = [
        "crm:1,crm,A,1.00,EUR,payment,settled,2026-11-27T00:00:00Z,1,2026-11-27T00:00:01Z",
        "crm:2,crm,A,2.00,EUR,payment,settled,2026-11-27T00:00:00Z,1,2026-11-27T00:00:01Z",
    ]
    result, published = _ingest(tmp_path, "\n".join(rows), "no-header.csv")
    assert published == [] and result.rows_in == 1 and result.rows_quarantined == 1
    assert "the CSV header does not match the contract" in result.reasons[0]
    assert "missing columns transaction_id" in result.reasons[0]


def test_blank_cells_of_defaulted_fields_take_their_defaults(tmp_path):
    text = f"{HEADER}\ncrm:blank,,A,1.00,EUR,payment,settled,2026-11-27T00:00:00Z,,\n"
    result, [row] = _ingest(tmp_path, text, "blanks.csv")
    assert result.rows_quarantined == 0
    assert (row["source_system"], row["version"], row["ingested_at"]) == ("crm", 1, NOW)


@pytest.mark.parametrize("text", ["NA", "NULL", "null", "N/A", "nan", "None"])
def test_a_csv_cell_that_spells_a_null_is_published_as_that_text(tmp_path, text):
    lines = [
        f"crm:na-{n},crm,A,{text},1.00,EUR,payment,settled,2026-11-27T00:00:00Z,1,2026-11-27T00:00:01Z"
        for n in range(3)
    ]
    header = "transaction_id,source_system,account_id,counterparty,amount,currency,transaction_type,status,"
    header += "event_time,version,ingested_at"
    result, rows = _ingest(tmp_path, "\n".join([header, *lines]) + "\n", "na.csv")
    assert result.rows_quarantined == 0 and [r["counterparty"] for r in rows] == [text] * 3  # only a blank is null


def test_a_parquet_file_is_read_with_its_types_checked_as_values(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = {
        **GOOD,
        "amount": Decimal("12.50"),
        "event_time": datetime(2026, 11, 27, 9, tzinfo=UTC),
        "attributes": [("venue", "XLON")],
    }
    table = pa.Table.from_pylist(
        [{**good, "transaction_id": "crm:p1"}, {**good, "transaction_id": "crm:p2", "currency": "XYZ"}],
        schema=pa.schema(
            [
                ("transaction_id", pa.string()),
                ("account_id", pa.string()),
                ("amount", pa.decimal128(19, 4)),
                ("currency", pa.string()),
                ("transaction_type", pa.string()),
                ("status", pa.string()),
                ("event_time", pa.timestamp("us", tz="UTC")),
                ("attributes", pa.map_(pa.string(), pa.string())),
            ]
        ),
    )
    pq.write_table(table, tmp_path / "in.parquet")
    naive = pa.table(
        {
            **{k: table.column(k) for k in table.column_names if k != "event_time"},
            "event_time": pa.array([datetime(2026, 11, 27, 9)] * 2, pa.timestamp("us")),
        }
    )
    pq.write_table(naive, tmp_path / "naive.parquet")

    parsed = parse_raw_file((tmp_path / "in.parquet").read_bytes(), "raw/crm/dt=2026-11-27/in.parquet", NOW)
    [row] = [r for r in parsed.typed_rows() if r["currency"] == "EUR"]
    assert (row["amount"], row["attributes"], row["source_row"]) == (Decimal("12.50"), [("venue", "XLON")], 1)
    refused = parse_raw_file((tmp_path / "naive.parquet").read_bytes(), "raw/crm/dt=2026-11-27/naive.parquet", NOW)
    assert [r.row_number for r in refused.rejects] == [1, 2]
    assert "event_time: a timestamp without a time zone" in refused.rejects[0].reason
