"""The columnar road for NDJSON: blocks typed by pyarrow with the contract's rules; a block with a bad row
goes row by row, so exactly the bad rows are quarantined, and both roads publish the same values."""

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from txdagster.ingest.changes import change_batch_blocks, parse_change_batch
from txdagster.ingest.files import parse_raw_file, raw_file_blocks
from txdagster.ingest.pipeline import ObjectResult, ingest_object
from txdagster.ingest.write import local_publisher

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = "raw/crm/dt=2026-11-27/big.jsonl"


def _line(n: int, **changes) -> str:
    record = {
        "transaction_id": f"crm:{n}",
        "account_id": f"ACC-{n % 7}",
        "amount": f"{n}.{n % 100:02d}",
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "settled",
        "event_time": "2026-11-27T10:00:00+01:00",
        "attributes": {"channel": "web", "n": str(n)},
    }
    return json.dumps({**record, **changes})


def _published(lines: list[str], block_size: int, tmp_path) -> tuple[pa.Table, ObjectResult]:
    result = ingest_object(
        table="transaction_files",
        source_key=KEY,
        source="\n".join(lines).encode(),
        parse=lambda chunks, key: raw_file_blocks(chunks, key, NOW, block_size=block_size),
        publish=local_publisher(tmp_path),
        parquet_key="out.parquet",
        quarantine_key="out.jsonl",
    )
    return pq.read_table(tmp_path / "out.parquet"), result


def test_bad_rows_in_several_blocks_are_quarantined_exactly_with_their_line_numbers(tmp_path):
    lines = [_line(n) for n in range(1, 301)]
    lines[4] = _line(5, amount=5.5)  # a JSON number: pyarrow refuses the whole block
    lines[119] = _line(120, currency="XYZ")  # a rule broken: the block goes row by row
    lines[249] = "{not json"
    lines[279] = _line(30)  # an id that came in an earlier block
    table, result = _published(lines, 2048, tmp_path)
    parsed = parse_raw_file("\n".join(lines).encode(), KEY, NOW, block_size=2048)
    assert len(parsed.tables) >= 5, "most blocks should take the columnar road"
    quarantined = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["row_number"] for r in quarantined) == [5, 120, 250, 280]
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (300, 296, 4)
    assert sorted(table.column("source_row").to_pylist()) == [n for n in range(1, 301) if n not in (5, 120, 250, 280)]


def test_a_block_with_a_bad_row_is_tried_again_in_parts_and_only_the_bad_part_goes_row_by_row(tmp_path):
    lines = [_line(n) for n in range(1, 401)]  # one block of 1 << 17 bytes, parts of 4 KiB (about 17 lines)
    lines[149] = _line(150, currency="XYZ")
    parsed = parse_raw_file("\n".join(lines).encode(), KEY, NOW, block_size=1 << 17)
    assert 0 < len(parsed.rows) < 20 and sum(t.num_rows for t in parsed.tables) > 380  # the rest stayed columnar
    table, result = _published(lines, 1 << 17, tmp_path)
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (400, 399, 1)
    [quarantined] = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(quarantined)["row_number"] == 150 and "currency" in json.loads(quarantined)["reason"]
    assert table.column("source_row").to_pylist() == [n for n in range(1, 401) if n != 150]  # in the file's order


def test_a_block_of_short_lines_needs_no_bracket_count_and_a_long_line_is_noticed():
    from txdagster.ingest.columnar.nesting import lines_shorter_than

    short = b"".join(b"[" * (n % 500) + b"\n" for n in range(3000))  # lines of up to 500 bytes
    assert lines_shorter_than(short, 1024) and lines_shorter_than(short[:-1], 1024)
    for at in (0, 700, len(short)):  # a 1024-byte line at the start, inside and at the end
        long = short[:at] + b"{" * 1024 + b"\n" + short[at:]
        assert not lines_shorter_than(long, 1024)


def test_both_roads_publish_the_same_values(tmp_path):
    lines = [_line(n) for n in range(1, 101)]
    fast, _ = _published(lines, 1 << 20, tmp_path / "fast")
    slow_lines = [*lines, _line(999, currency="XYZ")]  # one bad row: the single block goes row by row
    slow, _ = _published(slow_lines, 1 << 20, tmp_path / "slow")
    assert fast.sort_by("source_row").to_pylist() == slow.sort_by("source_row").to_pylist()


