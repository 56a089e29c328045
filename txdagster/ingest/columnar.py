"""The columnar fast path for raw files (NDJSON, CSV) and change batches: a block of lines read by pyarrow with
the contract's types, checked with vectorised rules derived from ``FIELDS``, typed without a Python loop.

A block is taken whole or not at all: when pyarrow cannot read it with the contract's types (a JSON
number where text belongs, an object as a name...) or any of its rows breaks a rule, the caller sends
that block alone down the row-by-row road, which quarantines exactly the bad rows with their reasons.
The rules here and there come from the same contract, so both roads publish the same rows.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pj

from lambdas.stream_exporter.batch import SEQUENCE_DIGITS
from txdagster.contract.arrow import CHANGE_TYPES, table_arrow_schema
from txdagster.contract.fields import (
    AMOUNT_PRECISION,
    AMOUNT_SCALE,
    ATTRIBUTE_KEY_MAX_LENGTH,
    ATTRIBUTE_VALUE_MAX_LENGTH,
    ATTRIBUTES_MAX_KEYS,
    EVENT_TIME_EARLIEST,
    FIELD_NAMES,
    FIELDS,
    FORBIDDEN_RANGES,
    FREE_TEXT_PATTERN,
    INTEGER_MAX,
    INTEGER_MIN,
    INTEGER_TEXT_DIGITS,
    Field,
)
from txdagster.ingest.chunks import BLOCK_BYTES

_DIGITS = b"0123456789"
_TEXT_PIECE = 64 << 10
_DECIMAL = pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)
_READ_TYPES = {"string": pa.string(), "decimal": pa.string(), "timestamp": pa.string(), "integer": pa.int64()}
_READ_SCHEMA = pa.schema([(f.name, _READ_TYPES[f.kind]) for f in FIELDS if f.kind in _READ_TYPES])
_READ = pj.ReadOptions(block_size=BLOCK_BYTES * 2, use_threads=False)  # blocks are typed two at a time already
_PARSE = pj.ParseOptions(explicit_schema=_READ_SCHEMA, unexpected_field_behavior="infer")
_TIMESTAMP = pa.timestamp("us", tz="UTC")
_CSV_TYPES = {f.name: _TIMESTAMP for f in FIELDS if f.kind == "timestamp"}
_MAP = pa.map_(pa.string(), pa.string())
_MAX_EPOCH_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_CANONICAL = pa.schema([table_arrow_schema("transaction_files").field(f.name) for f in FIELDS])
_TAGS = {"string": "S", "timestamp": "S", "decimal": "N", "integer": "N"}
_IMAGE = pa.struct([(f.name, pa.struct([(_TAGS[f.kind], pa.string())])) for f in FIELDS if f.kind in _TAGS])
_CHANGE_PARSE = pj.ParseOptions(
    explicit_schema=pa.schema(
        [
            ("event_name", pa.string()),
            ("sequence_number", pa.string()),
            ("approximate_creation_time", pa.float64()),
            ("new_image", _IMAGE),
            ("old_image", _IMAGE),
        ]
    ),
    unexpected_field_behavior="infer",
)


def one_array(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array, at offset 0 (a struct's ``field`` ignores its offset): its only chunk as it
    is when it starts at 0 (``combine_chunks`` copies even that)."""
    if column.num_chunks == 1 and column.chunk(0).offset == 0:
        return column.chunk(0)
    return column.combine_chunks()


class NotColumnar(ValueError):
    """This block needs the row-by-row road."""


#: What sends a block row by row: a refusal here, or any error pyarrow raises on it (the row road then
#: says what is wrong with which row).
FALLBACK = (NotColumnar, pa.ArrowException)


#: Deeper blocks go row by row: pyarrow's JSON reader slows down with depth (1 s per 2 MB of lines 10k
#: levels deep, against 0.03 s at 1k) and overflows its stack by 100k levels.
MAX_NESTING = 1024
_NEWLINE = ord("\n")


