"""The lake tables, each declared once: its asset, job, sensor and Glue table are built from this.

A table's columns come from the contract (``contract.arrow.TABLE_EXTRA_COLUMNS``); here is where its
data comes from and how it is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from txdagster.ingest.changes import change_batch_blocks
from txdagster.ingest.files import raw_file_blocks
from txdagster.ingest.pipeline import Parser
from txdagster.ingest.rows import Parsed
from txdagster.lake.layout import RAW_PREFIX
from txdagster.settings import Settings, load_settings


@dataclass(frozen=True)
class LakeTable:
    name: str
    source_prefix: Callable[[Settings], str]
    parse: Parser
    description: str
    kinds: frozenset[str]
    source: str  # what the sensor watches, for descriptions
    job: str
    sensor: str
    #: big CSVs may be converted by the query engine (``lake/sql_road.py``)
    sql_road: bool = False
    #: its runs apply what they ingest to transactions_current (``lake/current.py``)
    updates_current: bool = False
    #: a run its sensor launched stays a while and takes what lands meanwhile (``lake/follow.py``); only
    #: where keys grow in order within a day folder (the stream exporter's sequence numbers)
    follows: bool = False
    #: its sensor also drains the lake bucket's event notifications (``lake/raw_events.py``): a file in
    #: any day is seen, not only in the open days its listing covers
    notified: bool = False


def _parse_file(chunks: Iterable[bytes], key: str) -> Iterator[Parsed]:
    max_ahead = timedelta(hours=load_settings().max_event_ahead_hours)
    return raw_file_blocks(chunks, key, datetime.now(UTC), max_ahead)


CHANGES = LakeTable(
    name="transaction_changes",
    source_prefix=lambda settings: settings.cdc_prefix,
    parse=change_batch_blocks,
    description="Every change DynamoDB Streams recorded on `transactions` (INSERT/MODIFY/REMOVE with sequence "
    "numbers), from the stream exporter's batches under the cdc prefix, as zstd Parquet partitioned by arrival day.",
    kinds=frozenset({"s3", "parquet", "glue", "dynamodb"}),
    source="change batches under TXD_CDC_PREFIX (cdc/transactions/)",
    job="ingest_changes",
    sensor="cdc_sensor",
    updates_current=True,
    follows=True,
)
FILES = LakeTable(
    name="transaction_files",
    source_prefix=lambda settings: RAW_PREFIX,
    parse=_parse_file,
    description="Transactions from files dropped under raw/<source_system>/dt=YYYY-MM-DD/ (NDJSON, JSON, CSV, Parquet, "
    "gzip), validated against the contract, as zstd Parquet partitioned by arrival day.",
    kinds=frozenset({"s3", "parquet", "glue"}),
    source="files under raw/<source_system>/dt=YYYY-MM-DD/",
    job="ingest_files",
    sensor="raw_sensor",
    sql_road=True,
    notified=True,
)
LAKE_TABLES: tuple[LakeTable, ...] = (CHANGES, FILES)
