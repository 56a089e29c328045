"""Parse a CDC change batch (gzip JSON lines of DynamoDB stream records) into lake rows."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

from lambdas.stream_exporter.batch import pad_sequence
from txdagster.contract.dynamo import VALUE_ERRORS, RecordError, deserialize_image, item_to_row
from txdagster.ingest.rows import Parsed, Reject

CHANGE_TYPES = ("INSERT", "MODIFY", "REMOVE")


def parse_change_batch(data: bytes, source_key: str) -> Parsed:
    parsed = Parsed()
    try:
        text = gzip.decompress(data).decode() if data[:2] == b"\x1f\x8b" else data.decode()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        parsed.rejects.append(Reject(source_key, 0, f"unreadable change batch: {exc}", None))
        return parsed
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
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
        except (KeyError, *VALUE_ERRORS) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
            if isinstance(exc, RecursionError):
                reason = "nested too deeply to parse"
            parsed.rejects.append(Reject(source_key, number, reason, line))
            continue
        parsed.add(row, source_key, number, change)
    if parsed.total == 0:  # every input leaves a trace: an empty batch is quarantined, not ignored
        parsed.rejects.append(Reject(source_key, 0, "empty change batch: no change records", None))
    return parsed
