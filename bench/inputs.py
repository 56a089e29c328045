"""Generated inputs for the bench, written to disk a line at a time (making them costs no memory):
canonical NDJSON and CSV raw files and a gzip change batch in the stream exporter's DynamoDB-JSON."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from lambdas.stream_exporter.batch import pad_sequence

CSV_COLUMNS = (
    "transaction_id",
    "source_system",
    "account_id",
    "counterparty",
    "amount",
    "currency",
    "transaction_type",
    "status",
    "event_time",
    "ingested_at",
    "version",
)
KINDS = ("ndjson", "csv", "changes")
SUFFIX = {"ndjson": ".jsonl", "csv": ".csv", "changes": ".jsonl.gz"}


def record(rng: random.Random, n: int) -> dict:
    return {
        "transaction_id": f"payments:bench-{n}",
        "source_system": "payments",
        "account_id": f"ACC-{rng.randint(1, 500):04d}",
        "counterparty": "Bench Counterparty",
        "amount": f"{rng.randint(1, 10_000_000)}.{rng.randint(0, 99):02d}",
        "currency": rng.choice(["EUR", "USD", "GBP"]),
        "transaction_type": "payment",
        "status": "settled",
        "event_time": "2026-11-27T10:00:00.000000Z",
        "ingested_at": "2026-11-27T10:00:01.000000Z",
        "version": 1,
        "attributes": {"channel": "web"},
    }


def _image(row: dict) -> dict:
    image = {k: {"S": v} for k, v in row.items() if isinstance(v, str)}
    image["amount"] = {"N": row["amount"]}
    image["version"] = {"N": str(row["version"])}
    image["attributes"] = {"M": {k: {"S": v} for k, v in row["attributes"].items()}}
    return image


def _change(rng: random.Random, n: int) -> dict:
    return {
        "event_id": str(n),
        "event_name": "INSERT",
        "sequence_number": pad_sequence(str(10**20 + n)),
        "approximate_creation_time": 1_764_237_600.0 + n / 1000,
        "keys": {"transaction_id": {"S": f"payments:bench-{n}"}},
        "new_image": _image(record(rng, n)),
        "old_image": None,
    }


def write(kind: str, rows: int, folder: Path, seed: int = 1) -> Path:
    """An input of ``rows`` rows of ``kind`` in ``folder``."""
    rng = random.Random(seed)
    path = folder / f"{kind}-{rows}{SUFFIX[kind]}"
    if kind == "changes":
        with gzip.open(path, "wt", compresslevel=6) as out:
            for n in range(rows):
                out.write(json.dumps(_change(rng, n)) + "\n")
        return path
    with path.open("w") as out:
        if kind == "csv":
            out.write(",".join(CSV_COLUMNS) + "\n")
        for n in range(rows):
            row = record(rng, n)
            out.write(json.dumps(row) + "\n" if kind == "ndjson" else ",".join(str(row[c]) for c in CSV_COLUMNS) + "\n")
    return path
