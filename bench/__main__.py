"""``make bench``: throughput of the lake's ingestion path against bare-pyarrow anchors.

Change batches are compared with a row-wise decode + typed table + zstd write (no validation); raw
NDJSON files with bare pyarrow (explicit-schema read + zstd write), the floor the issue's targets are
set against. No assertions: the figures are for people and for tracking over time.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pj
import pyarrow.parquet as pq

from lambdas.stream_exporter.batch import pad_sequence
from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest.changes import change_batch_blocks
from txdagster.ingest.files import raw_file_blocks
from txdagster.ingest.pipeline import ingest_object
from txdagster.ingest.write import local_publisher


def _record(rng: random.Random, n: int) -> dict:
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


def _image(record: dict) -> dict:
    image = {k: {"S": v} for k, v in record.items() if isinstance(v, str)}
    image["amount"] = {"N": record["amount"]}
    image["version"] = {"N": str(record["version"])}
    image["attributes"] = {"M": {k: {"S": v} for k, v in record["attributes"].items()}}
    return image


def change_batch(rows: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    lines = []
    for n in range(rows):
        lines.append(
            json.dumps(
                {
                    "event_id": str(n),
                    "event_name": "INSERT",
                    "sequence_number": pad_sequence(str(10**20 + n)),
                    "approximate_creation_time": 1_764_237_600.0 + n / 1000,
                    "keys": {"transaction_id": {"S": f"payments:bench-{n}"}},
                    "new_image": _image(_record(rng, n)),
                    "old_image": None,
                }
            )
        )
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def raw_ndjson(rows: int, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    return ("\n".join(json.dumps(_record(rng, n)) for n in range(rows)) + "\n").encode()


CSV_COLUMNS = ("transaction_id", "source_system", "account_id", "counterparty", "amount", "currency",
               "transaction_type", "status", "event_time", "ingested_at", "version")  # fmt: skip


def raw_csv(rows: int, seed: int = 4) -> bytes:
    rng = random.Random(seed)
    lines = [",".join(CSV_COLUMNS)]
    lines += [",".join(str(_record(rng, n)[c]) for c in CSV_COLUMNS) for n in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def bare_pyarrow_csv(data: bytes, path: str) -> int:
    """The anchor for CSV: pyarrow reads it with the contract's types and writes zstd Parquet."""
    schema = table_arrow_schema("transaction_files")
    types = {c: schema.field(c).type for c in CSV_COLUMNS}
    table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(column_types=types))
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


def bare_pyarrow_ndjson(data: bytes, path: str) -> int:
    """The anchor for raw files: pyarrow reads the NDJSON with the contract's types and writes zstd Parquet."""
    fields = [
        f for f in table_arrow_schema("transaction_files") if f.name not in ("attributes", "source_file", "source_row")
    ]
    options = pj.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore")
    table = pj.read_json(io.BytesIO(data), parse_options=options)
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


def bare_pyarrow_changes(data: bytes, path: str) -> int:
    """The anchor for change batches: pyarrow reads the same gzip DynamoDB-JSON lines and writes zstd Parquet."""
    table = pj.read_json(io.BytesIO(gzip.decompress(data)))
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


def _timed(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    best = float("inf")
    rows = 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = fn()
        best = min(best, time.perf_counter() - started)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per input (default 1000000)")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs (default 1)")
    parser.add_argument("--memory-rows", type=int, default=1_000_000, help="rows of the memory run, and 3x")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    args = parser.parse_args()

    inputs = {"changes": change_batch(args.rows), "ndjson": raw_ndjson(args.rows), "csv": raw_csv(args.rows)}
    figures: dict[str, object] = {"rows": args.rows, "repeat": args.repeat, "roads": []}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        publish = local_publisher(root / "lake")

        def road(table: str, key: str, data: bytes, parse) -> Callable[[], int]:
            outputs = {"parquet_key": f"{key}.parquet", "quarantine_key": f"{key}.jsonl"}
            return lambda: ingest_object(table=table, source_key=key, source=data, parse=parse, publish=publish,
                                         **outputs).rows_valid  # fmt: skip

        def files(chunks, key):
            return raw_file_blocks(chunks, key, datetime.now(UTC))

        cases = (
            ("change batch", road("transaction_changes", "cdc/b.jsonl.gz", inputs["changes"], change_batch_blocks),
             lambda: bare_pyarrow_changes(inputs["changes"], str(root / "a.parquet")), 0.6),
            ("NDJSON file", road("transaction_files", "raw/p/f.jsonl", inputs["ndjson"], files),
             lambda: bare_pyarrow_ndjson(inputs["ndjson"], str(root / "b.parquet")), 0.8),
            ("CSV file", road("transaction_files", "raw/p/f.csv", inputs["csv"], files),
             lambda: bare_pyarrow_csv(inputs["csv"], str(root / "c.parquet")), 0.7),
        )  # fmt: skip
        print(f"{args.rows:,} rows per input, best of {args.repeat}")
        print(f"{'input':<14}{'road rows/s':>14}{'bare pyarrow rows/s':>22}{'ratio':>8}{'target':>9}")
        for name, lake_road, anchor, target in cases:
            road_s, rows = _timed(lake_road, args.repeat)
            anchor_s, anchor_rows = _timed(anchor, args.repeat)
            ratio = anchor_s / road_s
            print(f"{name:<14}{rows / road_s:>14,.0f}{anchor_rows / anchor_s:>22,.0f}{ratio:>7.2f}x{target:>8.1f}x"
                  + ("" if ratio >= target else "  (below target)"))  # fmt: skip
            figures["roads"].append({"input": name, "road_rows_per_s": round(rows / road_s),
                                     "bare_pyarrow_rows_per_s": round(anchor_rows / anchor_s),
                                     "ratio": round(ratio, 3), "target": target})  # fmt: skip
    figures["memory"] = _memory_flatness(args.memory_rows)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")


def _memory_flatness(rows: int) -> dict[str, object]:
    """The files road on N and 3N rows, each in a process of its own: peak RSS must not follow the file."""
    runs = []
    for n in (rows, 3 * rows):
        done = subprocess.run([sys.executable, "-m", "bench.rss", "--rows", str(n)], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
        runs.append(json.loads(done.stdout))
        print(f"streamed {n:>10,} NDJSON rows: {runs[-1]['seconds']:>6.2f} s, peak RSS {runs[-1]['peak_rss_mb']:,} MB")
    ratio = runs[1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
    print(f"peak RSS on a 3x larger file: {ratio:.2f}x (target <= 1.1x)")
    return {"runs": runs, "ratio": round(ratio, 3), "target": 1.1}


if __name__ == "__main__":
    main()