_BRACKETS = np.zeros(256, dtype=np.int8)
_BRACKETS[[ord("{"), ord("[")]] = 1
_BRACKETS[[ord("}"), ord("]")]] = -1
_NOT_BRACKETS = bytes(b for b in range(256) if _BRACKETS[b] == 0)


def _lines_shorter_than(block: bytes | pa.Buffer, limit: int) -> bool:
    """Whether every line of the block is shorter than ``limit`` bytes (then no line nests deeper): each
    aligned window of ``limit // 2`` bytes holds a line break, so two breaks are never ``limit`` bytes
    apart. One comparison and one ``any`` per window in numpy, without the GIL; a block of long lines
    gets ``False`` and its brackets are counted (``_nesting``)."""
    data = np.frombuffer(block, dtype=np.uint8)
    window = limit // 2
    whole = len(data) - len(data) % window
    breaks = (data[:whole] == _NEWLINE).view(np.uint64).reshape(-1, window // 8)
    return bool(breaks.any(axis=1).all())


def _nesting(block: bytes | pa.Buffer) -> int:
    """An upper bound of the block's bracket nesting (brackets inside strings may only raise it)."""
    brackets = b"".join(piece.translate(None, _NOT_BRACKETS) for piece in _pieces(block))  # a few bytes a line
    if not brackets:
        return 0
    depth = np.cumsum(_BRACKETS[np.frombuffer(brackets, dtype=np.uint8)], dtype=np.int32)
    return int(depth.max() - min(depth.min(), 0))


def _pieces(block: bytes | pa.Buffer) -> Iterator[bytes]:
    """A block as ``bytes`` (what ``bytes.translate`` reads), ``_TEXT_PIECE`` bytes at a time for an Arrow
    buffer: a small copy comes from memory the allocator reuses, a block-sized one would not."""
    if isinstance(block, bytes):
        yield block
        return
    for at in range(0, block.size, _TEXT_PIECE):
        yield block.slice(at, min(_TEXT_PIECE, block.size - at)).to_pybytes()


def _read(block: bytes | pa.Buffer, parse: pj.ParseOptions) -> pa.Table:
    if not _lines_shorter_than(block, MAX_NESTING) and _nesting(block) > MAX_NESTING:
        raise NotColumnar(f"nested deeper than {MAX_NESTING} levels")
    try:
        return pj.read_json(pa.BufferReader(block), read_options=_READ, parse_options=parse)  # no GIL, no copy
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise NotColumnar(str(exc)) from exc


def _attributes(column: pa.Array | None, rows: int) -> pa.Array:
    """The free ``attributes`` object, inferred by pyarrow as a struct (or a Parquet string map), as the
    contract's string map."""
    if column is None or pa.types.is_null(column.type):
        return pa.nulls(rows, _MAP)
    if pa.types.is_map(column.type):
        if column.type.key_type != pa.string() or column.type.item_type != pa.string():
            raise NotColumnar("attributes hold something other than text values")
        _within_limits(pa.array(np.diff(np.asarray(column.offsets))), column.keys, column.items)
        return column.cast(_MAP)
    if not pa.types.is_struct(column.type) or any(
        column.type.field(i).type != pa.string() for i in range(column.type.num_fields)
    ):
        raise NotColumnar("attributes hold something other than text values")
    width = column.type.num_fields
    names = pa.array([column.type.field(i).name for i in range(width)], pa.string())
    # row-major (row, field) pairs, keeping the fields a row has (one field: its column as it is)
    if width == 1:
        values = column.field(0)
    else:
        order = (np.arange(rows)[:, None] + np.arange(width)[None, :] * rows).ravel()
        values = pa.concat_arrays([column.field(i) for i in range(width)]).take(pa.array(order))
    keys = names.take(pa.array(np.tile(np.arange(width, dtype=np.int32), rows)))
    if values.null_count:
        kept = pc.is_valid(values)
        per_row = np.asarray(kept, dtype=np.int64).reshape(rows, width).sum(axis=1)
        keys, values = keys.filter(kept), values.filter(kept)
    else:  # every row has every field
        per_row = np.full(rows, width, dtype=np.int64)
    _within_limits(pa.array(per_row), names, values)
    offsets = pa.array(np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32))
    mask = pc.invert(column.is_valid())
    return pa.MapArray.from_arrays(offsets, keys, values, type=_MAP, mask=mask)


