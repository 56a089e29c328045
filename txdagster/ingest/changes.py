"""Parse a CDC change batch (gzip JSON lines of DynamoDB stream records) into lake rows.

Blocks of lines take the columnar road (``columnar.typed_change_block``); a block pyarrow refuses or
with a row that breaks a rule goes line by line here, so exactly the bad changes are quarantined.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import pyarrow as pa

from lambdas.stream_exporter.batch import pad_sequence
from txdagster.contract.arrow import CHANGE_TYPES
from txdagster.contract.dynamo import VALUE_ERRORS, RecordError, deserialize_image, item_to_row
from txdagster.ingest.ahead import mapped_ahead
from txdagster.ingest.chunks import LINE_BLOCK_BYTES, content, line_blocks, lines_in
from txdagster.ingest.columnar import FALLBACK, NotColumnar, typed_change_block
from txdagster.ingest.rows import Parsed, Reject, with_origin


def _change(parsed: Parsed, source_key: str, number: int, raw: bytes) -> None:
    """One change line on the row road: a typed row, or a reject whose reason names what is wrong."""
    line = raw.decode("utf-8", errors="replace")
    try:
        raw.decode("utf-8")
        change = json.loads(line)
        change_type = change["event_name"]
        if change_type not in CHANGE_TYPES:
            raise RecordError(f"unknown event_name {change_type!r}")
        image = change["old_image"] if change_type == "REMOVE" else change["new_image"]
        if not image:
            raise RecordError(f"{change_type} without the image it needs")
        row = item_to_row(deserialize_image(image))
        row["change_type"] = change_type
        row["sequence_number"] = pad_sequence(str(change["sequence_number"]))
        row["change_time"] = datetime.fromtimestamp(float(change["approximate_creation_time"]), tz=UTC)
        row["source_file"] = source_key
        row["source_row"] = number
    except (KeyError, *VALUE_ERRORS) as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        if isinstance(exc, RecursionError):
            reason = "nested too deeply to parse"
        parsed.rejects.append(Reject(source_key, number, reason, line))
        return
    parsed.add(row, source_key, number, change)


def _typed(block: pa.Buffer) -> tuple[pa.Table, int]:
    """A block on the columnar road, and its number of lines (counted in the typing thread)."""
    return typed_change_block(block), lines_in(block)


def change_batch_blocks(
    chunks: Iterable[bytes], source_key: str, block_size: int = LINE_BLOCK_BYTES
) -> Iterator[Parsed]:
    """What each block of a change batch gives; a damaged or truncated batch ends with a whole-object reject."""
    total = 0
    try:
        first_line = 1
        for block, typed in mapped_ahead(_typed, line_blocks(content(chunks), block_size)):
            parsed = Parsed()
            try:
                table, lines = typed.result()
                if table.num_rows != lines:
                    raise NotColumnar("blank lines")
                parsed.add_table(with_origin(table, source_key, first_line))
            except FALLBACK:
                lines = lines_in(block)
                for number, line in enumerate(bytes(block).split(b"\n"), start=first_line):
                    if line.strip():
                        _change(parsed, source_key, number, line)
            first_line += lines
            total += parsed.total
            yield parsed
    except (zlib.error, EOFError) as exc:
        yield Parsed(rejects=[Reject(source_key, 0, f"unreadable change batch: {exc}", None)], whole=True)
        return
    if total == 0:  # every input leaves a trace: an empty batch is quarantined, not ignored
        yield Parsed(rejects=[Reject(source_key, 0, "empty change batch: no change records", None)])


def parse_change_batch(data: bytes, source_key: str, block_size: int = LINE_BLOCK_BYTES) -> Parsed:
    """A whole change batch at once (small inputs, inspection)."""
    return Parsed.merged(change_batch_blocks([data], source_key, block_size))
