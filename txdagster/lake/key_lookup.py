"""Finding the rows of some keys in an Iceberg table at a cost that follows the files that may hold them.

pyiceberg's ``scan(row_filter=In(key, keys))`` binds the ``In`` and its literals again for every
manifest entry it evaluates (a set of a thousand literals per data file): at 1M rows that was most of
a 1,000-change batch's apply, and it grew with the files. Here the files are planned from the data
files' key bounds in the manifests (read once per manifest: a manifest never changes under its path),
a file is read only when a sorted key falls in its bounds (a bisection), and within it the Parquet
reader skips the row groups whose statistics exclude the keys.

The bounds are the ones Iceberg keeps per data file; ``KEY_METRICS`` keeps the key's untruncated, so
that keys sharing a long prefix (``source:…``) still tell files apart. Keys that grow with time (ULIDs,
snowflake ids, the local stack's ``source:sequence``) touch the newest files only; random ids (UUIDv4)
fall inside every file's bounds, and then each file's key column is read (about 0.1 s per million
rows here).
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.manifest import DataFile, ManifestContent, ManifestEntry, ManifestFile
from pyiceberg.table import Table

#: The table property that keeps a column's whole value as its bounds (the default truncates to 16
#: characters, which a shared ``source_system:`` prefix would fill).
KEY_METRICS = "full"
#: Manifests whose live entries are kept in memory (an entry is a data file's path, partition and stats).
CACHED_MANIFESTS = 256
#: Data files read at once.
READERS = 4
#: The column that names the data file a found row came from.
FILE_COLUMN = "_file"

_lock = threading.Lock()
_entries: OrderedDict[str, list[ManifestEntry]] = OrderedDict()
_readers = ThreadPoolExecutor(READERS, thread_name_prefix="key-lookup")


@dataclass(frozen=True)
class Found:
    rows: pa.Table  # the rows of the keys, with ``FILE_COLUMN``
    files: dict[str, DataFile]  # the data files read, by path
    snapshot_files: list[DataFile]  # every data file of the snapshot


def _live_entries(table: Table, manifest: ManifestFile) -> list[ManifestEntry]:
    with _lock:
        found = _entries.get(manifest.manifest_path)
        if found is not None:
            _entries.move_to_end(manifest.manifest_path)
            return found
    found = manifest.fetch_manifest_entry(table.io, discard_deleted=True)
    with _lock:
        _entries[manifest.manifest_path] = found
        while len(_entries) > CACHED_MANIFESTS:
            _entries.popitem(last=False)
    return found


def data_files(table: Table) -> list[DataFile]:
    """The data files of the table's current snapshot. Writes here are copy-on-write: a delete manifest
    (another writer's merge-on-read) is refused rather than misread."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    files: list[DataFile] = []
    for manifest in snapshot.manifests(table.io):
        if manifest.content != ManifestContent.DATA:
            raise ValueError(f"{table.name()} has delete files: read it with pyiceberg's scan")
        files.extend(entry.data_file for entry in _live_entries(table, manifest))
    return files


def _may_hold(data_file: DataFile, field_id: int, keys: list[str]) -> bool:
    """Whether a key of the sorted ``keys`` falls within the file's bounds of the key column (a truncated
    or missing bound only widens the range)."""
    lower = (data_file.lower_bounds or {}).get(field_id)
    upper = (data_file.upper_bounds or {}).get(field_id)
    start = bisect.bisect_left(keys, lower.decode()) if lower is not None else 0
    return start < len(keys) and (upper is None or keys[start] <= upper.decode())


def _read(table: Table, data_file: DataFile, key: str, wanted: pa.Array, columns: list[str]) -> pa.Table:
    with table.io.new_input(data_file.file_path).open() as stream:
        rows = pq.read_table(stream, columns=columns, filters=pc.field(key).isin(wanted))
    return rows.append_column(FILE_COLUMN, pa.array([data_file.file_path] * rows.num_rows, pa.string()))


def find(table: Table, key: str, keys: list[str], columns: tuple[str, ...]) -> Found:
    """The rows of ``keys`` in the table's current snapshot, their ``columns`` (``key`` among them) and
    the file each is in."""
    field_id = table.schema().find_field(key).field_id
    wanted = sorted(set(keys))
    files = data_files(table)
    candidates = [f for f in files if f.record_count and _may_hold(f, field_id, wanted)]
    values = pa.array(wanted, pa.string())
    names = list(dict.fromkeys([key, *columns]))

    def read(data_file: DataFile) -> pa.Table:
        return _read(table, data_file, key, values, names)

    parts = list(_readers.map(read, candidates))
    stored = table.schema().as_arrow()
    schema = pa.schema([*(stored.field(name) for name in names), pa.field(FILE_COLUMN, pa.string())])
    rows = pa.concat_tables([p.cast(schema) for p in parts]) if parts else schema.empty_table()
    return Found(rows, {f.file_path: f for f in candidates}, files)
