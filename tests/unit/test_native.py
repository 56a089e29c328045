"""The ingest road's C parts give what their pyarrow and numpy stand-ins give. The NDJSON reader reads a
block exactly as pyarrow's reader with the contract's read schema does, or leaves it to pyarrow: on
canonical blocks, on every form it refuses, and on thousands of mutated lines the typed rows both
readers lead to are the same (or both refuse the block). Fingerprints and line counts are the same."""

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from txdagster.ingest import chunks, fingerprints
from txdagster.ingest.chunks import lines_in
from txdagster.ingest.columnar.arrays import FALLBACK
from txdagster.ingest.columnar.changes import read_with_pyarrow, typed_changes
from txdagster.ingest.columnar.checked_csv import read_checked_csv
from txdagster.ingest.columnar.formats import _PARSE, read_csv_with_pyarrow, typed_csv_table
from txdagster.ingest.columnar.native import read_change_block, read_csv_block, read_ndjson_block
from txdagster.ingest.columnar.nesting import read_json_block
from txdagster.ingest.columnar.numbers import check_number_text, decimals_from_text
from txdagster.ingest.columnar.records import typed_records
from txdagster.ingest.native import NATIVE

pytestmark = pytest.mark.skipif(NATIVE is None, reason="the C parts are not built (pip install -e .)")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _record(n: int, **changes) -> dict:
    record = {
        "transaction_id": f"crm:{n}",
        "source_system": "crm",
        "account_id": f"ACC-{n % 7}",
        "counterparty": 'Zoë "the" Ünïcode / \u00e9\u4e2d\U0001f600',
        "amount": f"{n}.{n % 100:02d}",
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "settled",
        "event_time": "2026-11-27T10:00:00.000000Z",
        "ingested_at": "2026-11-27T10:00:01Z",
        "version": n % 3 + 1,
        "attributes": {"channel": "web", "n": str(n)},
    }
    return {**record, **changes}


def _typed(table: pa.Table) -> pa.Table | str:
    try:
        return typed_records(table, "crm", NOW, datetime(2026, 11, 28, tzinfo=UTC))[0]
    except FALLBACK as exc:
        return f"refused: {type(exc).__name__}"


def _pyarrow(block: bytes) -> pa.Table | str:
    try:
        return _typed(read_json_block(block, _PARSE))
    except FALLBACK as exc:
        return f"refused: {type(exc).__name__}"


def _same_as_pyarrow(block: bytes) -> bool:
    """Whether the C reader took the block; when it did, its rows are pyarrow's."""
    table = read_ndjson_block(block)
    if table is None:
        return False
    assert table.num_rows == lines_in(block)
    native, arrow = _typed(table), _pyarrow(block)
    if isinstance(native, str) or isinstance(arrow, str):
        assert isinstance(native, str) and isinstance(arrow, str), (block[:300], native, arrow)
    else:
        assert native.equals(arrow), (block[:300], native.to_pylist()[:2], arrow.to_pylist()[:2])
    return True


def _block(records: list[dict], **dumps) -> bytes:
    return "".join(json.dumps(r, **dumps) + "\n" for r in records).encode()


def test_canonical_blocks_are_read_as_pyarrow_reads_them():
    rows = [_record(n) for n in range(500)]
    rows[3] = _record(3, counterparty=None, version=None)  # nulls
    del rows[4]["source_system"], rows[4]["attributes"]  # missing fields
    rows[5] = _record(5, attributes={"n": "5", "late": "x", "channel": "app"})  # keys in another order
    rows[6] = {k: rows[6][k] for k in reversed(rows[6])}  # fields in another order
    rows[7] = _record(7, counterparty="tab\there \\ \u0000 \U0001d11e")  # escapes; a surrogate pair with ensure_ascii
    for block in (_block(rows), _block(rows, ensure_ascii=False), _block(rows, indent=None, separators=(",", ":"))):
        assert _same_as_pyarrow(block)
    assert _same_as_pyarrow(_block(rows).rstrip(b"\n")), "a last line without its line break"
    assert _same_as_pyarrow(_block(rows).replace(b"\n", b"\r\n")), "CRLF line breaks"


