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
import resource
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
from txdagster.contract.dynamo import deserialize_image, item_to_row
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


def baseline_changes(data: bytes, path: str) -> int:
    """Decode, type and write with no validation: the floor the real path is measured against."""
    rows = []
    for line in gzip.decompress(data).splitlines():
        change = json.loads(line)
        row = item_to_row(deserialize_image(change["new_image"]))
        row.update(change_type=change["event_name"], sequence_number=change["sequence_number"],
                   change_time=datetime.fromtimestamp(change["approximate_creation_time"], tz=UTC))  # fmt: skip
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=table_arrow_schema("transaction_changes"))
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
    parser.add_argument("--rows", type=int, default=50_000, help="rows per input object (default 50000)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    parser.add_argument(
        "--memory-rows", type=int, default=300_000, help="rows of the memory run (and 3x; default 300000)"
    )
    args = parser.parse_args()

    changes = change_batch(args.rows)
    raw = raw_ndjson(args.rows)
    raw_csv_data = raw_csv(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        publish = local_publisher(root / "lake")

        def real_changes() -> int:
            return ingest_object(table="transaction_changes", source_key="cdc/bench.jsonl.gz",
                                 source=changes, parse=change_batch_blocks, publish=publish,
                                 parquet_key="changes.parquet", quarantine_key="changes.jsonl").rows_valid  # fmt: skip

        def real_files() -> int:
            return ingest_object(table="transaction_files", source_key="raw/payments/dt=x/f.jsonl",
                                 source=raw, parse=lambda c, k: raw_file_blocks(c, k, datetime.now(UTC)),
                                 publish=publish, parquet_key="files.parquet",
                                 quarantine_key="files.jsonl").rows_valid  # fmt: skip

        base_s, base_rows = _timed(lambda: baseline_changes(changes, str(root / "baseline.parquet")), args.repeat)
        cdc_s, cdc_rows = _timed(real_changes, args.repeat)
        file_s, file_rows = _timed(real_files, args.repeat)

        def real_csv() -> int:
            return ingest_object(table="transaction_files", source_key="raw/payments/dt=x/f.csv",
                                 source=raw_csv_data, parse=lambda c, k: raw_file_blocks(c, k, datetime.now(UTC)),
                                 publish=publish, parquet_key="csv.parquet",
                                 quarantine_key="csv.jsonl").rows_valid  # fmt: skip

        csv_s, csv_rows = _timed(real_csv, args.repeat)
        bare_csv_s, bare_csv_rows = _timed(lambda: bare_pyarrow_csv(raw_csv_data, str(root / "b.parquet")), args.repeat)
        bare_s, bare_rows = _timed(lambda: bare_pyarrow_ndjson(raw, str(root / "bare.parquet")), args.repeat)
        bare_cdc_s, bare_cdc_rows = _timed(
            lambda: bare_pyarrow_changes(changes, str(root / "bare-cdc.parquet")), args.repeat
        )

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows per object: {args.rows:,} (best of {args.repeat})")
    print(f"{'path':<44}{'rows/s':>12}{'seconds':>10}{'vs row-wise':>13}")
    for name, seconds, rows in (
        ("row-wise: decode + type + zstd write", base_s, base_rows),
        ("transaction_changes: the lake's road", cdc_s, cdc_rows),
        ("transaction_files (NDJSON): the lake's road", file_s, file_rows),
        ("transaction_files (CSV): the lake's road", csv_s, csv_rows),
    ):
        print(f"{name:<44}{rows / seconds:>12,.0f}{seconds:>10.2f}{seconds / base_s:>12.2f}x")
    print(f"{'bare pyarrow NDJSON: typed read + zstd write':<44}{bare_rows / bare_s:>12,.0f}{bare_s:>10.2f}")
    print(
        f"{'bare pyarrow change batch: read + zstd write':<44}{bare_cdc_rows / bare_cdc_s:>12,.0f}{bare_cdc_s:>10.2f}"
    )
    print(f"{'bare pyarrow CSV: typed read + zstd write':<44}{bare_csv_rows / bare_csv_s:>12,.0f}{bare_csv_s:>10.2f}")
    print(f"transaction_files NDJSON speed vs bare pyarrow: {bare_s / file_s:.2f}x (target >= 0.8x)")
    print(f"transaction_files CSV speed vs bare pyarrow: {bare_csv_s / csv_s:.2f}x (target >= 0.7x)")
    print(f"transaction_changes speed vs bare pyarrow: {bare_cdc_s / cdc_s:.2f}x (target >= 0.6x)")
    print(f"peak RSS: {peak_mb:,.0f} MB")
    _memory_flatness(args.memory_rows)


def _memory_flatness(rows: int) -> None:
    """The files road on N and 3N rows, each in a process of its own: peak RSS must not follow the file."""
    runs = []
    for n in (rows, 3 * rows):
        done = subprocess.run([sys.executable, "-m", "bench.rss", "--rows", str(n)], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
        runs.append(json.loads(done.stdout))
        print(f"streamed {n:>10,} NDJSON rows: {runs[-1]['seconds']:>6.2f} s, peak RSS {runs[-1]['peak_rss_mb']:,} MB")
    ratio = runs[1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
    print(f"peak RSS on a 3x larger file: {ratio:.2f}x (target <= 1.1x)")


if __name__ == "__main__":
    main()