def _within_limits(keys_per_row: pa.Array, keys: pa.Array, values: pa.Array) -> None:
    """The contract's attribute limits: keys per object, key and value lengths (the row road names them)."""
    if (pc.max(keys_per_row).as_py() or 0) > ATTRIBUTES_MAX_KEYS:
        raise NotColumnar("attributes with too many keys")
    for texts, longest, what in (
        (keys, ATTRIBUTE_KEY_MAX_LENGTH, "key"),
        (values, ATTRIBUTE_VALUE_MAX_LENGTH, "value"),
    ):
        if not _lengths_clearly_within(texts, 0, longest) and (pc.max(pc.utf8_length(texts)).as_py() or 0) > longest:
            raise NotColumnar(f"an attribute {what} too long")


def _fail_if(mask: pa.Array) -> None:
    """A row where ``mask`` is true, or null (a rule that cannot be decided), breaks a rule."""
    if mask.null_count or pc.any(mask).as_py():
        raise NotColumnar("a row breaks a rule")


@functools.cache
def _value_set(values: tuple[str, ...]) -> pa.Array:
    return pa.array(values, pa.string())


def _values(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string column's offsets (from 0) and the UTF-8 bytes of its values, as numpy views (no copy)."""
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=width)[column.offset : column.offset + len(column) + 1]
    if data_buffer is None or len(offsets) < 2:
        return offsets - offsets[0] if len(offsets) else offsets, np.empty(0, dtype=np.uint8)
    return offsets - offsets[0], np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]


def _texts(column: pa.Array) -> Iterator[bytes]:
    """The UTF-8 bytes of a string column's values, one after the other, in pieces of about
    ``_TEXT_PIECE`` bytes cut between values (never inside one): ``bytes.translate`` needs ``bytes``,
    and a piece that small comes from memory the allocator reuses, where a block's whole column would
    be new pages from the OS each time."""
    offsets, _ = _values(column)
    data = column.buffers()[2]
    if data is None or len(offsets) < 2 or not offsets[-1]:
        return
    start = int(np.frombuffer(column.buffers()[1], dtype=offsets.dtype)[column.offset])
    total = int(offsets[-1])
    before = np.searchsorted(offsets, np.arange(_TEXT_PIECE, total, _TEXT_PIECE), side="right") - 1
    bounds = np.unique(np.concatenate([[0], offsets[before], [total]]))
    for low, high in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        yield data.slice(start + low, high - low).to_pybytes()


#: Deleting every byte but the forbidden ASCII ones leaves nothing in clean text (``bytes.translate``: a
#: C loop, far cheaper than a regex per value or a numpy lookup per byte).
_NOT_FORBIDDEN = bytes(b for b in range(256) if not any(low <= b <= high for low, high in FORBIDDEN_RANGES))
_FORBIDDEN_WIDE = tuple(chr(c).encode() for low, high in FORBIDDEN_RANGES if low >= 0x80 for c in range(low, high + 1))
_WIDE_LEADS = tuple({sequence[:1] for sequence in _FORBIDDEN_WIDE})


def _has_forbidden(column: pa.Array) -> bool:
    """Any forbidden character in the column's text (free text's rule, on the bytes: no regex per row)."""
    for text in _texts(column):
        if text.translate(None, _NOT_FORBIDDEN):
            return True
        if any(lead in text for lead in _WIDE_LEADS) and any(sequence in text for sequence in _FORBIDDEN_WIDE):
            return True
    return False


#: ``^[first][rest]{m,n}$``: a pattern a byte lookup checks as well as a regex, when both classes are ASCII.
_CLASS_PATTERN = re.compile(r"\^\[([^\]^][^\]]*)\]\[([^\]^][^\]]*)\]\{(\d+),(\d+)\}\$")


