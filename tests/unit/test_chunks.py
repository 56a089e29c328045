"""Cutting a stream into blocks, whatever sizes its chunks came in: each block ends at the end of a line
(NDJSON) or of a record outside quotes (CSV), and not a byte is lost or repeated."""

import csv
import io
import random

import pytest

from txdagster.ingest.chunks import line_blocks, lines_in, record_blocks, split_first_line, without_bom


def _csv_text(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for n in range(rows):
        note = f'line one\nline "two" {n}' if n % 13 == 0 else f"shop {n}"
        writer.writerow([f"crm:{n}", note, f"{n}.25"])
    return out.getvalue().encode()


def _in_chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, at = [], 0
    while at < len(data):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(data[at : at + size])
        at += size
    return chunks


CHUNKINGS = [[1], [7, 3], [100], [4096], [1 << 30], [0, 5, 0, 900]]


@pytest.mark.parametrize("sizes", CHUNKINGS, ids=str)
def test_csv_records_are_cut_outside_quotes_whatever_the_chunks(sizes):
    data = _csv_text(400)
    chunks = _in_chunks(data, [s or 1 for s in sizes])
    if 0 in sizes:  # empty chunks in the stream are skipped
        chunks = [c for chunk in chunks for c in (b"", chunk)]
    records = list(record_blocks(chunks, 256))
    blocks = [bytes(block.data) for block in records]
    assert [block.quoted for block in records] == [b'"' in block for block in blocks]
    assert b"".join(blocks) == data
    for block in blocks:
        assert block.endswith(b"\n") and block.count(b'"') % 2 == 0  # whole records only
        rows = list(csv.reader(io.StringIO(block.decode())))
        assert all(len(row) == 3 for row in rows)
    assert all(len(block) >= 256 for block in blocks[:-1]) and len(blocks) > 10


@pytest.mark.parametrize("sizes", CHUNKINGS, ids=str)
def test_lines_are_cut_at_line_ends_whatever_the_chunks(sizes):
    rng = random.Random(7)
    data = b"".join(b"x" * rng.randrange(0, 300) + b"\n" for _ in range(500)) + b"no line break at the end"
    blocks = [bytes(block) for block in line_blocks(_in_chunks(data, [s or 1 for s in sizes]), 512)]
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks[:-1])
    assert all(len(block) >= 512 for block in blocks[:-1])


def test_a_record_longer_than_a_block_waits_for_its_end():
    long_record = b'"' + b"a\n" * 5000 + b'",1\n'
    data = b"x,1\n" * 10 + long_record + b"y,2\n" * 10
    blocks = [bytes(block.data) for block in record_blocks(_in_chunks(data, [64]), 128)]
    assert b"".join(blocks) == data
    assert any(long_record in block for block in blocks)


def test_the_first_line_is_split_from_the_rest_across_chunks():
    line, rest = split_first_line([b"transaction", b"_id,amount\ncrm:1,", b"5\n"])
    assert (line, b"".join(rest)) == (b"transaction_id,amount", b"crm:1,5\n")
    line, rest = split_first_line([b"only a header"])
    assert (line, list(rest)) == (b"only a header", [])


def test_a_byte_order_mark_is_dropped_however_the_first_chunks_come_and_lines_are_counted():
    for chunks in ([b"\xef\xbb\xbfab\n"], [b"\xef", b"\xbb", b"\xbfab\n"], [b"\xef\xbb", b"\xbfab\n"], [b"ab\n"]):
        assert b"".join(without_bom(chunks)) == b"ab\n"
    assert b"".join(without_bom([b"\xef", b"x"])) == b"\xefx"  # not a mark: kept
    assert list(without_bom([])) == [b""]
    blocks = list(line_blocks([b"a\nb\n\nc"], 2))
    assert [lines_in(block) for block in blocks] == [1, 1, 2] and sum(map(lines_in, blocks)) == 4