def test_rows_that_break_rules_are_read_and_then_refused_by_the_same_checks():
    for bad in ({"currency": "XYZ"}, {"amount": "1.23456"}, {"version": 0}, {"event_time": "2026-13-01T00:00:00Z"}):
        rows = [_record(n) for n in range(20)]
        rows[9] = _record(9, **bad)
        block = _block(rows)
        assert _same_as_pyarrow(block), bad
        assert isinstance(_typed(read_ndjson_block(block)), str), bad


@pytest.mark.parametrize(
    "line",
    [
        '{"transaction_id": "crm:1", "mystery": "x"}',  # a field the contract does not know (pyarrow counts it)
        '{"transaction_id": 1}',  # a number where text belongs
        '{"version": "1"}',  # text where an integer belongs
        '{"version": 1.0}',
        '{"version": 1e3}',
        '{"version": 01}',
        '{"version": -0}',
        '{"version": 1234567890123456789}',  # more digits than the reader takes
        '{"transaction_id": "a", "transaction_id": "b"}',  # a field twice
        '{"attributes": {}}',  # an empty object: pyarrow infers its own type
        '{"attributes": {"a": null}}',
        '{"attributes": {"a": 1}}',
        '{"attributes": {"a": {"b": "c"}}}',  # deeper nesting
        '{"attributes": {"a": "x", "a": "y"}}',
        '{"attributes": "text"}',
        '{"counterparty": "\\ud800"}',  # a lone surrogate
        '{"counterparty": "\\udc00x"}',
        '{"counterparty": "\\x"}',  # not a JSON escape
        '{"counterparty": "raw\ttab"}',  # a raw control character
        '{"transaction_id": "crm:1"} {"transaction_id": "crm:2"}',  # two objects on a line
        '{"transaction_id": "crm:1"},',
        '["crm:1"]',
        "",  # a blank line
        "null",
        '{"transaction_id": "crm:1"',  # cut short
        '{"counter\\u0070arty": "x"}',  # an escape in a key
    ],
)
def test_what_the_reader_does_not_take_goes_to_pyarrow(line):
    block = (json.dumps(_record(1)) + "\n" + line + "\n").encode()
    assert read_ndjson_block(block) is None


def test_invalid_utf8_goes_to_pyarrow():
    for raw in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xf4\x90\x80\x80"):
        block = b'{"transaction_id": "crm:1", "counterparty": "' + raw + b'"}\n'
        assert read_ndjson_block(block) is None, raw


def test_thousands_of_mutated_lines_read_as_pyarrow_reads_them_or_not_at_all():
    rng = random.Random(20261205)
    alphabet = b'{}[]":,\\ \t\r0123456789-.eEnulltruefalseabc\x00\x1f\x7f\xc3\xa9\xe2\x80\xae\xf0\x9f\x98\x80u'
    taken = 0
    for n in range(3000):
        line = bytearray(json.dumps(_record(n)).encode())
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(line))
            change = rng.randrange(3)
            if change == 0:
                line[at] = rng.choice(alphabet)
            elif change == 1:
                del line[at]
            else:
                line.insert(at, rng.choice(alphabet))
        block = (json.dumps(_record(n + 10_000)) + "\n").encode() + bytes(line) + b"\n"
        taken += _same_as_pyarrow(block)
    assert taken > 300, f"only {taken} mutated blocks were read by the C reader: the test proves little"


def test_fingerprints_and_line_counts_are_those_of_numpy(monkeypatch):
    rng = random.Random(7)
    ids = [None, "", "a", "é", "中文" * 9, "\U0001f600" * 5]
    ids += ["".join(rng.choice("ab:-_é中0123456789") for _ in range(rng.randrange(60))) for _ in range(3000)]
    column = pa.array(ids, pa.string())
    blocks = [b"", b"\n", b"a", b"a\nb", b"a\nb\n", "\n".join(i or "" for i in ids).encode()]
    cases = [column, column.slice(17, 1000), column.cast(pa.large_string()), pa.chunked_array([column[:5], column[5:]])]
    native = [fingerprints.fingerprints(c) for c in cases]
    lines = [lines_in(b) for b in blocks]
    monkeypatch.setattr(fingerprints, "NATIVE", None)
    monkeypatch.setattr(chunks, "NATIVE", None)
    for case, prints in zip(cases, native, strict=True):
        assert prints.tolist() == fingerprints.fingerprints(case).tolist()
    assert native[0][2:6].tolist() == [fingerprints.fingerprint(i) for i in ids[2:6]]
    assert lines == [lines_in(b) for b in blocks] == [1, 1, 1, 2, 2, len(ids)]