def test_blank_lines_unknown_fields_and_deep_nesting_take_the_row_road_with_the_same_outcome(tmp_path):
    lines = [_line(1, note="x"), "", _line(3), '{"a":' * 5000 + "1" + "}" * 5000, _line(5, note="y")]
    table, result = _published(lines, 1 << 20, tmp_path)
    assert table.column("source_row").to_pylist() == [1, 3, 5]
    assert result.unknown_fields == {"note": 2}
    assert result.rows_quarantined == 1


def _change(n: int, event: str = "INSERT", **image_changes) -> str:
    image = {
        "transaction_id": {"S": f"crm:{n}"},
        "source_system": {"S": "crm"},
        "account_id": {"S": "A"},
        "amount": {"N": f"{n}.5"},
        "currency": {"S": "EUR"},
        "transaction_type": {"S": "payment"},
        "status": {"S": "settled"},
        "event_time": {"S": "2026-11-27T10:00:00.000000Z"},
        "ingested_at": {"S": "2026-11-27T10:00:01.000000Z"},
        "version": {"N": "2"},
        "attributes": {"M": {"channel": {"S": "web"}}},
        **image_changes,
    }
    sides = {"new_image": None, "old_image": image} if event == "REMOVE" else {"new_image": image, "old_image": None}
    return json.dumps(
        {
            "event_id": str(n),
            "event_name": event,
            "sequence_number": str(10**20 + n),
            "approximate_creation_time": 1_764_237_600.5 + n,
            "keys": {},
            **sides,
        }
    )


def test_change_batches_take_the_columnar_road_and_bad_changes_in_several_blocks_are_quarantined(tmp_path):
    lines = [_change(n, "REMOVE" if n % 10 == 0 else "INSERT") for n in range(1, 201)]
    lines[6] = _change(7, currency={"S": "XYZ"})
    lines[99] = _change(100, counterparty={"NULL": True})  # a type tag the columnar road does not take
    lines[150] = _change(151, amount={"N": "1e400"})
    parsed = parse_change_batch("\n".join(lines).encode(), "cdc/x.jsonl", block_size=2048)
    assert len(parsed.tables) >= 5
    result = ingest_object(
        table="transaction_changes",
        source_key="cdc/x.jsonl",
        source="\n".join(lines).encode(),
        parse=lambda chunks, key: change_batch_blocks(chunks, key, block_size=2048),
        publish=local_publisher(tmp_path),
        parquet_key="c.parquet",
        quarantine_key="c.jsonl",
    )
    quarantined = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert sorted(r["row_number"] for r in quarantined) == [7, 151]  # a NULL counterparty is a valid change
    assert (result.rows_in, result.rows_valid) == (200, 198)


def test_both_roads_decode_changes_to_the_same_rows():
    lines = [_change(n, "REMOVE" if n % 3 == 0 else "MODIFY") for n in range(1, 31)]
    fast = parse_change_batch("\n".join(lines).encode(), "cdc/a.jsonl")
    slow = parse_change_batch("\n".join([*lines, "{broken"]).encode(), "cdc/a.jsonl")
    assert fast.tables and not slow.tables
    assert fast.typed_rows() == slow.typed_rows()


def test_a_big_object_is_read_block_by_block_not_whole():
    lines = "\n".join(_line(n) for n in range(1, 2001)).encode()
    chunks = [lines[i : i + 4096] for i in range(0, len(lines), 4096)]
    consumed = []

    def source():
        for chunk in chunks:
            consumed.append(len(chunk))
            yield chunk

    blocks = raw_file_blocks(source(), KEY, NOW, block_size=16384)
    first = next(blocks)
    assert first.tables and len(consumed) < len(chunks) / 4  # the first block came before most of the file
    assert sum(t.num_rows for t in first.tables) + sum(p.total for p in blocks) == 2000


