"""One bad value never fails an object: its row is quarantined with a reason naming the field, the
good rows around it are published."""

import gzip
import json
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from lambdas.stream_exporter.batch import change_lines, encode
from txdagster.ingest.changes import parse_change_batch
from txdagster.ingest.files import parse_raw_file, raw_file_blocks
from txdagster.ingest.pipeline import ingest_object
from txdagster.ingest.write import local_publisher

NOW = datetime(2026, 11, 27, tzinfo=UTC)
GOOD = {
    "account_id": "ACC-1",
    "amount": "12.50",
    "currency": "EUR",
    "transaction_type": "payment",
    "status": "settled",
    "event_time": "2026-11-27T10:00:00Z",
}


def _ndjson(*bad_lines: str) -> bytes:
    good = [json.dumps({**GOOD, "transaction_id": f"crm:good-{n}"}) for n in range(3)]
    return "\n".join([good[0], *bad_lines, good[1], good[2]]).encode()


def _bad(**changes) -> str:
    return json.dumps({**GOOD, "transaction_id": "crm:bad", **changes})


BAD_LINES = {
    "amount Infinity": (_bad(amount="Infinity"), "amount"),
    "amount sNaN": (_bad(amount="sNaN"), "amount"),
    "amount 1e400": (_bad().replace('"12.50"', "1e400"), "amount"),
    "amount with 30 digits": (_bad(amount="1" * 30), "amount"),
    "event_time past year 9999 in UTC": (_bad(event_time="9999-12-31T23:00:00-05:00"), "timestamp"),
    "version 1e400": (_bad().replace('"account_id"', '"version": 1e400, "account_id"'), "version"),
    "version text": (_bad(version="two"), "version"),
    "a 100k-deep JSON line": ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    # round 2 (issue 19): one hostile value in an otherwise good file, with the field it must be named by
    "currency XYZ": (_bad(currency="XYZ"), "currency"),
    "currency of two letters": (_bad(currency="EU"), "currency"),
    "status not in the contract": (_bad(status="settled-ish"), "status"),
    "transaction_type not in the contract": (_bad(transaction_type="gift"), "transaction_type"),
    "account_id empty": (_bad(account_id=""), "account_id"),
    "account_id of 65 characters": (_bad(account_id="A" * 65), "account_id"),
    "transaction_id of 200 characters": (_bad(transaction_id="crm:" + "x" * 200), "transaction_id"),
    "transaction_id with a space": (_bad(transaction_id="crm:a b"), "transaction_id"),
    "transaction_id ending in a newline": (_bad(transaction_id="crm:a\n"), "transaction_id"),
    "no transaction_id": (json.dumps({**GOOD}), "transaction_id"),
    "no amount": (
        json.dumps({k: v for k, v in {**GOOD, "transaction_id": "crm:x"}.items() if k != "amount"}),
        "amount",
    ),
    "amount 1e3": (_bad(amount="1e3"), "amount"),
    "amount with spaces": (_bad(amount=" 12.50 "), "amount"),
    "amount with 5 decimals": (_bad(amount="12.34567"), "amount"),
    "amount as a JSON number": (_bad().replace('"12.50"', "12.5"), "amount"),
    "amount true": (_bad(amount=True), "amount"),
    "amount null": (_bad(amount=None), "amount"),
    "amount with a comma": (_bad(amount="12,50"), "amount"),
    "event_time on no calendar": (_bad(event_time="2024-13-45T25:61:61Z"), "event_time"),
    "event_time on February 30": (_bad(event_time="2024-02-30T10:00:00Z"), "event_time"),
    "event_time without an offset": (_bad(event_time="2026-11-27T10:00:00"), "event_time"),
    "event_time at epoch 0": (_bad(event_time="1970-01-01T00:00:00Z"), "event_time"),
    "event_time in 2999": (_bad(event_time="2999-01-01T00:00:00Z"), "event_time"),
    "event_time as a number": (_bad(event_time=1764237600), "event_time"),
    "counterparty with NUL": (_bad(counterparty="a\u0000b"), "counterparty"),
    "counterparty with an RTL override": (_bad(counterparty="abc\u202edef"), "counterparty"),
    "attributes as a list": (_bad(attributes=["a"]), "attributes"),
    "attributes nested": (_bad(attributes={"a": {"b": "c"}}), "attributes"),
    "version 0": (_bad(version=0), "version"),
    "version -1": (_bad(version=-1), "version"),
    "version 1.5": (_bad(version=1.5), "version"),
    "source_system in upper case": (_bad(source_system="CRM"), "source_system"),
    "ingested_at as a word": (_bad(ingested_at="yesterday"), "ingested_at"),
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_a_bad_value_quarantines_its_row_and_keeps_the_others(case, tmp_path):
    line, named = BAD_LINES[case]
    result = ingest_object(
        table="transaction_files",
        source_key="raw/crm/dt=2026-11-27/mixed.jsonl",
        source=_ndjson(line),
        parse=lambda chunks, key: raw_file_blocks(chunks, key, NOW),
        publish=local_publisher(tmp_path),
        parquet_key="curated/mixed.parquet",
        quarantine_key="quarantine/mixed.jsonl",
    )
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (4, 3, 1)
    assert named in result.reasons[0]
    published = pq.read_table(tmp_path / result.parquet_key).column("transaction_id").to_pylist()
    assert published == ["crm:good-0", "crm:good-1", "crm:good-2"]
    [quarantined] = (tmp_path / result.quarantine_key).read_text().splitlines()
    assert json.loads(quarantined)["row_number"] == 2


def test_a_csv_row_with_an_extra_cell_is_quarantined_with_the_cells_it_had():
    header = "transaction_id,account_id,amount,currency,transaction_type,status,event_time"
    rows = [
        "crm:1,A,1.00,EUR,payment,settled,2026-11-27T00:00:00Z",
        "crm:2,A,2.00,EUR,payment,settled,2026-11-27T00:00:00Z,surplus",
        "crm:3,A,3.00,EUR,payment,settled,2026-11-27T00:00:00Z",
    ]
    parsed = parse_raw_file("\n".join([header, *rows]).encode(), "raw/crm/dt=2026-11-27/f.csv", NOW)
    assert [r["transaction_id"] for r in parsed.typed_rows()] == ["crm:1", "crm:3"]
    [reject] = parsed.rejects
    assert reject.row_number == 2 and "1 more cell(s) than the header" in reject.reason
    assert reject.record["extra_cells"] == ["surplus"]


def test_a_change_with_an_unrepresentable_number_is_one_reject():
    image = {
        "transaction_id": {"S": "crm:1"},
        "source_system": {"S": "crm"},
        "account_id": {"S": "A"},
        "amount": {"N": "1"},
        "currency": {"S": "EUR"},
        "transaction_type": {"S": "payment"},
        "status": {"S": "settled"},
        "event_time": {"S": "2026-11-27T00:00:00Z"},
        "ingested_at": {"S": "2026-11-27T00:00:00Z"},
        "version": {"N": "1"},
    }
    change = {"SequenceNumber": "1", "ApproximateCreationDateTime": 1.0e9, "Keys": {}, "NewImage": image}
    record = {"eventID": "1", "eventName": "INSERT", "eventSourceARN": "arn:x/stream/s", "dynamodb": change}
    good = json.loads(gzip.decompress(encode(change_lines([record]))))
    bad = {**good, "sequence_number": "2", "new_image": {**image, "amount": {"N": "1e400"}}}
    late = {**good, "sequence_number": "3", "approximate_creation_time": 1e400}
    text = "\n".join(json.dumps(x) for x in (good, bad)) + "\n" + json.dumps(late).replace("Infinity", "1e400")
    parsed = parse_change_batch(text.encode(), "cdc/transactions/dt=2026-11-27/s/1-3.jsonl.gz")
    assert len(parsed.typed_rows()) == 1
    assert [r.row_number for r in parsed.rejects] == [2, 3]
