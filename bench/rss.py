"""One process, one file through the lake's road: prints rows, seconds and peak RSS as JSON.

``python -m bench.rss --rows N`` writes an N-row NDJSON file to disk line by line (so making it costs no
memory), streams it through ``transaction_files``' road in 1 MiB chunks, and reports. ``make bench``
runs it for N and 3N rows in separate processes: peak memory must not grow with the file.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.__main__ import _record
from txdagster.ingest.files import raw_file_blocks
from txdagster.ingest.pipeline import ingest_object
from txdagster.ingest.write import local_publisher


def _peak_rss_mb() -> float:
    """This process's own peak RSS. (``ru_maxrss`` survives exec, so a child started by a big parent would
    report the parent's peak; the kernel's VmHWM starts afresh with the new program.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rss", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args()
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder, "big.jsonl")
        with source.open("w") as out:
            for n in range(args.rows):
                out.write(json.dumps(_record(rng, n)) + "\n")
        started = time.perf_counter()
        with source.open("rb") as stream:
            result = ingest_object(
                table="transaction_files",
                source_key="raw/payments/dt=2026-11-27/big.jsonl",
                source=iter(lambda: stream.read(1 << 20), b""),
                parse=lambda chunks, key: raw_file_blocks(chunks, key, datetime.now(UTC)),
                publish=local_publisher(Path(folder, "lake")),
                parquet_key="files.parquet",
                quarantine_key="files.jsonl",
            )
        seconds = time.perf_counter() - started
    peak = _peak_rss_mb()
    print(json.dumps({"rows": result.rows_in, "published": result.rows_valid, "seconds": round(seconds, 2),
                      "peak_rss_mb": round(peak)}))  # fmt: skip


if __name__ == "__main__":
    main()
