"""Parse raw files dropped into ``raw/<source_system>/dt=YYYY-MM-DD/`` into lake rows.

Files carry canonical records: NDJSON (``.jsonl``/``.ndjson``), a JSON array (``.json``) or CSV with a
header (``.csv``), each optionally gzip-compressed (``.gz``). A missing or blank ``source_system`` is
taken from the path, ``version`` is 1 and ``ingested_at`` is the time of ingestion.

Types are checked, never coerced (``contract/dynamo.py``). A CSV's header must name the contract's
columns: without it the file is quarantined whole (a header-less file would otherwise lose its first
row as the header). Fields the contract does not know are counted and reported, not silently dropped.
``event_time`` must fall between 1970 and ``max_ahead`` past the ingestion time.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime, timedelta
from typing import Any

from txdagster.contract.dynamo import VALUE_ERRORS, RecordError, item_to_row
from txdagster.contract.fields import EVENT_TIME_EARLIEST, FIELD_NAMES, FIELDS
from txdagster.ingest.rows import Parsed, Reject

FORMATS = (".jsonl", ".ndjson", ".json", ".csv")
DEFAULTED = ("source_system", "version", "ingested_at")
CSV_REQUIRED = tuple(f.name for f in FIELDS if f.required and f.name not in DEFAULTED)
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
    _check_header(reader.fieldnames or [])
    return [(n, {k: (v if v != "" else None) for k, v in row.items()}) for n, row in enumerate(reader, start=1)]


def _check_header(header: list[str]) -> None:
    missing = [name for name in CSV_REQUIRED if name not in header]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing or repeated:
        problems = ([f"missing columns {', '.join(missing)}"] if missing else []) + (
            [f"repeated columns {', '.join(repeated)}"] if repeated else []
        )
        raise ValueError(
            f"the CSV header does not match the contract ({'; '.join(problems)}); the first line must name the "
            f"columns (a file without a header?): {','.join(header)[:200]!r}"
        )


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


def _check_event_time(row: dict[str, Any], latest: datetime) -> None:
    event_time = row["event_time"]
    if event_time < EVENT_TIME_EARLIEST or event_time > latest:
        raise RecordError(
            f"event_time: {event_time.isoformat()} is outside {EVENT_TIME_EARLIEST:%Y-%m-%d}..{latest.isoformat()} "
            "(the ingestion time plus TXD_MAX_EVENT_AHEAD_HOURS)"
        )


def parse_raw_file(data: bytes, key: str, ingested_at: datetime, max_ahead: timedelta = timedelta(hours=24)) -> Parsed:
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
            for name, default in zip(DEFAULTED, (default_source, 1, ingested_at.isoformat()), strict=True):
                if record.get(name) is None:  # missing, JSON null or a blank CSV cell
                    record[name] = default
            row = item_to_row(record)
            _check_event_time(row, ingested_at + max_ahead)
            parsed.unknown_fields.update(name for name in record if name not in FIELD_NAMES)
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
