"""Parse raw files dropped into ``raw/<source_system>/dt=YYYY-MM-DD/`` into lake rows.

Files carry canonical records: NDJSON (``.jsonl``/``.ndjson``), a JSON array (``.json``), CSV with a
header (``.csv``) or Parquet (``.parquet``), each optionally gzip-compressed (``.gz``). A missing or
blank ``source_system`` is taken from the path, ``version`` is 1 and ``ingested_at`` is the time of
ingestion.

Types are checked, never coerced (``contract/dynamo.py``). A CSV's header must name the contract's
columns: without it the file is quarantined whole (a header-less file would otherwise lose its first
row as the header). Fields the contract does not know are counted and reported, not silently dropped.
``event_time`` must fall between 1970 and ``max_ahead`` past the ingestion time.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from txdagster.contract.dynamo import VALUE_ERRORS, RecordError, item_to_row
from txdagster.contract.fields import EVENT_TIME_EARLIEST, FIELD_NAMES, FIELDS, KEY
from txdagster.ingest import json_array
from txdagster.ingest.ahead import at_once, mapped_ahead
from txdagster.ingest.chunks import (
    BLOCK_BYTES,
    LINE_BLOCK_BYTES,
    Records,
    content,
    line_blocks,
    lines_in,
    record_blocks,
    split_first_line,
    without_bom,
)
from txdagster.ingest.columnar import FALLBACK, NotColumnar, typed_block, typed_csv_block, typed_parquet_block
from txdagster.ingest.fingerprints import Fingerprints, sorted_fingerprints
from txdagster.ingest.rows import Parsed, Reject, with_origin

FORMATS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
PARQUET_BATCH_ROWS = 64 * 1024
PARTS_PER_BLOCK = 32  # a block that fails is tried again in this many parts (``_File.part_size``)
DEFAULTED = ("source_system", "version", "ingested_at")
CSV_REQUIRED = tuple(f.name for f in FIELDS if f.required and f.name not in DEFAULTED)
_EXTRA_CELLS = "\x00extra cells"  # where csv.DictReader puts cells beyond the header (never a column name)


class UnsupportedFile(ValueError):
    pass


def file_format(key: str) -> str:
    name = key.lower().removesuffix(".gz")
    for suffix in FORMATS:
        if name.endswith(suffix):
            return suffix
    raise UnsupportedFile(f"{key}: unsupported file type; use one of {', '.join(FORMATS)} (optionally .gz)")


def source_from_key(key: str) -> str:
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "raw" else ""


def check_header(header: list[str]) -> None:
    missing = [name for name in CSV_REQUIRED if name not in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing or repeated:
        problems = ([f"missing columns {', '.join(missing)}"] if missing else []) + (
            [f"repeated columns {', '.join(repeated)}"] if repeated else []
        )
        raise ValueError(
            f"the CSV header does not match the contract ({'; '.join(problems)}); the first line must name the "
            f"columns (a file without a header?): {','.join(header)[:200]!r}"
        )


def _record(raw: Any) -> dict[str, Any]:
    parsed: Any = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(parsed, dict):
        raise RecordError("each record must be an object")
    record = dict(cast("dict[str, Any]", parsed))  # the raw record stays as it came, for quarantine
    extra = record.pop(_EXTRA_CELLS, None)
    if extra:
        raise RecordError(f"row has {len(extra)} more cell(s) than the header: {extra[:3]!r}")
    if isinstance(record.get("attributes"), str):  # a CSV cell: JSON text
        try:
            record["attributes"] = json.loads(record["attributes"])
        except ValueError as exc:
            raise RecordError(f"attributes: not a JSON object: {exc}") from exc
    return record


def _quarantinable(raw: Any) -> Any:
    """The record as it can be written to quarantine: the raw text, or the row without the extra-cells key."""
    if not isinstance(raw, dict):
        return raw
    row = cast("dict[str, Any]", raw)
    if _EXTRA_CELLS not in row:
        return row
    return {**{k: v for k, v in row.items() if k != _EXTRA_CELLS}, "extra_cells": row[_EXTRA_CELLS]}


def _check_event_time(row: dict[str, Any], latest: datetime) -> None:
    event_time = row["event_time"]
    if event_time <= EVENT_TIME_EARLIEST or event_time > latest:
        raise RecordError(
            f"event_time: {event_time.isoformat()} is outside {EVENT_TIME_EARLIEST.isoformat()} (excluded: epoch 0 is "
            f"a missing value)..{latest.isoformat()} (the ingestion time plus TXD_MAX_EVENT_AHEAD_HOURS)"
        )


@dataclass
class _File:
    """One raw file on its way: where it came from, its time window and the ids it has delivered."""

    key: str
    ingested_at: datetime
    latest_event_time: datetime
    block_size: int = BLOCK_BYTES
    next_line: int = 1  # NDJSON: the number of the next block's first line
    numbered: int = 0  # CSV: the records numbered so far
    parsed: Parsed = field(default_factory=Parsed)
    ids: Fingerprints = field(default_factory=Fingerprints)  # the ids delivered so far, 8 bytes each

    @property
    def part_size(self) -> int:
        """A block that fails is tried again in parts of this size, so that only the parts holding a bad
        row go row by row (a row costs some 50 microseconds there, a 4 MiB block half a second)."""
        return max(self.block_size // PARTS_PER_BLOCK, 1)

    def record(self, number: int, raw: Any) -> None:
        """The row-by-row road: one record typed and checked, or rejected with a reason naming the field."""
        try:
            record = _record(raw)
            defaults = (source_from_key(self.key), 1, self.ingested_at.isoformat())
            for name, default in zip(DEFAULTED, defaults, strict=True):
                if record.get(name) is None:  # missing, JSON null or a blank CSV cell
                    record[name] = default
            row = item_to_row(record)
            _check_event_time(row, self.latest_event_time)
            if self.ids.seen(row[KEY]):
                raise RecordError(f"{KEY}: {row[KEY]!r} came earlier in this file already")
        except VALUE_ERRORS as exc:
            reason = "nested too deeply to parse" if isinstance(exc, RecursionError) else str(exc)
            self.parsed.rejects.append(Reject(self.key, number, reason, _quarantinable(raw)))
            return
        self.ids.add(row[KEY])
        self.parsed.unknown_fields.update(
            name for name, value in record.items() if name not in FIELD_NAMES and value is not None
        )
        row["source_file"] = self.key
        row["source_row"] = number
        self.parsed.add(row, self.key, number, raw)

    def typed(self, block: pa.Buffer | bytes) -> tuple[pa.Table, Counter[str], np.ndarray, int]:
        """A block of NDJSON lines on the columnar road, with its ids' sorted fingerprints and its number of
        lines (thread-safe: it reads nothing that changes)."""
        table, unknown = typed_block(
            block,
            source_system=source_from_key(self.key),
            ingested_at=self.ingested_at,
            latest_event_time=self.latest_event_time,
        )
        return table, unknown, sorted_fingerprints(table.column(KEY)), lines_in(block)

    def lines(self, block: pa.Buffer | bytes, typed: Future[Any], *, part: bool = False) -> Iterator[Parsed]:
        """NDJSON lines from line ``next_line`` on: the columnar road's rows (``typed``) when the whole block
        passed, else the same for each of its parts (``part_size``), each line on its own in a part that
        fails too; a piece per part, in the file's order."""
        self.parsed = Parsed()
        try:
            table, unknown, prints, lines = typed.result()
            prints = self.ids.fresh_block(prints)
            if table.num_rows != lines or prints is None:
                raise NotColumnar("blank lines, or ids repeated in the block or seen in an earlier one")
        except FALLBACK:
            if not part and len(block) > self.part_size:
                for piece in line_blocks([bytes(block)], self.part_size):
                    yield from self.lines(piece, at_once(self.typed, piece), part=True)
                return
            lines, text = 0, bytes(block)
            for lines, line in enumerate(text.split(b"\n"), start=1):
                if line.strip():
                    self._line(self.next_line + lines - 1, line)
            self.ids.settle()
            self.next_line += lines - (1 if text.endswith(b"\n") else 0)
            yield self.parsed
            return
        self._add_table(table, unknown, prints, self.next_line)
        self.next_line += lines
        yield self.parsed

    def _add_table(self, table: pa.Table, unknown: Counter[str], prints: np.ndarray, first_row: int) -> None:
        self.ids.add_sorted(prints)
        self.parsed.unknown_fields.update(unknown)
        self.parsed.add_table(with_origin(table, self.key, first_row))

    def csv(self, chunks: Iterable[bytes]) -> Iterator[Parsed]:
        """CSV records a block at a time (``records``). Records are numbered from 1 after the header, as by
        ``csv.DictReader``."""
        header_line, rest = split_first_line(chunks)
        no_header: list[str] = []
        header = next(csv.reader([header_line.decode("utf-8").rstrip("\r")]), no_header)
        check_header(header)
        typed = functools.partial(self._typed_csv, header)
        for block, result in mapped_ahead(typed, record_blocks(rest, self.block_size)):
            yield from self.records(header, block, result)

    def _typed_csv(self, header: list[str], block: Records) -> tuple[pa.Table, Counter[str], np.ndarray]:
        table, unknown = typed_csv_block(
            block.data,
            header,
            quoted=block.quoted,
            source_system=source_from_key(self.key),
            ingested_at=self.ingested_at,
            latest_event_time=self.latest_event_time,
        )
        return table, unknown, sorted_fingerprints(table.column(KEY))

    def records(self, header: list[str], block: Records, typed: Future[Any], *, part: bool = False) -> Iterator[Parsed]:
        """CSV records after the first ``numbered``: the columnar road's rows (``typed``) when the whole block
        passed, else the same for each of its parts, record by record in a part that fails too; a piece
        per part, in the file's order."""
        self.parsed = Parsed()
        try:
            table, unknown, prints = typed.result()
            prints = self.ids.fresh_block(prints)
            if prints is None:
                raise NotColumnar("ids repeated in the block or seen in an earlier one")
        except FALLBACK:
            if not part and block.data.size > self.part_size:
                typed_part = functools.partial(self._typed_csv, header)
                for piece in record_blocks([bytes(block.data)], self.part_size):
                    yield from self.records(header, piece, at_once(typed_part, piece), part=True)
                return
            reader = csv.DictReader(
                io.StringIO(bytes(block.data).decode("utf-8")), fieldnames=header, restkey=_EXTRA_CELLS
            )
            for row in reader:
                self.numbered += 1
                self.record(self.numbered, {k: (v if v != "" else None) for k, v in row.items()})
            self.ids.settle()
            yield self.parsed
            return
        self._add_table(table, unknown, prints, self.numbered + 1)
        self.numbered += table.num_rows
        yield self.parsed

    def parquet(self, chunks: Iterable[bytes]) -> Iterator[Parsed]:
        """A Parquet file, spooled to local disk (its footer is at the end), read a batch of rows at a time:
        the columnar road when the batch's types are the contract's and every row passes, else row by
        row, where typed columns are checked as values (a double amount is refused, a timestamp must
        carry its time zone, a map becomes the attributes)."""
        with tempfile.TemporaryFile() as spool:
            for chunk in chunks:
                spool.write(chunk)
            spool.seek(0)
            numbered = 0
            for batch in pq.ParquetFile(spool).iter_batches(batch_size=PARQUET_BATCH_ROWS):
                self.parsed = Parsed()
                try:
                    table, unknown = typed_parquet_block(
                        pa.Table.from_batches([batch]),
                        source_system=source_from_key(self.key),
                        ingested_at=self.ingested_at,
                        latest_event_time=self.latest_event_time,
                    )
                    prints = self.ids.fresh_block(sorted_fingerprints(table.column(KEY)))
                    if prints is None:
                        raise NotColumnar("ids repeated in the batch or seen in an earlier one")
                except FALLBACK:
                    for record in batch.to_pylist():
                        numbered += 1
                        if isinstance(record.get("attributes"), list):  # a Parquet map comes as (key, value) pairs
                            record["attributes"] = dict(record["attributes"])
                        self.record(numbered, record)
                    self.ids.settle()
                    yield self.parsed
                    continue
                self._add_table(table, unknown, prints, numbered + 1)
                numbered += table.num_rows
                yield self.parsed

    def _line(self, number: int, line: bytes) -> None:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.parsed.rejects.append(Reject(self.key, number, f"not UTF-8 text: {exc}", repr(line[:1000])))
            return
        self.record(number, text)