def test_a_gzip_object_cut_short_is_quarantined_whole_and_publishes_nothing(tmp_path):
    import gzip

    data = gzip.compress("\n".join(_line(n) for n in range(1, 3001)).encode())
    result = ingest_object(
        table="transaction_files",
        source_key=KEY + ".gz",
        source=[data[: len(data) // 2]],
        parse=lambda chunks, key: raw_file_blocks(chunks, key, NOW, block_size=4096),
        publish=local_publisher(tmp_path),
        parquet_key="out.parquet",
        quarantine_key="out.jsonl",
    )
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (1, 0, 1)
    assert "truncated" in result.reasons[0]
    assert not (tmp_path / "out.parquet").exists()


CSV_HEADER = "transaction_id,account_id,counterparty,amount,currency,transaction_type,status,event_time"


def _csv_row(n: int, currency: str = "EUR", extra: str = "", newline: bool = False) -> str:
    counterparty = f'"Line one\nline two, {n}"' if newline else f'"Shop, ""{n}"""'
    return f"crm:{n},ACC-{n % 5},{counterparty},{n}.25,{currency},payment,settled,2026-11-27T09:00:00Z{extra}"


def test_a_csv_block_with_a_bad_record_is_tried_again_in_parts_in_the_files_order(tmp_path):
    rows = [_csv_row(n, newline=n == 300) for n in range(1, 401)]  # one block, parts of 2 KiB (about 30 rows)
    rows[76] = _csv_row(77, currency="XYZ")
    data = (CSV_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    parsed = parse_raw_file(data, "raw/crm/dt=2026-11-27/f.csv", NOW, block_size=1 << 16)
    assert len(parsed.rows) < 70 and sum(t.num_rows for t in parsed.tables) > 330  # the rest stayed columnar
    result = ingest_object(
        table="transaction_files",
        source_key="raw/crm/dt=2026-11-27/f.csv",
        source=data,
        parse=lambda chunks, key: raw_file_blocks(chunks, key, NOW, block_size=1 << 16),
        publish=local_publisher(tmp_path),
        parquet_key="f.parquet",
        quarantine_key="f.jsonl",
    )
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (400, 398, 2)
    quarantined = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert [r["row_number"] for r in quarantined] == [77, 300]  # a quoted newline is a control character
    published = pq.read_table(tmp_path / "f.parquet").column("source_row").to_pylist()
    assert published == [n for n in range(1, 401) if n not in (77, 300)]


def test_csv_records_take_the_columnar_road_with_quoted_newlines_and_bad_rows_in_several_blocks(tmp_path):
    rows = [_csv_row(n, newline=n % 97 == 0) for n in range(1, 401)]  # a newline is a control character: refused
    rows[9] = _csv_row(10, currency="XYZ")
    rows[199] = _csv_row(200, extra=",surplus")
    rows[349] = _csv_row(350, currency="usd")
    data = (CSV_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    parsed = parse_raw_file(data, "raw/crm/dt=2026-11-27/f.csv", NOW, block_size=2048)
    assert len(parsed.tables) >= 5
    result = ingest_object(
        table="transaction_files",
        source_key="raw/crm/dt=2026-11-27/f.csv",
        source=data,
        parse=lambda chunks, key: raw_file_blocks(chunks, key, NOW, block_size=2048),
        publish=local_publisher(tmp_path),
        parquet_key="f.parquet",
        quarantine_key="f.jsonl",
    )
    quarantined = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    bad = [10, 97, 194, 200, 291, 350, 388]
    assert sorted(r["row_number"] for r in quarantined) == bad
    assert any("counterparty: contains a control" in r["reason"] for r in quarantined)
    table = pq.read_table(tmp_path / "f.parquet")
    assert sorted(table.column("source_row").to_pylist()) == [n for n in range(1, 401) if n not in bad]
    by_row = {r["source_row"]: r for r in table.to_pylist()}
    assert by_row[98]["counterparty"] == 'Shop, "98"' and by_row[98]["transaction_id"] == "crm:98"
    assert result.rows_in == 400


def test_both_roads_read_csv_to_the_same_rows():
    data = CSV_HEADER + "\n" + "\n".join(_csv_row(n) for n in range(1, 41)) + "\n"
    fast = parse_raw_file(data.encode(), "raw/crm/dt=2026-11-27/a.csv", NOW)
    slow = parse_raw_file((data + _csv_row(99, extra=",x") + "\n").encode(), "raw/crm/dt=2026-11-27/a.csv", NOW)
    assert fast.tables and not slow.tables
    assert fast.typed_rows() == slow.typed_rows()


def test_fingerprints_remember_every_id_across_runs_and_the_row_road():
    import pyarrow as pa

    from txdagster.ingest.fingerprints import Fingerprints, sorted_fingerprints

    seen = Fingerprints()
    for start in range(0, 5000, 500):  # ten blocks on the columnar road: runs merge as they grow
        prints = seen.fresh_block(sorted_fingerprints(pa.array([f"id-{n}" for n in range(start, start + 500)])))
        assert prints is not None
        seen.add_sorted(prints)
    seen.add("row-road-1")
    assert seen.seen("id-0") and seen.seen("id-4999") and seen.seen("row-road-1")
    assert not seen.seen("id-5000")
    seen.settle()
    assert seen.fresh_block(sorted_fingerprints(pa.array(["nope", "row-road-1"]))) is None
    assert seen.fresh_block(sorted_fingerprints(pa.array(["nope", "id-2500"]))) is None
    assert seen.fresh_block(sorted_fingerprints(pa.array(["nope", "nope"]))) is None  # a repeat inside the block
    assert seen.fresh_block(sorted_fingerprints(pa.array(["nope", "still-no"]))) is not None


def test_fingerprints_tell_a_new_id_from_a_known_one_when_their_top_bits_meet():
    import numpy as np
    import pyarrow as pa

    from txdagster.ingest.fingerprints import Fingerprints, sorted_fingerprints

    seen = Fingerprints()
    known = sorted_fingerprints(pa.array([f"known-{n}" for n in range(300_000)]))
    seen.add_sorted(known)
    new = sorted_fingerprints(pa.array([f"new-{n}" for n in range(300_000)]))
    assert np.isin(new >> np.uint64(40), known >> np.uint64(40)).sum() > 1000  # many share the map's slot
    assert not seen._in_runs(new).any()
    assert seen._in_runs(known).all()
    assert seen.fresh_block(np.sort(np.concatenate([new[:10], known[-1:]]))) is None


def test_a_column_and_a_single_id_get_the_same_fingerprint():
    import pyarrow as pa

    from txdagster.ingest.fingerprints import fingerprint, fingerprints

    ids = ["", "a", "abcdefgh", "abcdefgh\x00", "abcdefghi", "ünï:cødé-" * 3, "x" * 128, "x" * 2000]
    column = pa.array(["pad", *ids]).slice(1)  # an offset into the buffers, as a sliced block has
    assert fingerprints(column).tolist() == [fingerprint(i) for i in ids]
    assert len(set(fingerprints(column).tolist())) == len(ids)  # zero padding never makes two ids one
    many = [f"id-{n}" if n % 977 else "w" * (n % 2000) for n in range(20_000)]  # several slices, some wide
    assert fingerprints(pa.array(many)).tolist() == [fingerprint(i) for i in many]


def test_the_byte_checks_agree_with_the_contracts_patterns():
    import random
    import re

    import pyarrow as pa

    from txdagster.contract.fields import FIELDS, FREE_TEXT_PATTERN
    from txdagster.ingest.columnar.text import byte_rule, follows_byte_rule, has_forbidden

    rng = random.Random(7)
    alphabet = "aZ09_.:-~ é\u202d\u2067\x00\x1b\x7f"
    samples = ["", "a", "-a", "a" * 128, "a" * 129, "a" * 32, "payments:tx-1", "crm.x_9", " x", "x\n", "é"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    ruled = [f for f in FIELDS if f.pattern and byte_rule(f.pattern)]
    assert {f.name for f in ruled} == {"transaction_id", "source_system"}
    for f in ruled:
        for sample in samples:
            expected = re.fullmatch(f.pattern.strip("^$"), sample) is not None
            assert follows_byte_rule(pa.array([sample]), byte_rule(f.pattern)) == expected, (f.name, sample)
    for sample in samples:
        expected = re.fullmatch(FREE_TEXT_PATTERN.strip("^$"), sample) is None
        column = pa.array(["clean", sample, "clean too"]).slice(1, 1)  # an offset into the buffers
        assert has_forbidden(column) == expected, repr(sample)


def test_a_json_array_streams_in_blocks_with_bad_elements_in_several_blocks_quarantined_exactly(tmp_path):
    records = [json.loads(_line(n)) for n in range(1, 301)]
    records[9]["amount"] = 10.5  # a JSON number: refused
    records[149]["currency"] = "XYZ"
    records[259] = ["not", "an", "object"]
    text = json.dumps(records, indent=2)  # pretty-printed: elements span many lines
    key = "raw/crm/dt=2026-11-27/export.json"
    chunks = [text.encode()[i : i + 1000] for i in range(0, len(text), 1000)]  # streamed, 1 kB at a time
    result = ingest_object(
        table="transaction_files",
        source_key=key,
        source=chunks,
        parse=lambda c, k: raw_file_blocks(c, k, NOW, block_size=4096),
        publish=local_publisher(tmp_path),
        parquet_key="a.parquet",
        quarantine_key="a.jsonl",
    )
    parsed = parse_raw_file(text.encode(), key, NOW, block_size=4096)
    assert len(parsed.tables) >= 10, "most blocks should take the columnar road"
    quarantined = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert sorted(r["row_number"] for r in quarantined) == [10, 150, 260]  # element numbers
    assert (result.rows_in, result.rows_valid, result.rows_quarantined) == (300, 297, 3)
    published = pq.read_table(tmp_path / "a.parquet")
    assert sorted(published.column("source_row").to_pylist()) == [n for n in range(1, 301) if n not in (10, 150, 260)]
    assert published.filter(pa.compute.equal(published.column("source_row"), 42)).column("amount")[0].as_py() == (
        __import__("decimal").Decimal("42.42")
    )


def test_a_json_file_that_is_not_one_whole_array_is_quarantined_whole():
    cases = [
        ('{"transaction_id": "a"}', "must hold an array"),
        ('[{"a": 1},, {"b": 2}]', "empty element"),
        ('[{"a": 1}', "before its closing bracket"),
        ('[{"a": 1}] []', "follows the JSON array"),
    ]
    for text, reason in cases:
        parsed = parse_raw_file(text.encode(), "raw/crm/dt=2026-11-27/x.json", NOW, block_size=8)
        assert parsed.whole and len(parsed.rejects) == 1 and reason in parsed.rejects[0].reason, text


def test_a_parquet_file_takes_the_columnar_road_batch_by_batch_with_bad_rows_quarantined_exactly(tmp_path, monkeypatch):
    from decimal import Decimal

    from txdagster.ingest import files

    monkeypatch.setattr(files, "PARQUET_BATCH_ROWS", 50)  # six batches
    rows = [
        {
            "transaction_id": f"crm:{n}",
            "account_id": f"ACC-{n % 7}",
            "amount": Decimal(f"{n}.25"),
            "currency": "EUR",
            "transaction_type": "payment",
            "status": "settled",
            "event_time": datetime(2026, 11, 27, 9, tzinfo=UTC),
            "version": 2,
            "attributes": [("channel", "web")],
        }
        for n in range(1, 301)
    ]
    rows[9]["currency"] = "XYZ"
    rows[149]["transaction_id"] = "crm:3"  # repeats an id of the first batch
    rows[259]["event_time"] = datetime(1969, 12, 31, tzinfo=UTC)
    schema = pa.schema(
        [
            ("transaction_id", pa.string()),
            ("account_id", pa.string()),
            ("amount", pa.decimal128(12, 2)),
            ("currency", pa.string()),
            ("transaction_type", pa.string()),
            ("status", pa.string()),
            ("event_time", pa.timestamp("ms", tz="UTC")),
            ("version", pa.int32()),
            ("attributes", pa.map_(pa.string(), pa.string())),
        ]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "in.parquet")
    data = (tmp_path / "in.parquet").read_bytes()

    key = "raw/crm/dt=2026-11-27/in.parquet"
    result = ingest_object(
        table="transaction_files",
        source_key=key,
        source=data,
        parse=lambda c, k: raw_file_blocks(c, k, NOW),
        publish=local_publisher(tmp_path),
        parquet_key="p.parquet",
        quarantine_key="p.jsonl",
    )

    assert len(parse_raw_file(data, key, NOW).tables) == 3, "the three clean batches take the columnar road"
    quarantined = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert sorted(r["row_number"] for r in quarantined) == [10, 150, 260]
    published = {r["source_row"]: r for r in pq.read_table(tmp_path / "p.parquet").to_pylist()}
    assert len(published) == result.rows_valid == 297
    first, late = published[1], published[299]  # one from a columnar batch, one from a row-road batch
    for row, n in ((first, 1), (late, 299)):
        assert (row["amount"], row["version"], row["source_system"]) == (Decimal(f"{n}.25"), 2, "crm")
        assert row["event_time"] == datetime(2026, 11, 27, 9, tzinfo=UTC)
        assert dict(row["attributes"]) == {"channel": "web"}


def test_both_roads_take_exactly_the_same_number_texts():
    import random
    from decimal import Decimal

    import pyarrow as pa

    from txdagster.contract.dynamo import VALUE_ERRORS, _decimal, _integer
    from txdagster.contract.fields import FIELDS
    from txdagster.ingest.columnar import FALLBACK
    from txdagster.ingest.columnar.records import typed_column

    fields = {f.name: f for f in FIELDS}
    rng = random.Random(11)
    edges = [
        "",
        "0",
        "-0",
        "00",
        "007",
        "-01",
        "0.5",
        ".5",
        "-.5",
        "5.",
        "-",
        "-.",
        ".",
        "1.2.3",
        "1-2",
        "--1",
        "+1",
        " 1",
        "1 ",
        "1\n",
        "1e3",
        "0x10",
        "12.50",
        "12.50000",
        "12.34567",
        "1" * 15,
        "1" * 16,
        "1" * 19,
        "1" * 20,
        "9" * 19,
        "-" + "9" * 19,
        "9223372036854775807",
        "9223372036854775808",
        "1" * 15 + ".9999",
        "٣",
        "10",
        "100.01",
        "0.0001",
        "0.00001",
    ]
    samples = edges + ["".join(rng.choice("0123456789.-") for _ in range(rng.randint(1, 21))) for _ in range(3000)]
    samples += ["".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20))) for _ in range(300)]
    for name, row_road in (("amount", _decimal), ("version", _integer)):
        for text in samples:
            try:
                expected = row_road(fields[name], text)
            except VALUE_ERRORS:
                expected = None
            try:  # beside a good value, in a sliced column, as a block has it
                got = typed_column(fields[name], pa.array(["7", "1", text]).slice(1)).to_pylist()[1]
            except FALLBACK:
                got = None
            if isinstance(expected, Decimal):
                expected = expected.quantize(Decimal("0.0001"))
            assert got == expected, (name, text, got, expected)


def test_text_checks_read_a_long_column_in_pieces_and_miss_nothing():
    import itertools

    import pyarrow as pa

    from txdagster.ingest.columnar.arrays import text_pieces
    from txdagster.ingest.columnar.text import has_forbidden

    values = [f"shop {n} " * (n % 40) for n in range(20_000)]  # about 2 MB of text
    column = pa.array(["pad", *values, None]).slice(1)  # an offset into the buffers, and a null at the end
    pieces = list(text_pieces(column))
    assert len(pieces) > 10 and b"".join(pieces) == "".join(values).encode()
    ends = set(itertools.accumulate(len(v.encode()) for v in values))
    assert set(itertools.accumulate(len(piece) for piece in pieces)) <= ends  # cut between values only
    assert all(len(piece) <= 64 * 1024 + 400 for piece in pieces)
    assert not has_forbidden(column)
    for at in (0, 7_777, 19_999):  # an RTL override (three bytes) in any piece, or a control character
        for bad in ("a\u202eb", "a\x1bb"):
            assert has_forbidden(pa.array([*values[:at], bad, *values[at + 1 :]]))
