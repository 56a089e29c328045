import gzip
import json
from datetime import UTC, datetime

from lambdas.stream_exporter.batch import batch_key, change_lines, encode, pad_sequence
from txdagster.ingest.changes import parse_change_batch
from txdagster.ingest.files import parse_raw_file
from txdagster.ingest.rows import to_arrow
from txdagster.ingest.validate import split_valid
from txdagster.lake.layout import curated_key

NOW = datetime(2026, 11, 27, tzinfo=UTC)
IMAGE = {
    "transaction_id": {"S": "crm:1"},
    "source_system": {"S": "crm"},
    "account_id": {"S": "ACC-1"},
    "amount": {"N": "10.5"},
    "currency": {"S": "USD"},
    "transaction_type": {"S": "deposit"},
    "status": {"S": "settled"},
    "event_time": {"S": "2026-11-27T10:00:00.000000Z"},
    "ingested_at": {"S": "2026-11-27T10:00:01.000000Z"},
    "version": {"N": "2"},
}


def _stream_record(name: str, seq: str, new=None, old=None) -> dict:
    ddb = {
        "SequenceNumber": seq,
        "ApproximateCreationDateTime": 1_764_237_600.0,
        "Keys": {"transaction_id": {"S": "crm:1"}},
    }
    if new:
        ddb["NewImage"] = new
    if old:
        ddb["OldImage"] = old
    arn = "arn:aws:dynamodb:eu-west-1:1:table/transactions/stream/2026-11-27T00:00:00.000"
    return {"eventID": seq, "eventName": name, "dynamodb": ddb, "eventSourceARN": arn}


def test_sequence_numbers_are_padded_so_text_order_is_numeric_order():
    assert pad_sequence("9") < pad_sequence("10")
    assert len(pad_sequence("123")) == 40


def test_the_same_records_always_give_the_same_key_and_bytes():
    records = [_stream_record("INSERT", "200", new=IMAGE), _stream_record("MODIFY", "100", new=IMAGE, old=IMAGE)]
    lines = change_lines(records)
    key = batch_key("cdc/transactions", records, lines)
    assert key == batch_key("cdc/transactions", list(reversed(records)), change_lines(list(reversed(records))))
    assert key.startswith("cdc/transactions/dt=2025-11-27/2026-11-27T00-00-00-000/")
    assert key.endswith(f"{pad_sequence('100')}-{pad_sequence('200')}.jsonl.gz")
    assert encode(lines) == encode(change_lines(records))


def test_a_remove_is_read_from_the_old_image():
    data = encode(change_lines([_stream_record("REMOVE", "5", old=IMAGE)]))
    parsed = parse_change_batch(data, "cdc/x.jsonl.gz")
    assert not parsed.rejects
    [row] = parsed.typed_rows()
    assert row["change_type"] == "REMOVE"
    assert row["transaction_id"] == "crm:1"
    assert row["version"] == 2


def test_a_broken_change_line_is_rejected_with_its_line_number_and_the_rest_kept():
    good = json.dumps(change_lines([_stream_record("INSERT", "7", new=IMAGE)])[0])
    data = gzip.compress(f"{good}\n{{not json\n".encode())
    parsed = parse_change_batch(data, "cdc/y.jsonl.gz")
    assert len(parsed.typed_rows()) == 1
    assert [r.row_number for r in parsed.rejects] == [2]


def test_csv_files_take_the_source_from_the_path_and_attributes_as_json():
    csv = (
        "transaction_id,account_id,amount,currency,transaction_type,status,event_time,attributes\n"
        'trading:9,BOOK-1,1500.0001,GBP,trade_buy,settled,2026-11-27T09:00:00Z,"{""venue"": ""XLON""}"\n'
    )
    parsed = parse_raw_file(csv.encode(), "raw/trading/dt=2026-11-27/fills.csv", NOW)
    [row] = parsed.typed_rows()
    assert row["source_system"] == "trading"
    assert str(row["amount"]) == "1500.0001"
    assert row["attributes"] == [("venue", "XLON")]
    assert row["source_row"] == 1


def test_an_unsupported_file_is_one_reject_that_says_which_types_work():
    parsed = parse_raw_file(b"<xml/>", "raw/crm/dt=2026-11-27/data.xml", NOW)
    assert not parsed.typed_rows()
    assert "use one of .jsonl, .ndjson, .json, .csv" in parsed.rejects[0].reason


def test_rows_failing_the_pandera_schema_are_split_out_with_every_failed_check_named():
    lines = [
        {
            "transaction_id": "crm:a",
            "account_id": "A",
            "amount": "1",
            "currency": "usd",
            "transaction_type": "deposit",
            "status": "settled",
            "event_time": "2026-11-27T00:00:00Z",
        },
        {
            "transaction_id": "crm:b",
            "account_id": "A",
            "amount": "2",
            "currency": "USD",
            "transaction_type": "deposit",
            "status": "settled",
            "event_time": "2026-11-27T00:00:00Z",
        },
    ]
    parsed = parse_raw_file("\n".join(json.dumps(x) for x in lines).encode(), "raw/crm/dt=2026-11-27/f.jsonl", NOW)
    table, origins, unfit = to_arrow("transaction_files", parsed)
    valid, rejects = split_valid("transaction_files", table, origins)
    assert not unfit
    assert valid.column("transaction_id").to_pylist() == ["crm:b"]
    assert rejects[0].row_number == 1
    assert "currency" in rejects[0].reason


def test_output_names_derive_from_input_names_so_retries_overwrite():
    key = "raw/crm/dt=2026-11-27/f.jsonl"
    assert curated_key("transaction_files", "2026-11-27", key, "e1") == curated_key(
        "transaction_files", "2026-11-27", key, "e1"
    )
    assert curated_key("transaction_files", "2026-11-27", key, "e1") != curated_key(
        "transaction_files", "2026-11-27", "raw/payments/dt=2026-11-27/f.jsonl", "e1"
    )
    assert curated_key("transaction_files", "2026-11-27", key, "e1") != curated_key(
        "transaction_files", "2026-11-27", key, "e2"
    )


def test_an_empty_input_is_quarantined_so_every_object_leaves_a_trace():
    assert parse_change_batch(gzip.compress(b""), "cdc/empty.jsonl.gz").rejects[0].reason.startswith("empty")
    assert parse_raw_file(b"", "raw/crm/dt=2026-11-27/empty.jsonl", NOW).rejects[0].reason == "file holds no records"
