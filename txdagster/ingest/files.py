"""Parse raw files dropped into ``raw/<source_system>/dt=YYYY-MM-DD/`` into lake rows.

Files carry canonical records: NDJSON (``.jsonl``/``.ndjson``), a JSON array (``.json``) or CSV with a
header (``.csv``), each optionally gzip-compressed (``.gz``). A missing ``source_system`` is taken from
the path, a missing ``version`` is 1 and a missing ``ingested_at`` is the time of ingestion.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime
from typing import Any

from txdagster.contract.dynamo import VALUE_ERRORS, RecordError, item_to_row
from txdagster.ingest.rows import Parsed, Reject

FORMATS = (".jsonl", ".ndjson", ".json", ".csv")
_EXTRA_CELLS = "\x00extra cells"  # where csv.DictReader puts cells beyond the header (never a column name)


class UnsupportedFile(ValueError):
    pass


def file_format(key: str) -> str:
    name = key.lower().removesuffix(".gz")
    for suffix in FORMATS:
        if name.endswith(suffix):
            return suffix
    raise UnsupportedFile(f"{key}: unsupported file type; use one of {', '.join(FORMATS)} (optionally .gz)")


def source_from_key(key: str) -> str:
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "raw" else ""


def _records(text: str, fmt: str) -> list[tuple[int, Any]]:
    if fmt in (".jsonl", ".ndjson"):
        return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if fmt == ".json":
        loaded = json.loads(text)
        if not isinstance(loaded, list):
            raise ValueError("a .json file must hold an array of transactions")
        return list(enumerate(loaded, start=1))
    reader = csv.DictReader(io.StringIO(text), restkey=_EXTRA_CELLS)
    return [(n, {k: (v if v != "" else None) for k, v in row.items()}) for n, row in enumerate(reader, start=1)]


def _record(raw: Any) -> dict[str, Any]:
    record = json.loads(raw) if isinstance(raw, str) else raw
    if isinstance(record, dict):
        record = dict(record)  # the raw record stays as it came, for quarantine
    else:
        raise RecordError("each record must be an object")
    extra = record.pop(_EXTRA_CELLS, None)
    if extra:
        raise RecordError(f"row has {len(extra)} more cell(s) than the header: {extra[:3]!r}")
    if isinstance(record.get("attributes"), str):
        record["attributes"] = json.loads(record["attributes"])
    return record


def _quarantinable(raw: Any) -> Any:
    """The record as it can be written to quarantine: the raw text, or the row without the extra-cells key."""
    if isinstance(raw, dict) and _EXTRA_CELLS in raw:
        return {**{k: v for k, v in raw.items() if k != _EXTRA_CELLS}, "extra_cells": raw[_EXTRA_CELLS]}
    return raw


def parse_raw_file(data: bytes, key: str, ingested_at: datetime) -> Parsed:
    parsed = Parsed()
    try:
        fmt = file_format(key)
        text = (gzip.decompress(data) if key.lower().endswith(".gz") else data).decode("utf-8-sig")
        records = _records(text, fmt)
    except (UnsupportedFile, OSError, EOFError, UnicodeDecodeError, ValueError, RecursionError, csv.Error) as exc:
        parsed.rejects.append(Reject(key, 0, f"unreadable file: {exc}", None))
        return parsed
    default_source = source_from_key(key)
    for number, raw in records:
        try:
            record = _record(raw)
            record.setdefault("source_system", default_source)
            record.setdefault("version", 1)
            record.setdefault("ingested_at", ingested_at.isoformat())
            row = item_to_row(record)
        except VALUE_ERRORS as exc:
            reason = "nested too deeply to parse" if isinstance(exc, RecursionError) else str(exc)
            parsed.rejects.append(Reject(key, number, reason, _quarantinable(raw)))
            continue
        row["source_file"] = key
        row["source_row"] = number
        parsed.add(row, key, number, raw)
    if parsed.total == 0:  # every input leaves a trace: an empty file is quarantined, not ignored
        parsed.rejects.append(Reject(key, 0, "file holds no records", None))
    return parsed
