"""A file whose row groups were encoded apart and joined under one footer reads as the file one pyarrow
writer gives: the same rows, row groups, statistics and column chunk sizes, through pyarrow and DuckDB;
the footer codec gives back the bytes it read."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest import write
from txdagster.ingest.parquet_parts import split
from txdagster.ingest.thrift_compact import ThriftError, read_struct, write_struct
from txdagster.ingest.write import ParquetRows

SCHEMA = table_arrow_schema("transaction_files")


def _rows(count: int, start: int = 0) -> pa.Table:
    n = range(start, start + count)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    columns = {
        "transaction_id": [f"crm:{i}" for i in n],
        "source_system": ["crm"] * count,
        "account_id": [f"ACC-{i % 97}" for i in n],
        "counterparty": [None if i % 5 == 0 else f"Zoë {i % 7}" for i in n],
        "amount": [Decimal(i) / 100 - 50 for i in n],
        "currency": ["EUR" if i % 3 else "USD" for i in n],
        "transaction_type": ["payment"] * count,
        "status": ["settled" if i % 2 else "pending" for i in n],
        "event_time": [at + timedelta(seconds=i) for i in n],
        "ingested_at": [at] * count,
        "version": [1 + i % 4 for i in n],
        "attributes": [None if i % 2 else [("channel", "web"), ("n", str(i))] for i in n],
        "source_file": ["raw/crm/a.csv"] * count,
        "source_row": list(range(start + 1, start + count + 1)),
    }
    return pa.table(columns, schema=SCHEMA)


def _written(path: Path, blocks: list[pa.Table]) -> Path:
    rows = ParquetRows(path, SCHEMA)
    for block in blocks:
        rows.append(block)
    rows.close()
    rows.close()  # a second close writes nothing more
    return path


def test_row_groups_encoded_apart_read_as_one_writers_file(tmp_path, monkeypatch):
    monkeypatch.setattr(write, "ROW_GROUP_SIZE", 1000)  # 23 row groups: a footer's long list form too
    blocks = [_rows(700, start) for start in range(0, 22_400, 700)] + [_rows(150, 22_400)]
    joined = _written(tmp_path / "joined.parquet", blocks)
    whole = pa.concat_tables(blocks)
    one = tmp_path / "one.parquet"
    with pq.ParquetWriter(one, SCHEMA, **ParquetRows(one, SCHEMA)._options) as writer:
        writer.write_table(whole, row_group_size=1000)

    assert pq.read_table(joined).equals(whole)
    ours, theirs = pq.ParquetFile(joined).metadata, pq.ParquetFile(one).metadata
    assert ours.num_rows == theirs.num_rows == 22_550
    sizes = [ours.row_group(i).num_rows for i in range(ours.num_row_groups)]
    assert sizes == [1000] * 22 + [550]
    assert sizes == [theirs.row_group(i).num_rows for i in range(theirs.num_row_groups)]
    for g in range(ours.num_row_groups):
        for c in range(ours.num_columns):
            mine, single = ours.row_group(g).column(c), theirs.row_group(g).column(c)
            assert mine.statistics == single.statistics, (g, c)
            assert (mine.total_compressed_size, mine.encodings) == (single.total_compressed_size, single.encodings)
    last = ours.row_group(22).column(0).statistics  # the last row group's own, not the first part's
    assert (last.min, last.max) == ("crm:22000", "crm:22549")

    con = duckdb.connect()
    query = "SELECT count(*), sum(amount), min(event_time), max(source_row), count(attributes) FROM read_parquet(?)"
    assert con.execute(query, [str(joined)]).fetchall() == con.execute(query, [str(one)]).fetchall()
    groups = "SELECT count(DISTINCT row_group_id), sum(num_values) FROM parquet_metadata(?) WHERE column_id = 0"
    assert con.execute(groups, [str(joined)]).fetchall() == [(23, 22_550)]


def test_footers_are_written_back_byte_for_byte(tmp_path):
    path = tmp_path / "f.parquet"
    pq.write_table(_rows(3000), path, row_group_size=100)  # 30 row groups, statistics on every column
    data = path.read_bytes()
    size = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - size : -8]
    assert write_struct(read_struct(footer)) == footer
    part = split(pa.py_buffer(data))
    assert len(part.body) == len(data) - 12 - size


def test_what_is_not_a_parquet_file_is_refused():
    with pytest.raises(ThriftError):
        split(pa.py_buffer(b"PAR1 not a footer PAR1"))
    with pytest.raises(ThriftError):
        read_struct(b"\x15\x04")  # a field and no stop byte


def test_nothing_appended_writes_no_file(tmp_path):
    rows = ParquetRows(tmp_path / "none.parquet", SCHEMA)
    rows.append(_rows(0))
    rows.close()
    assert not (tmp_path / "none.parquet").exists()