def _change(n: int, event: str = "INSERT", **image_changes) -> dict:
    record = _record(n, **image_changes)
    image = {
        k: ({"N": str(v)} if k in ("amount", "version") else {"S": v})
        for k, v in record.items()
        if k != "attributes" and v is not None
    }
    if record.get("attributes") is not None:
        image["attributes"] = {"M": {k: {"S": v} for k, v in record["attributes"].items()}}
    return {
        "event_id": str(n),
        "event_name": event,
        "sequence_number": str(10**20 + n),
        "approximate_creation_time": 1_764_237_600.0 + n / 1000,
        "keys": {"transaction_id": {"S": record["transaction_id"]}},
        "new_image": None if event == "REMOVE" else image,
        "old_image": image if event != "INSERT" else None,
    }


def _typed_changes(read) -> pa.Table | str:
    try:
        return typed_changes(read())
    except FALLBACK as exc:
        return f"refused: {type(exc).__name__}"


def _changes_as_pyarrow(block: bytes) -> bool:
    """Whether the C reader took the change block; when it did, its rows are pyarrow's."""
    if read_change_block(block) is None:
        return False
    native, arrow = _typed_changes(lambda: read_change_block(block)), _typed_changes(lambda: read_with_pyarrow(block))
    if isinstance(native, str) or isinstance(arrow, str):
        assert isinstance(native, str) and isinstance(arrow, str), (block[:400], native, arrow)
    else:
        assert native.equals(arrow), (block[:400], native.to_pylist()[:2], arrow.to_pylist()[:2])
    return True


def test_change_blocks_are_read_as_pyarrow_reads_them():
    rows = [_change(n, ("INSERT", "MODIFY", "REMOVE")[n % 3]) for n in range(300)]
    rows[4]["old_image"]["attributes"]["M"] = {"z": {"S": "1"}, "n": {"S": "2"}}  # a MODIFY's unread old keys
    rows[6]["new_image"]["attributes"] = None
    rows[7]["new_image"] = {}  # an empty image: every field null, refused by the checks
    rows[12]["approximate_creation_time"] = 1764237600  # an integer time
    rows[13]["approximate_creation_time"] = 1.7642376001234567e9
    rows[11] = _change(11, "INSERT", counterparty="tab\there \\ \u0000 \U0001d11e")
    for block in (_block(rows), _block(rows, ensure_ascii=False), _block(rows[:7]), _block(rows[12:])):
        assert _changes_as_pyarrow(block)
    assert isinstance(_typed_changes(lambda: read_change_block(_block(rows[6:9]))), str)
    assert not isinstance(_typed_changes(lambda: read_change_block(_block(rows[12:]))), str)  # clean rows pass


@pytest.mark.parametrize(
    "change",
    [
        {"mystery": 1},
        {"event_id": 7},
        {"keys": {"transaction_id": {"S": "a"}, "other": {"S": "b"}}},
        {"approximate_creation_time": "1764237600"},
        {"approximate_creation_time": "1.0e"},  # text, as is 1.0e below (not JSON)
        {"new_image": {"amount": {"S": "1.0"}}},  # a Number as a String
        {"new_image": {"amount": {"N": 1.0}}},
        {"new_image": {"mystery": {"S": "x"}}},
        {"new_image": {"attributes": {"M": {}}}},
        {"new_image": {"attributes": {"M": {"a": {"N": "1"}}}}},
        {"new_image": {"attributes": {"L": []}}},
        {"new_image": {"currency": {"S": "EUR", "N": "1"}}},
    ],
)
def test_change_lines_the_reader_does_not_take_go_to_pyarrow(change):
    line = json.dumps(_change(1) | change)
    assert read_change_block((json.dumps(_change(2)) + "\n" + line + "\n").encode()) is None


