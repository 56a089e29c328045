"""Write validated rows as compressed Parquet and rejects as quarantine JSON lines.

An object is encoded whole first and then uploaded in one request: S3 makes it visible only once the
upload completes, so a reader never sees a partial or empty file, and a writer that fails while
encoding uploads nothing. (pyarrow's own rename on S3 is copy + delete, and the delete leaves an empty
folder marker behind: not used.)
"""

from __future__ import annotations

import json
import posixpath

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from txdagster.ingest.rows import Reject

COMPRESSION = "zstd"
ROW_GROUP_SIZE = 128 * 1024


def _publish(filesystem: fs.FileSystem, path: str, body: pa.Buffer | bytes) -> int:
    if isinstance(filesystem, fs.LocalFileSystem):  # S3 has no folders to create (and must get no markers)
        filesystem.create_dir(posixpath.dirname(path), recursive=True)
    with filesystem.open_output_stream(path) as stream:
        stream.write(body)
    expected = len(body) if isinstance(body, bytes) else body.size
    stored = filesystem.get_file_info(path).size
    if stored != expected:  # never call an object written that the store does not hold whole
        raise OSError(f"{path}: the store holds {stored} bytes of the {expected} written")
    return stored


def write_parquet(table: pa.Table, filesystem: fs.FileSystem, path: str) -> int:
    """Write one Parquet object (overwriting: names derive from inputs, so retries are idempotent)."""
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, compression=COMPRESSION, row_group_size=ROW_GROUP_SIZE)
    return _publish(filesystem, path, buffer.getvalue())


def write_quarantine(rejects: list[Reject], filesystem: fs.FileSystem, path: str) -> int:
    return _publish(filesystem, path, "".join(_quarantine_line(r) + "\n" for r in rejects).encode())


def _quarantine_line(reject: Reject) -> str:
    try:
        return json.dumps(reject.as_json(), default=str, sort_keys=True)
    except (TypeError, ValueError, RecursionError):  # a record JSON cannot hold as it is: keep its text
        return json.dumps({**reject.as_json(), "record": repr(reject.record)[:100_000]}, sort_keys=True)
