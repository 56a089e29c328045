"""Outputs of one input object, written locally as they come, then published whole.

Valid rows go to a zstd Parquet file in row groups of ``ROW_GROUP_SIZE`` rows (buffered to that size,
so memory follows the row group, not the object), each encoded on a thread of its own and joined under
one footer (``parquet_parts.py``); rejects to a JSON-lines quarantine file. Only when
the object is done are the files handed to a ``Publisher``, which makes each visible at its key in
one step: a reader never sees a partial or empty file, and a failure half way publishes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from txdagster.contract.fields import FIELDS
from txdagster.ingest.parquet_parts import MAGIC, joined_footer, split
from txdagster.ingest.rows import Reject
from txdagster.ingest.thrift_compact import Field

COMPRESSION = "zstd"
ROW_GROUP_SIZE = 128 * 1024
#: Columns with few distinct values get dictionary pages (one value per object, as ``version`` and
#: ``ingested_at`` mostly are, is a dictionary of one and runs of zeros); trying a dictionary on ids,
#: amounts and row numbers only costs time before the writer falls back to plain pages.
DICTIONARY_COLUMNS = (
    *(f.name for f in FIELDS if f.enum),
    "source_system",
    "account_id",
    "counterparty",
    "version",
    "ingested_at",
    "change_type",
    "source_file",
)
#: Row numbers count up by one: delta-encoded, they take a few bits a page instead of 8 bytes a row
#: through zstd (every reader here reads the encoding: pyarrow, DuckDB, Athena).
DELTA_COLUMNS = ("source_row",)
#: Columns queries filter on carry min/max statistics (row-group pruning); the others skip their cost.
STATISTICS_COLUMNS = (
    "transaction_id",
    "account_id",
    "amount",
    "event_time",
    "ingested_at",
    "source_file",
    "sequence_number",
    "change_time",
)

#: Makes a finished local file visible at a key; returns the size stored there.
Publisher = Callable[[Path, str], int]


#: Row groups being encoded at once, each into a Parquet file of its own in memory (``parquet_parts.py``).
ENCODING_AHEAD = 2
_encoders: tuple[int, ThreadPoolExecutor] | None = None
_encoders_made = threading.Lock()


def _encoder_pool() -> ThreadPoolExecutor:
    """The process's encoding threads, made on first use in each process: a forked child (a
    multiprocessing worker) inherits the parent's pool without its threads, where work would wait
    forever."""
    global _encoders
    with _encoders_made:
        if _encoders is None or _encoders[0] != os.getpid():
            _encoders = (os.getpid(), ThreadPoolExecutor(ENCODING_AHEAD, thread_name_prefix="txd-parquet"))
        return _encoders[1]


class ParquetRows:
    """Rows appended block by block and written in full row groups. Each row group is encoded on one of
    the encoding threads (``_encoder_pool``) into a part of its own while the next rows come, and the
    parts' bytes are written to the file in order, under one footer (``parquet_parts.py``): a file's
    row groups are encoded on both cores, where one pyarrow writer encodes them one after the other."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self.rows = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._encoding: deque[Future[pa.Buffer]] = deque()
        self._file: BinaryIO | None = None
        self._footers: list[tuple[list[Field], int]] = []
        names = set(schema.names)
        self._options: dict[str, Any] = {
            "compression": COMPRESSION,
            "use_dictionary": [c for c in DICTIONARY_COLUMNS if c in names],
            "column_encoding": {c: "DELTA_BINARY_PACKED" for c in DELTA_COLUMNS if c in names},
            "write_statistics": [c for c in STATISTICS_COLUMNS if c in names],
        }

    def append(self, table: pa.Table) -> None:
        if table.num_rows:
            self._pending.append(table.cast(self.schema))
            self._pending_rows += table.num_rows
            self.rows += table.num_rows
        while self._pending_rows >= ROW_GROUP_SIZE:
            self._flush()

    def _encoded(self, table: pa.Table) -> pa.Buffer:
        sink = pa.BufferOutputStream()
        with pq.ParquetWriter(sink, self.schema, **self._options) as writer:
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        return sink.getvalue()

    def _flush(self, last: bool = False) -> None:
        """The pending rows' first ``ROW_GROUP_SIZE`` handed to an encoder (all of them when ``last``),
        the rest kept for the next row group: row groups of one size, whatever the blocks' sizes."""
        if not self._pending:
            return
        rows = pa.concat_tables(self._pending)
        size = rows.num_rows if last else ROW_GROUP_SIZE
        self._encoding.append(_encoder_pool().submit(self._encoded, rows.slice(0, size)))
        rest = rows.slice(size)
        self._pending, self._pending_rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
        while len(self._encoding) > ENCODING_AHEAD:
            self._write_part()

    def _write_part(self) -> None:
        part = split(self._encoding.popleft().result())
        if self._file is None:
            self._file = self.path.open("wb")
            self._file.write(MAGIC)
        self._footers.append((part.footer, self._file.tell()))
        self._file.write(memoryview(part.body))

    def written_bytes(self) -> int:
        """The bytes of the row groups handed over so far, once written (waits for those being encoded;
        the rows still pending a full row group are not counted)."""
        while self._encoding:
            self._write_part()
        return self._file.tell() if self._file is not None else 0

    def close(self) -> None:
        self._flush(last=True)
        while self._encoding:
            self._write_part()
        if self._file is not None:
            self._file.write(joined_footer(self._footers))
            self._file.close()
            self._file, self._footers = None, []  # closing again writes nothing


class RunFile:
    """The valid rows of every object of a run, in one Parquet file (one file per table and day per run).

    An object that turns out unreadable part way, or fails, is withdrawn: its rows already written are
    filtered out when the file is closed (a rare second pass; rows carry their ``source_file``)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self._rows = ParquetRows(path.with_suffix(".writing"), schema)
        self.by_source: dict[str, int] = {}
        self._withdrawn: set[str] = set()

    def append(self, source_key: str, table: pa.Table) -> None:
        self._rows.append(table)
        self.by_source[source_key] = self.by_source.get(source_key, 0) + table.num_rows

    def withdraw(self, source_key: str) -> None:
        if self.by_source.pop(source_key, 0):
            self._withdrawn.add(source_key)

    @property
    def rows(self) -> int:
        return sum(self.by_source.values())

    def close(self) -> None:
        """Finish the file at ``path`` (absent when no row is left)."""
        self._rows.close()
        written = self._rows.path
        if not self._withdrawn or not written.exists():
            if written.exists():
                written.rename(self.path)
            return
        kept = ParquetRows(self.path, self._rows.schema)
        gone = pa.array(sorted(self._withdrawn), pa.string())
        for batch in pq.ParquetFile(written).iter_batches(batch_size=ROW_GROUP_SIZE):
            table = pa.Table.from_batches([batch])
            kept.append(table.filter(pc.invert(pc.is_in(table.column("source_file"), value_set=gone))))
        kept.close()
        written.unlink()


def quarantine_line(reject: Reject) -> str:
    try:
        return json.dumps(reject.as_json(), default=str, sort_keys=True)
    except (TypeError, ValueError, RecursionError):  # a record JSON cannot hold as it is: keep its text
        return json.dumps({**reject.as_json(), "record": repr(reject.record)[:100_000]}, sort_keys=True)


def local_publisher(root: Path) -> Publisher:
    """Publish under a local folder (the CLI, the bench, tests): a rename, atomic on one filesystem."""

    def publish(path: Path, key: str) -> int:
        target = root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        return target.stat().st_size

    return publish
