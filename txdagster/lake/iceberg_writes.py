"""One Iceberg commit that replaces data files: the copy-on-write step of ``transactions_current``'s
apply (``current.py``) and of its small-file merges (``current_upkeep.py``).

pyiceberg 0.12 has no rewrite_data_files, and its delete-then-append makes two snapshots a batch and
re-evaluates the delete's predicate against every manifest entry. Its overwrite producer with explicit
deletes and appends is the commit wanted, but it never merges manifests (only its merge-append does),
so a table updated a batch a second would gain a manifest a second. Here the overwrite merges them as
merge-append does, following the table's ``commit.manifest.*`` properties.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pyarrow as pa
from pyiceberg.io.pyarrow import (
    _dataframe_to_data_files,  # pyright: ignore[reportPrivateUsage]: pyiceberg 0.12's writer of data files
)
from pyiceberg.manifest import DataFile
from pyiceberg.table import TableProperties, Transaction
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update.snapshot import (
    _MergeAppendFiles,  # pyright: ignore[reportPrivateUsage]: see the module's text
    _OverwriteFiles,  # pyright: ignore[reportPrivateUsage]
)
from pyiceberg.utils.properties import property_as_bool, property_as_int


class _MergingOverwrite(_OverwriteFiles):
    _process_manifests = _MergeAppendFiles._process_manifests  # pyright: ignore[reportPrivateUsage, reportAssignmentType]

    def __init__(self, operation: Operation, transaction: Transaction) -> None:
        super().__init__(operation, transaction, transaction._table.io)  # pyright: ignore[reportPrivateUsage]
        properties = transaction.table_metadata.properties
        size, count = TableProperties.MANIFEST_TARGET_SIZE_BYTES, TableProperties.MANIFEST_MIN_MERGE_COUNT
        self._target_size_bytes = property_as_int(properties, size, TableProperties.MANIFEST_TARGET_SIZE_BYTES_DEFAULT)
        self._min_count_to_merge = property_as_int(properties, count, TableProperties.MANIFEST_MIN_MERGE_COUNT_DEFAULT)
        enabled = TableProperties.MANIFEST_MERGE_ENABLED
        self._merge_enabled = property_as_bool(properties, enabled, TableProperties.MANIFEST_MERGE_ENABLED_DEFAULT)


def replace(transaction: Transaction, deleted: Iterable[DataFile], added: Iterable[pa.Table]) -> None:
    """One snapshot in ``transaction``: the ``deleted`` data files gone, data files of the ``added`` rows
    in (split by partition). An APPEND when nothing is deleted, else an OVERWRITE; nothing when both are
    empty."""
    deleted, added = list(deleted), [rows for rows in added if rows.num_rows]
    if not deleted and not added:
        return
    operation = Operation.OVERWRITE if deleted else Operation.APPEND
    with _MergingOverwrite(operation, transaction) as producer:
        metadata, io = transaction.table_metadata, transaction._table.io  # pyright: ignore[reportPrivateUsage]
        counter = itertools.count()
        for data_file in deleted:
            producer.delete_data_file(data_file)
        for rows in added:
            for written in _dataframe_to_data_files(metadata, rows, io, producer.commit_uuid, counter):
                producer.append_data_file(written)
