"""Write validated rows as compressed Parquet and rejects as quarantine JSON lines.

Every object is written under a temporary name that no reader lists (Athena skips names starting with
``_``; the local engine reads only ``*.parquet``) and moved to its final name once complete, so a
reader never sees a partial or empty file, even when the writer dies half way.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from txdagster.ingest.rows import Reject

COMPRESSION = "zstd"
ROW_GROUP_SIZE = 128 * 1024


def _publish(filesystem: fs.FileSystem, path: str, write: Callable[[BinaryIO], None]) -> int:
    """Write to ``_<name>.inprogress`` beside ``path``, then move it into place; returns the size."""
    folder, name = posixpath.split(path)
    staging = f"{folder}/_{name}.inprogress"
    if isinstance(filesystem, fs.LocalFileSystem):  # S3 has no folders to create (and must get no markers)
        filesystem.create_dir(folder, recursive=True)
    with filesystem.open_output_stream(staging) as stream:
        write(stream)
    filesystem.move(staging, path)
    return filesystem.get_file_info(path).size


def write_parquet(table: pa.Table, filesystem: fs.FileSystem, path: str) -> int:
    """Write one Parquet object (overwriting: names derive from inputs, so retries are idempotent)."""
    return _publish(
        filesystem,
        path,
        lambda stream: pq.write_table(table, stream, compression=COMPRESSION, row_group_size=ROW_GROUP_SIZE),
    )


def write_quarantine(rejects: list[Reject], filesystem: fs.FileSystem, path: str) -> int:
    body = "".join(_quarantine_line(r) + "\n" for r in rejects).encode()
    return _publish(filesystem, path, lambda stream: stream.write(body))


def _quarantine_line(reject: Reject) -> str:
    try:
        return json.dumps(reject.as_json(), default=str, sort_keys=True)
    except (TypeError, ValueError, RecursionError):  # a record JSON cannot hold as it is: keep its text
        return json.dumps({**reject.as_json(), "record": repr(reject.record)[:100_000]}, sort_keys=True)