def test_thousands_of_mutated_change_lines_read_as_pyarrow_reads_them_or_not_at_all():
    rng = random.Random(20261206)
    alphabet = b'{}[]":,\\ \t\r0123456789-.eEnulltruefalseSNM\x00\xc3\xa9\xe2\x80\xaeu'
    taken = 0
    for n in range(2000):
        line = bytearray(json.dumps(_change(n, ("INSERT", "MODIFY", "REMOVE")[n % 3])).encode())
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(line))
            change = rng.randrange(3)
            if change == 0:
                line[at] = rng.choice(alphabet)
            elif change == 1:
                del line[at]
            else:
                line.insert(at, rng.choice(alphabet))
        block = (json.dumps(_change(n + 10_000)) + "\n").encode() + bytes(line) + b"\n"
        taken += _changes_as_pyarrow(block)
    assert taken > 200, f"only {taken} mutated blocks were read by the C reader: the test proves little"


CSV_HEADER = ["transaction_id", "source_system", "account_id", "counterparty", "amount", "currency"]
CSV_HEADER += ["transaction_type", "status", "event_time", "ingested_at", "version"]


def _csv_line(n: int, **changes) -> str:
    record = {k: v for k, v in _record(n, **changes).items() if k in CSV_HEADER}
    cells = []
    for name in CSV_HEADER:
        value = "" if record.get(name) is None else str(record[name])
        cells.append('"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value)
    return ",".join(cells)


def _typed_csv(read) -> pa.Table | str:
    try:
        return typed_csv_table(read(), "crm", NOW, datetime(2026, 11, 28, tzinfo=UTC))[0]
    except FALLBACK as exc:
        return f"refused: {type(exc).__name__}"


def _csv_as_pyarrow(block: bytes, header: list[str] = CSV_HEADER) -> bool:
    """Whether the C reader took the CSV block; when it did, its rows are pyarrow's."""
    if read_csv_block(block, header) is None:
        return False
    native = _typed_csv(lambda: read_csv_block(block, header))
    arrow = _typed_csv(lambda: read_csv_with_pyarrow(block, header, quoted=b'"' in block))
    if isinstance(native, str) or isinstance(arrow, str):
        assert isinstance(native, str) and isinstance(arrow, str), (block[:400], native, arrow)
    else:
        assert native.equals(arrow), (block[:400], native.to_pylist()[:2], arrow.to_pylist()[:2])
    return True


def test_csv_blocks_are_read_as_pyarrow_reads_them():
    lines = [_csv_line(n) for n in range(300)]
    lines[3] = _csv_line(3, counterparty=None, version=None, source_system=None)  # blank cells
    lines[4] = _csv_line(4, counterparty='a, "quoted"\nline')  # a quoted delimiter, quote and line break
    lines[5] = _csv_line(5, event_time="2026-11-27T10:00:00+01:00")
    lines[6] = _csv_line(6, counterparty='""')
    clean = "\n".join(lines[7:]).encode()
    for block in ("\n".join(lines).encode(), "\r\n".join(lines).encode() + b"\r\n", clean):
        assert _csv_as_pyarrow(block)
    assert not isinstance(_typed_csv(lambda: read_csv_block(clean, CSV_HEADER)), str)
    extra = [*CSV_HEADER, "mystery", "attributes"]  # an unknown column, counted; attributes refused
    assert _csv_as_pyarrow("\n".join(line + ",x," for line in lines[7:]).encode(), extra)
    assert _csv_as_pyarrow("\n".join(line + ",x,{}" for line in lines[7:]).encode(), extra)


@pytest.mark.parametrize(
    "line",
    [
        "a,b",  # fewer cells
        _csv_line(1) + ",x",  # more cells
        "",  # a blank line
        _csv_line(1).replace("crm:1", 'crm"1'),  # a quote inside an unquoted cell
        '"crm:1"x,' + _csv_line(1).split(",", 1)[1],  # text after a closing quote
        '"crm:1,' + _csv_line(1).split(",", 1)[1],  # a quote never closed
        _csv_line(1).replace("crm:1", "crm\r1"),  # a lone carriage return
    ],
)
def test_csv_records_the_reader_does_not_take_go_to_pyarrow(line):
    assert read_csv_block((_csv_line(2) + "\n" + line + "\n").encode(), CSV_HEADER) is None


def test_invalid_utf8_in_csv_goes_to_pyarrow():
    for raw in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82"):
        for cell in (raw, b'"' + raw + b'"'):
            block = _csv_line(1).encode().replace(b"ACC-1", cell) + b"\n"
            assert read_csv_block(block, CSV_HEADER) is None, cell


def _mutated_csv_blocks(seed: int, count: int = 3000) -> Iterator[bytes]:
    """Blocks of a canonical record and one with 1 to 3 bytes replaced, deleted or inserted."""
    rng = random.Random(seed)
    alphabet = b',"\r\n \t0123456789-.:TZ+abc\x00\xc3\xa9\xe2\x80\xae'
    for n in range(count):
        line = bytearray(_csv_line(n, counterparty='Zoë, "the" one' if n % 2 else "plain").encode())
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(line))
            change = rng.randrange(3)
            if change == 0:
                line[at] = rng.choice(alphabet)
            elif change == 1:
                del line[at]
            else:
                line.insert(at, rng.choice(alphabet))
        yield (_csv_line(n + 10_000) + "\n").encode() + bytes(line) + b"\n"


