"""The columnar road for NDJSON: blocks typed by pyarrow with the contract's rules; a block with a bad row
goes row by row, so exactly the bad rows are quarantined, and both roads publish the same values."""

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from txdagster.ingest.files import parse_raw_file
from txdagster.ingest.pipeline import ObjectResult, ingest_object

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KEY = "raw/crm/dt=2026-11-27/big.jsonl"


def _line(n: int, **changes) -> str:
    record = {"transaction_id": f"crm:{n}", "account_id": f"ACC-{n % 7}", "amount": f"{n}.{n % 100:02d}",
              "currency": "EUR", "transaction_type": "payment", "status": "settled",
              "event_time": "2026-11-27T10:00:00+01:00", "attributes": {"channel": "web", "n": str(n)}}  # fmt: skip
    return json.dumps({**record, **changes})


def _published(lines: list[str], block_size: int, tmp_path) -> tuple[pa.Table, ObjectResult]:
    result = ingest_object(
        table="transaction_files", source_key=KEY, data="\n".join(lines).encode(),
        parse=lambda data, key: parse_raw_file(data, key, NOW, block_size=block_size),
        filesystem=fs.LocalFileSystem(), bucket=str(tmp_path), parquet_key="out.parquet", quarantine_key="out.jsonl",
    )  # fmt: skip
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
