"""Write validated rows as compressed Parquet and rejects as quarantine JSON lines."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from txdagster.ingest.rows import Reject

COMPRESSION = "zstd"
ROW_GROUP_SIZE = 128 * 1024


def write_parquet(table: pa.Table, filesystem: fs.FileSystem, path: str) -> int:
    """Write one Parquet object (overwriting: names derive from inputs, so retries are idempotent)."""
    with filesystem.open_output_stream(path) as stream:
        pq.write_table(table, stream, compression=COMPRESSION, row_group_size=ROW_GROUP_SIZE)
    return filesystem.get_file_info(path).size


def write_quarantine(rejects: list[Reject], filesystem: fs.FileSystem, path: str) -> None:
    body = "".join(json.dumps(r.as_json(), default=str, sort_keys=True) + "\n" for r in rejects)
    with filesystem.open_output_stream(path) as stream:
        stream.write(body.encode())