@functools.cache
def _byte_rule(pattern: str) -> tuple[np.ndarray, bytes, int, int] | None:
    """(allowed first bytes, the bytes allowed after it, shortest, longest) of such a pattern whose first
    class is ASCII and within the second, else None (the regex then checks it)."""
    match = _CLASS_PATTERN.fullmatch(pattern)
    if match is None:
        return None
    classes = [re.compile(f"[{c}]") for c in match.groups()[:2]]
    first, rest = (np.array([c.fullmatch(chr(b)) is not None for b in range(256)]) for c in classes)
    if first[0x80:].any() or rest[0x80:].any() or (first & ~rest).any():
        return None
    return first, bytes(np.flatnonzero(rest).astype(np.uint8)), int(match[3]) + 1, int(match[4]) + 1


def _follows(column: pa.Array, rule: tuple[np.ndarray, bytes, int, int]) -> bool:
    first, allowed, shortest, longest = rule
    offsets, data = _values(column)
    if len(offsets) < 2:
        return True
    lengths = np.diff(offsets)
    if lengths.min() < shortest or lengths.max() > longest:
        return False
    return bool(first[data[offsets[:-1]]].all()) and not any(t.translate(None, allowed) for t in _texts(column))


def _checked_text(
    column: pa.Array,
    pattern: str | None,
    enum: tuple[str, ...] | None,
    max_length: int | None,
    min_length: int | None = None,
) -> None:
    present = column.drop_null() if column.null_count else column
    if enum:
        _fail_if(pc.invert(pc.is_in(present, value_set=_value_set(enum))))
    if pattern == FREE_TEXT_PATTERN:
        if _has_forbidden(present):
            raise NotColumnar("a forbidden character in free text")
    elif pattern and (rule := _byte_rule(pattern)):
        if not _follows(present, rule):
            raise NotColumnar(f"a value does not match {pattern}")
    elif pattern:
        _fail_if(pc.invert(pc.match_substring_regex(present, pattern)))
    if (max_length or min_length) and not _lengths_clearly_within(present, min_length or 0, max_length or 2**31):
        lengths = pc.utf8_length(present)
        _fail_if(pc.or_(pc.greater(lengths, max_length or 2**31), pc.less(lengths, min_length or 0)))


