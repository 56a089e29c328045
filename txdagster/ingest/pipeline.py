"""One input object through the whole road: parse block by block, type, validate, write Parquet row
groups and quarantine lines as they come, then publish both whole. The parser runs a few blocks ahead
of the writer, in a thread of its own (``ahead.py``).

The caller names the outputs (``txdagster.lake.layout`` derives them from the input key and its ETag,
so a re-run overwrites instead of duplicating) and says how to publish them (S3 or a local folder).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest.ahead import read_ahead
from txdagster.ingest.chunks import GZIP_MAGIC
from txdagster.ingest.rows import Parsed, Reject, to_arrow
from txdagster.ingest.validate import split_valid
from txdagster.ingest.write import Publisher, RunFile, quarantine_line

#: Reads an object's chunks and yields what each block of it gave.
Parser = Callable[[Iterable[bytes], str], Iterator[Parsed]]
REASONS_KEPT = 5


@dataclass(frozen=True)
class ObjectResult:
    source_key: str
    rows_in: int
    rows_valid: int
    rows_quarantined: int
    parquet_key: str | None
    parquet_bytes: int
    quarantine_key: str | None
    reasons: tuple[str, ...]
    unknown_fields: dict[str, int]  # fields the contract does not know -> rows that carried them
    #: further files: the SQL road's engine may write several of each (``lake/sql_road.py``)
    more_published: tuple[str, ...] = ()
    more_quarantined: tuple[str, ...] = ()
    road: str = "columnar"  # or "sql"
    #: what the object's bytes were: "gzip" (found by its magic number, whatever the key's suffix) or
    #: "identity"; "" where nobody looked (the SQL road reads the object itself)
    encoding: str = ""

    @property
    def published_keys(self) -> list[str]:
        return [k for k in (self.parquet_key, *self.more_published) if k]

    @property
    def outputs(self) -> list[str]:
        """Every file this object's rows went to."""
        return [*self.published_keys, *(k for k in (self.quarantine_key, *self.more_quarantined) if k)]


def ingest_object(
    *,
    table: str,
    source_key: str,
    source: bytes | Iterable[bytes],
    parse: Parser,
    publish: Publisher,
    parquet_key: str,
    quarantine_key: str,
    into: RunFile | None = None,
) -> ObjectResult:
    """Each output is published only when it has rows. An object found unreadable part way is quarantined
    whole: nothing of it is published. With ``into`` (a run's file, which the caller publishes once for
    all its objects at ``parquet_key``) the valid rows are added there; else the object gets a file of
    its own, published here."""
    sniffed = _Sniffed([source] if isinstance(source, bytes) else source)
    chunks = iter(sniffed)
    with tempfile.TemporaryDirectory(prefix="txd-ingest-") as work:
        rows = into or RunFile(Path(work, "rows.parquet"), table_arrow_schema(table))
        quarantine_path = Path(work, "rejects.jsonl")
        rows_in, quarantined = 0, 0
        reasons: list[str] = []
        unknown: Counter[str] = Counter()
        with quarantine_path.open("w", encoding="utf-8") as rejects_file:
            for piece in read_ahead(parse(chunks, source_key)):
                if piece.whole:  # unreadable: forget what came before, quarantine the object whole
                    rows.withdraw(source_key)
                    rejects_file.seek(0)
                    rejects_file.truncate()
                    rows_in, quarantined = 0, 0
                    reasons, unknown = [], Counter()
                arrow_table, kept_origins, unfit = to_arrow(table, piece)
                valid, invalid = split_valid(table, arrow_table, kept_origins)
                for block in (*piece.tables, valid):  # the columnar road's rows passed the same rules
                    rows.append(source_key, block)
                rejects: list[Reject] = piece.rejects + unfit + invalid
                rejects_file.writelines(quarantine_line(r) + "\n" for r in rejects)
                rows_in += piece.total
                quarantined += len(rejects)
                reasons += [r.reason for r in rejects[: REASONS_KEPT - len(reasons)]]
                unknown.update(piece.unknown_fields)
        published = rows.by_source.get(source_key, 0)
        size = 0
        if into is None:
            rows.close()
            size = publish(rows.path, parquet_key) if published else 0
        if quarantined:
            publish(quarantine_path, quarantine_key)
    return ObjectResult(
        source_key=source_key,
        rows_in=rows_in,
        rows_valid=published,
        rows_quarantined=quarantined,
        parquet_key=parquet_key if published else None,
        parquet_bytes=size,
        quarantine_key=quarantine_key if quarantined else None,
        reasons=tuple(reasons),
        unknown_fields=dict(unknown),
        encoding=sniffed.encoding,
    )


class _Sniffed:
    """The object's chunks, passed through; ``encoding`` tells what its first bytes were."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.encoding = "identity"

    def __iter__(self) -> Iterator[bytes]:
        looked = False
        for chunk in self._chunks:
            if not looked and chunk:
                looked = True
                self.encoding = "gzip" if chunk[:2] == GZIP_MAGIC else "identity"
            yield chunk
