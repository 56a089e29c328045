"""The columnar fast path for raw files (NDJSON, CSV) and change batches: a block of lines read by pyarrow with
the contract's types, checked with vectorised rules derived from ``FIELDS``, typed without a Python loop.

A block is taken whole or not at all: when pyarrow cannot read it with the contract's types (a JSON
number where text belongs, an object as a name...) or any of its rows breaks a rule, the caller sends
that block alone down the row-by-row road, which quarantines exactly the bad rows with their reasons.
The rules here and there come from the same contract, so both roads publish the same rows.
"""

from txdagster.ingest.columnar.arrays import FALLBACK, NotColumnar, one_array
from txdagster.ingest.columnar.changes import typed_change_block
from txdagster.ingest.columnar.formats import typed_block, typed_csv_block, typed_parquet_block

__all__ = [
    "FALLBACK",
    "NotColumnar",
    "one_array",
    "typed_block",
    "typed_change_block",
    "typed_csv_block",
    "typed_parquet_block",
]