def _lengths_clearly_within(column: pa.Array, shortest: int, longest: int) -> bool:
    """Whether the values' byte lengths alone prove their lengths in characters within the bounds (a
    UTF-8 character takes 1 to 4 bytes): then no character is counted. A null slot's bytes may only
    make the proof fail (the caller then counts characters)."""
    offsets, _ = _values(column)
    if len(offsets) < 2:
        return True
    sizes = np.diff(offsets)
    return int(sizes.max()) <= longest and -(-int(sizes.min()) // 4) >= shortest


def _check_number_text(column: pa.Array, point: bool) -> None:
    """The text form the row road takes for a number (``contract/dynamo.py``), checked on the bytes:
    digits with at most a leading minus, no leading zero before a digit, and with ``point`` digits on
    both sides of a point and at most the scale's after it. What is left to the cast that follows: one
    point at most, and the integer digits the type holds."""
    offsets, data = _values(column)
    if len(offsets) < 2:
        return
    if any(text.translate(None, _DIGITS + (b".-" if point else b"-")) for text in _texts(column)):
        raise NotColumnar("a number holds a byte other than digits, a point or a minus")
    starts, ends = offsets[:-1], offsets[1:]
    if int((ends - starts).min()) < 1:
        raise NotColumnar("an empty number")
    negative = data[starts] == ord("-")
    digits = starts + negative  # where the integer digits start
    last = len(data) - 1
    if (
        int(np.count_nonzero(data == ord("-"))) != int(np.count_nonzero(negative))  # a minus not first
        or bool((digits >= ends).any())  # a minus alone
        or bool((data[np.minimum(digits, last)] == ord(".")).any())  # no digit before the point
        or bool((data[ends - 1] == ord(".")).any())  # no digit after it
    ):
        raise NotColumnar("a number not in the contract's text form")
    if point:  # a leading zero before another digit ("007"; integer text allows it, as its pattern does)
        second = data[np.minimum(digits + 1, last)]
        if bool(((data[np.minimum(digits, last)] == ord("0")) & (digits + 1 < ends) & (second != ord("."))).any()):
            raise NotColumnar("a number with a leading zero")
        found = np.asarray(pc.find_substring(column, "."))  # where the point is in each value, -1: none
        if int(np.where(found >= 0, ends - starts - found - 1, 0).max()) > AMOUNT_SCALE:
            raise NotColumnar("a number with more decimals than the scale")
    elif int((ends - digits).max()) > INTEGER_TEXT_DIGITS:
        raise NotColumnar("an integer with too many digits")


def _cast(f: Field, column: pa.Array, to: pa.DataType) -> pa.Array:
    try:
        return pc.cast(column, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:  # a second point, too many digits...
        raise NotColumnar(f"{f.name}: {exc}") from exc


def _typed(f: Field, column: pa.Array) -> pa.Array:
    """One canonical column checked with the contract's rules and cast to its lake type."""
    if f.required:
        _fail_if(column.is_null())
    if f.kind == "string":
        _checked_text(column, f.pattern, f.enum, f.max_length, f.min_length)
        return column
    if f.kind == "decimal":
        _check_number_text(column.drop_null(), point=True)
        return _cast(f, column, _DECIMAL)
    if f.kind == "timestamp":
        return _cast(f, column, _TIMESTAMP)
    if pa.types.is_string(column.type):  # an integer as text (a DynamoDB Number, a CSV cell)
        _check_number_text(column.drop_null(), point=False)
        column = _cast(f, column, pa.int64())
    _fail_if(pc.or_(pc.less(column, INTEGER_MIN), pc.greater(column, INTEGER_MAX)))
    return column


def _canonical_table(columns: dict[str, pa.Array], attributes: pa.Array) -> pa.Table:
    typed = [attributes if f.kind == "map" else _typed(f, columns[f.name]) for f in FIELDS]
    return pa.table(typed, schema=_CANONICAL)


def typed_block(
    block: bytes | pa.Buffer, *, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    """A block of NDJSON lines as canonical rows (defaults filled, every rule checked), and the fields the
    contract does not know with how many rows carried them. Raises ``NotColumnar`` instead of guessing."""
    return _typed_records(_read(block, _PARSE), source_system, ingested_at, latest_event_time)


def typed_csv_block(
    block: bytes | pa.Buffer,
    header: list[str],
    *,
    quoted: bool,
    source_system: str,
    ingested_at: datetime,
    latest_event_time: datetime,
) -> tuple[pa.Table, Counter[str]]:
    """A block of whole CSV records (no header line) read as columns named by ``header``, then as
    ``typed_block``. A row with too many or too few cells, or attributes (JSON text in a cell), sends
    the block row by row.

    - Only a blank cell is null (pyarrow's default would also take ``NA``, ``NULL``, ``nan``... for
      null, which the row road keeps as text): text columns are read without nulls, and their blank
      cells made null after (``_blanks_as_nulls``).
    - Timestamps are parsed by the reader, which accepts exactly what a cast from text does (pyarrow's
      JSON reader does not: it takes a time without a zone); the other columns are read as text.
    - Quoted line breaks are looked for only in a block with a quote (``quoted``).
    - A row with the wrong number of cells makes pyarrow raise (an ``invalid_row_handler`` would cost
      a Python call per row and a slower parser)."""
    try:
        table = pacsv.read_csv(
            pa.BufferReader(block),
            read_options=pacsv.ReadOptions(column_names=header, use_threads=False, block_size=BLOCK_BYTES * 2),
            parse_options=pacsv.ParseOptions(newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(
                column_types={name: _CSV_TYPES.get(name, pa.string()) for name in header},
                null_values=[""],  # in the timestamp columns; text columns keep "" (``_blanks_as_nulls``)
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:  # a row with too many or too few cells, or not UTF-8
        raise NotColumnar(str(exc)) from exc
    table = _blanks_as_nulls(table)
    if "attributes" in table.column_names and table.column("attributes").null_count < table.num_rows:
        raise NotColumnar("attributes come as JSON text")
    return _typed_records(
        table.drop_columns(["attributes"]) if "attributes" in table.column_names else table,
        source_system,
        ingested_at,
        latest_event_time,
    )


def _blanks_as_nulls(table: pa.Table) -> pa.Table:
    """A CSV block's blank text cells as nulls. The reader could null them itself
    (``strings_can_be_null``), but that costs about a tenth of its time on every cell, where the
    lengths of a column show at once whether it has a blank cell at all."""
    for i, name in enumerate(table.column_names):
        column = one_array(table.column(i))
        offsets, _ = _values(column) if pa.types.is_string(column.type) else ((), None)
        if len(offsets) > 1 and int(np.diff(offsets).min()) == 0:
            blank = pc.equal(pc.binary_length(column), 0)
            table = table.set_column(i, name, pc.if_else(blank, pa.scalar(None, pa.string()), column))
    return table


def _typed_records(
    table: pa.Table, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    rows = table.num_rows
    unknown = Counter(
        {
            name: rows - table.column(name).null_count
            for name in table.column_names
            if name not in FIELD_NAMES and table.column(name).null_count < rows
        }
    )
    defaults = {"source_system": source_system, "version": 1, "ingested_at": ingested_at}
    columns = {}
    for f in FIELDS:
        if f.kind == "map":
            continue
        column = one_array(table.column(f.name)) if f.name in table.column_names else pa.nulls(rows, pa.string())
        if f.name in defaults and column.null_count:
            default = defaults[f.name]
            if pa.types.is_string(column.type) or pa.types.is_null(column.type):  # typed later, from text
                default = default.isoformat() if isinstance(default, datetime) else str(default)
                column = column.cast(pa.string())
            column = pc.fill_null(column, pa.scalar(default, column.type))
        columns[f.name] = column
    given = one_array(table.column("attributes")) if "attributes" in table.column_names else None
    result = _canonical_table(columns, _attributes(given, rows))
    event_time = result.column("event_time")
    _fail_if(
        pc.or_(
            pc.less_equal(event_time, pa.scalar(EVENT_TIME_EARLIEST, _TIMESTAMP)),
            pc.greater(event_time, pa.scalar(latest_event_time, _TIMESTAMP)),
        )
    )
    return result, unknown


_FIELD = {f.name: f for f in FIELDS}


def _parquet_column(f: Field, column: pa.Array) -> pa.Array:
    """A Parquet column in the form the checks take: text as text, a decimal that fits as its text, a
    time-zone aware timestamp, an integer; any other type sends the batch row by row."""
    if pa.types.is_null(column.type):
        return column.cast(pa.string()) if f.kind != "map" else column
    if f.kind == "map" or pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string()) if pa.types.is_large_string(column.type) else column
    if f.kind == "decimal" and pa.types.is_decimal(column.type):
        try:
            return column.cast(pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)).cast(pa.string())
        except pa.ArrowInvalid as exc:
            raise NotColumnar(f"{f.name}: {exc}") from exc
    if f.kind == "timestamp" and pa.types.is_timestamp(column.type) and column.type.tz is not None:
        return column
    if f.kind == "integer" and pa.types.is_integer(column.type):
        return column.cast(pa.int64())
    raise NotColumnar(f"{f.name} is a Parquet {column.type}")


def typed_parquet_block(
    table: pa.Table, *, source_system: str, ingested_at: datetime, latest_event_time: datetime
) -> tuple[pa.Table, Counter[str]]:
    """A batch of a Parquet file's rows, checked and typed as ``typed_block`` does NDJSON."""
    columns = {name: one_array(table.column(name)) for name in table.column_names}
    typed = {
        name: (_parquet_column(_FIELD[name], column) if name in _FIELD else column) for name, column in columns.items()
    }
    return _typed_records(pa.table(typed), source_system, ingested_at, latest_event_time)


def _image_field(image: pa.Array | None, name: str, tag: str, rows: int) -> pa.Array:
    """``image.<name>.<tag>`` (DynamoDB-JSON), all null where the image or the attribute is absent;
    any other type tag sends the block row by row."""
    if image is None or pa.types.is_null(image.type) or image.type.get_field_index(name) < 0:
        return pa.nulls(rows, pa.string())
    attribute = image.field(name)
    for i in range(attribute.type.num_fields):
        other = attribute.type.field(i).name
        if other != tag and attribute.field(i).null_count < rows:
            raise NotColumnar(f"{name} is a DynamoDB {other}, not {tag}")
    if attribute.type.get_field_index(tag) < 0:
        return pa.nulls(rows, pa.string())
    return pc.if_else(image.is_valid(), attribute.field(tag), pa.nulls(rows, pa.string()))


def typed_change_block(block: bytes | pa.Buffer) -> pa.Table:
    """A block of change-batch lines (the stream exporter's DynamoDB-JSON) as ``transaction_changes``
    rows: the image a change carries (NewImage, OldImage for a REMOVE) decoded column-wise."""
    table = _read(block, _CHANGE_PARSE)
    rows = table.num_rows
    event = one_array(table.column("event_name"))
    _fail_if(pc.invert(pc.is_in(event, value_set=_value_set(tuple(CHANGE_TYPES)))))
    removed = pc.equal(event, "REMOVE")
    images = {
        side: (one_array(table.column(side)) if side in table.column_names else None)
        for side in ("new_image", "old_image")
    }
    for side, where in (("new_image", pc.invert(removed)), ("old_image", removed)):
        image = images[side]
        present = image.is_valid() if image is not None else pa.repeat(False, rows)
        _fail_if(pc.and_(where, pc.invert(present)))  # a change without the image it needs
    columns = {}
    for f in FIELDS:
        if f.kind != "map":
            tag = "N" if f.kind in ("decimal", "integer") else "S"
            new, old = (_image_field(images[side], f.name, tag, rows) for side in ("new_image", "old_image"))
            columns[f.name] = pc.if_else(removed, old, new)
    attributes = pc.if_else(removed, _image_map(images["old_image"], rows), _image_map(images["new_image"], rows))
    result = _canonical_table(columns, attributes)
    sequence = one_array(table.column("sequence_number"))
    _fail_if(pc.invert(pc.match_substring_regex(sequence, r"^[0-9]{1,40}$")))
    seconds = one_array(table.column("approximate_creation_time"))
    _fail_if(pc.or_(pc.is_null(seconds), pc.or_(pc.less(seconds, 0), pc.greater(seconds, _MAX_EPOCH_SECONDS))))
    change_time = pc.cast(pc.cast(pc.round(pc.multiply(seconds, 1_000_000)), pa.int64()), _TIMESTAMP)
    result = result.append_column("change_type", event)
    result = result.append_column("sequence_number", pc.utf8_lpad(sequence, SEQUENCE_DIGITS, "0"))
    return result.append_column("change_time", change_time)


def _image_map(image: pa.Array | None, rows: int) -> pa.Array:
    """``attributes.M`` of an image (a struct of ``{"S": ...}``) as the contract's string map."""
    if image is None or pa.types.is_null(image.type) or image.type.get_field_index("attributes") < 0:
        return pa.nulls(rows, _MAP)
    attribute = image.field("attributes")
    if attribute.type.get_field_index("M") < 0 or attribute.type.num_fields != 1:
        raise NotColumnar("attributes is not a DynamoDB map")
    values = attribute.field("M")
    if not pa.types.is_struct(values.type):
        return pa.nulls(rows, _MAP)
    children = []
    for i in range(values.type.num_fields):
        child = values.field(i)
        if child.type != pa.struct([("S", pa.string())]):
            raise NotColumnar("attributes hold something other than text values")
        children.append(pa.field(values.type.field(i).name, pa.string()))
    texts = [values.field(i).field("S") for i in range(values.type.num_fields)]
    absent = pc.invert(pc.and_(image.is_valid(), values.is_valid()))
    strings = pa.StructArray.from_arrays(texts, fields=children, mask=absent)
    return _attributes(strings, rows)