def test_thousands_of_mutated_csv_records_read_as_pyarrow_reads_them_or_not_at_all():
    taken = sum(_csv_as_pyarrow(block) for block in _mutated_csv_blocks(20261207))
    assert taken > 300, f"only {taken} mutated blocks were read by the C reader: the test proves little"


LATEST = datetime(2026, 11, 28, tzinfo=UTC)


def _checked(block: bytes, header: list[str] = CSV_HEADER, source: str = "crm") -> pa.Table | None:
    return read_checked_csv(block, header, source_system=source, ingested_at=NOW, latest_event_time=LATEST)


def _checked_as_text_road(block: bytes, header: list[str] = CSV_HEADER, source: str = "crm") -> bool:
    """Whether the checked reader took the block; when it did, its rows are the text road's (which must
    have taken them too)."""
    checked = _checked(block, header, source)
    if checked is None:
        return False
    text = read_csv_block(block, header)
    if text is None:
        text = read_csv_with_pyarrow(block, header, quoted=b'"' in block)
    road, _ = typed_csv_table(text, source, NOW, LATEST)
    assert checked.equals(road), (block[:400], checked.to_pylist()[:2], road.to_pylist()[:2])
    return True


def test_csv_blocks_are_checked_in_one_pass_as_the_text_road_checks_them():
    lines = [_csv_line(n) for n in range(300)]
    lines[3] = _csv_line(3, counterparty=None, version=None, source_system=None, ingested_at=None)  # defaults
    lines[4] = _csv_line(4, counterparty='a, "quoted" one', amount="-0.5")
    lines[5] = _csv_line(5, event_time="2024-02-29T23:59:59.5Z", amount="0")
    lines[6] = _csv_line(6, event_time="2000-01-01T00:00:00.123456Z", amount="-123456789012345.1234")
    lines[7] = _csv_line(7, counterparty='""', account_id="é中😀" * 21 + "x")  # 64 characters
    for block in ("\n".join(lines).encode(), "\r\n".join(lines).encode() + b"\r\n"):
        assert _checked_as_text_road(block)
    short = [n for n in CSV_HEADER if n not in ("counterparty", "source_system", "version", "ingested_at")]
    assert (
        _checked_as_text_road("\n".join(_csv_line(n).split(",", 1)[0] for n in range(3)).encode(), ["transaction_id"])
        is False
    )
    rows = [
        ",".join(c for c, name in zip(_csv_line(n).split(","), CSV_HEADER, strict=True) if name in short)
        for n in range(9)
    ]
    assert _checked_as_text_road("\n".join(rows).encode(), short)  # the missing columns take their defaults
    assert _checked_as_text_road("\n".join(line + "," for line in lines[8:]).encode(), [*CSV_HEADER, "attributes"])