def raw_file_blocks(
    chunks: Iterable[bytes],
    key: str,
    ingested_at: datetime,
    max_ahead: timedelta = timedelta(hours=24),
    block_size: int | None = None,
) -> Iterator[Parsed]:
    """What each block of a raw file gives. NDJSON, JSON arrays (as NDJSON, ``json_array.py``) and CSV
    stream block by block (``LINE_BLOCK_BYTES`` and ``BLOCK_BYTES`` unless ``block_size`` says), Parquet
    is spooled to disk and read a batch at a time. An unreadable file (or one cut short) ends with a
    single whole-object reject."""
    lines = key.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson", ".json"))
    block_size = block_size or (LINE_BLOCK_BYTES if lines else BLOCK_BYTES)
    file = _File(key, ingested_at, ingested_at + max_ahead, block_size)
    total = 0
    try:
        fmt = file_format(key)
        if fmt in (".jsonl", ".ndjson", ".json"):  # a JSON array comes as NDJSON, an element a line
            text = without_bom(content(chunks))
            blocks = line_blocks(text, block_size) if fmt != ".json" else json_array.elements(text, block_size)
            for block, typed in mapped_ahead(file.typed, blocks):
                for piece in file.lines(block, typed):
                    total += piece.total
                    yield piece
        elif fmt == ".csv":
            for piece in file.csv(without_bom(content(chunks))):
                total += piece.total
                yield piece
        elif fmt == ".parquet":
            for piece in file.parquet(content(chunks)):
                total += piece.total
                yield piece
    except (
        UnsupportedFile,
        zlib.error,
        EOFError,
        UnicodeDecodeError,
        ValueError,
        RecursionError,
        csv.Error,
        pa.ArrowException,
    ) as exc:
        yield Parsed(rejects=[Reject(key, 0, f"unreadable file: {exc}", None)], whole=True)
        return
    if total == 0:  # every input leaves a trace: an empty file is quarantined, not ignored
        yield Parsed(rejects=[Reject(key, 0, "file holds no records", None)])


def parse_raw_file(
    data: bytes,
    key: str,
    ingested_at: datetime,
    max_ahead: timedelta = timedelta(hours=24),
    block_size: int | None = None,
) -> Parsed:
    """A whole raw file at once (small inputs, inspection)."""
    return Parsed.merged(raw_file_blocks([data], key, ingested_at, max_ahead, block_size))
