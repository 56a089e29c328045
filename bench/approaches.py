"""One approach on one input, in a process of its own: prints rows, seconds and peak RSS as JSON.

``python -m bench.approaches APPROACH KIND INPUT OUT`` where APPROACH is ``road`` (the lake's road
through ``txdagster ingest``), ``pyarrow`` (explicit-schema read + zstd write: the anchor) or
``duckdb`` (read + COPY to zstd Parquet). Imports happen before the clock starts; the CPU seconds are the
process's own over the timed run (every thread's, user and system); the peak RSS is the process's own
(VmHWM), imports included.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pj
import pyarrow.pandas_compat  # (pa.array on a Python sequence imports pandas at its first call: 0.17 s)
import pyarrow.parquet as pq

from bench.inputs import CSV_COLUMNS
from txdagster import cli
from txdagster.contract.arrow import table_arrow_schema
from txdagster.ingest import pipeline  # noqa: F401  (what `txdagster ingest` imports, before the clock)
from txdagster.ingest.write import local_publisher  # noqa: F401
from txdagster.lake.tables import LAKE_TABLES  # noqa: F401

_NOT_IN_FILES = ("attributes", "source_file", "source_row")


def peak_rss_mb() -> float:
    """This process's own peak RSS (``ru_maxrss`` survives exec and could report the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _typed_fields() -> list[pa.Field]:
    return [f for f in table_arrow_schema("transaction_files") if f.name not in _NOT_IN_FILES]


def pyarrow_run(kind: str, source: Path, out: Path) -> int:
    if kind == "ndjson":
        options = pj.ParseOptions(explicit_schema=pa.schema(_typed_fields()), unexpected_field_behavior="ignore")
        table = pj.read_json(source, parse_options=options)
    elif kind == "csv":
        types = {f.name: f.type for f in _typed_fields() if f.name in CSV_COLUMNS}
        table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(column_types=types))
    else:  # the same gzip DynamoDB-JSON lines, read as pyarrow infers them
        table = pj.read_json(source)
    pq.write_table(table, out, compression="zstd")
    return table.num_rows


def duckdb_run(kind: str, source: Path, out: Path) -> int:
    con = duckdb.connect()
    if kind == "ndjson":
        columns = {f.name: _duck_type(f.type) for f in _typed_fields()}
        read = f"read_json('{source}', format='newline_delimited', columns={columns})"
    elif kind == "csv":
        columns = {f.name: _duck_type(f.type) for f in _typed_fields() if f.name in CSV_COLUMNS}
        read = f"read_csv('{source}', header=true, columns={columns})"
    else:
        read = f"read_json('{source}', format='newline_delimited')"
    con.execute(f"COPY (SELECT * FROM {read}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    return con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]


def _duck_type(dtype: pa.DataType) -> str:
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMPTZ"
    return "BIGINT" if pa.types.is_integer(dtype) else "VARCHAR"


def road_run(kind: str, source: Path, out: Path) -> int:
    table = "transaction_changes" if kind == "changes" else "transaction_files"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cli.main(["ingest", str(source), "--table", table, "--out", str(out), "--source-system", "payments", "--json"])
    report = json.loads(printed.getvalue())
    if report["rows_quarantined"]:
        raise SystemExit(f"the road quarantined {report['rows_quarantined']} rows of a clean input")
    return report["rows_published"]


APPROACHES = {"road": road_run, "pyarrow": pyarrow_run, "duckdb": duckdb_run}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.approaches", description=__doc__.split("\n\n")[0])
    parser.add_argument("approach", choices=list(APPROACHES))
    parser.add_argument("kind", choices=["ndjson", "csv", "changes"])
    parser.add_argument("input", type=Path)
    parser.add_argument("out", type=Path, help="a folder for the output")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out if args.approach == "road" else args.out / "out.parquet"
    cpu_before, started = _cpu_seconds(), time.perf_counter()
    rows = APPROACHES[args.approach](args.kind, args.input, target)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_before
    figures = {
        "rows": rows,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    json.dump(figures, sys.stdout)


def _cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


if __name__ == "__main__":
    main()