@pytest.mark.parametrize(
    "changes",
    [
        {"currency": "XXQ"},
        {"status": "Settled"},
        {"transaction_id": "crm 1"},
        {"transaction_id": None},
        {"account_id": "ACC\u202e1"},  # a bidirectional override
        {"account_id": "ACC\x7f1"},
        {"account_id": "x" * 65},
        {"amount": "1.00001"},
        {"amount": "01.5"},
        {"amount": "1e3"},
        {"event_time": "1970-01-01T00:00:00Z"},  # not later than the earliest
        {"event_time": "2026-11-28T00:00:00.000001Z"},  # later than the latest
        {"event_time": "2026-02-29T00:00:00Z"},
        {"event_time": "2026-11-27T10:00:00+01:00"},  # a form the cast takes: the text road reads it
        {"event_time": "2026-11-27 10:00:00Z"},
        {"version": "0"},
        {"version": "007"},
    ],
)
def test_a_cell_breaking_its_rule_leaves_the_block_to_the_text_road(changes):
    block = (_csv_line(1) + "\n" + _csv_line(2, **changes) + "\n").encode()
    assert _checked(block) is None
    assert _checked((_csv_line(1) + "\n").encode()) is not None


def test_headers_and_defaults_the_checked_reader_does_not_take():
    block = "\n".join(_csv_line(n) for n in range(3)).encode()
    assert _checked(block, source="") is not None  # no blank source cell: the key's source is not needed
    blank_source = _csv_line(1, source_system=None).encode()
    assert _checked(blank_source, source="") is None  # "" breaks the source's pattern
    assert _checked(blank_source, source="crm").column("source_system").to_pylist() == ["crm"]
    assert _checked(block.replace(b"\n", b",x\n") + b",x", [*CSV_HEADER, "mystery"]) is None
    assert _checked((_csv_line(1) + ",{}").encode(), [*CSV_HEADER, "attributes"]) is None


def test_thousands_of_mutated_csv_records_are_checked_as_the_text_road_checks_them_or_not_at_all():
    taken = sum(_checked_as_text_road(block) for block in _mutated_csv_blocks(20261208))
    assert taken > 300, f"only {taken} mutated blocks were taken by the checked reader: the test proves little"


def test_amounts_from_text_are_those_of_the_checks_and_cast():
    rng = random.Random(11)
    texts = ["0", "-0", "0.5", "-12.3400", "999999999999999.9999", "1.", ".5", "01.5", "1.23456", "1e3", "+1"]
    texts += ["1000000000000000", "", "1..2", "-", "1-2", "١٢"]  # the last: Arabic-Indic digits
    texts += [
        f"{rng.choice(['', '-'])}{rng.randrange(10 ** rng.randrange(1, 16))}.{rng.randrange(10**4)}" for _ in range(999)
    ]
    for text in texts:
        column = pa.array([text, None, "1.5"], pa.string())
        fast = decimals_from_text(column)
        checked = _checked_and_cast(column)
        if fast is not None:
            assert not isinstance(checked, str) and fast.equals(checked), text
        assert fast is None or decimals_from_text(column.slice(1)) is not None
    whole = pa.array(texts[18:], pa.string())
    assert decimals_from_text(whole).equals(_checked_and_cast(whole))


def _checked_and_cast(column: pa.Array) -> pa.Array | str:
    try:
        check_number_text(column.drop_null(), point=True)
        return pc.cast(column, pa.decimal128(19, 4))
    except FALLBACK as exc:
        return f"refused: {type(exc).__name__}"


def test_blocks_joined_from_chunks_are_those_numpy_copies(monkeypatch):
    rng = random.Random(5)
    text = b"".join(json.dumps(_record(n)).encode() + b"\n" for n in range(2000))
    cuts = sorted(rng.sample(range(1, len(text)), 300))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    native = [bytes(block) for block in chunks.line_blocks(pieces, 50_000)]
    monkeypatch.setattr(chunks, "NATIVE", None)
    assert native == [bytes(block) for block in chunks.line_blocks(pieces, 50_000)]
    assert b"".join(native) == text and len(native) > 5
