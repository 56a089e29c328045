"""``make bench-current``: the Iceberg current table at scale, against the stack's emulator (moto in a
process of its own, as ``make run`` starts it).

Builds ``transactions_current`` with N rows (spread over 30 days, newer keys on newer days, as in a
payments table) through pyiceberg on the Glue catalog, then applies batches of changes (80% new keys,
15% updates of recent keys, 5% deletes) the way an ingest run does (``lake/current.py``'s apply, then
``lake/current_upkeep.py``'s tidy), and prints their p50/p95/max beside the full-log recompute (the
``transactions_current_from_log`` view's SQL on DuckDB over the same N + batch changes) and the time of
``select count(*) from transactions_current`` through the local query engine. No assertions: the
figures are for people; the targets are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

T0 = datetime(2026, 11, 27, tzinfo=UTC)
DAYS = 30
#: (rows, changes a batch) -> apply target in seconds (p95 over the batches); count(*) at any size.
APPLY_TARGETS = {(1_000_000, 1_000): 0.5, (10_000_000, 100_000): 5.0}
COUNT_TARGET = 1.0
#: ``make bench-current``'s two scales: rows, changes a batch, batches.
SCALES = ((1_000_000, 1_000, 20), (10_000_000, 100_000, 5))


def _text(prefix: str, numbers: np.ndarray, digits: int) -> pa.Array:
    padded = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), digits, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), padded, "")


def _constant(value: object, count: int, kind: pa.DataType) -> pa.Array:
    return pa.array([value], kind).take(pa.array(np.zeros(count, np.int32)))


def _rows(start: int, count: int, sequence_from: int, newest: int, version: int = 1) -> dict[str, pa.Array]:
    """``count`` changes of keys from ``start``: key ``newest`` happened at T0, older keys earlier, spread
    over ``DAYS`` days."""
    keys = np.arange(start, start + count, dtype=np.int64)
    step_us = DAYS * 86400 * 1_000_000 / max(newest, 1)
    t0_us = int(T0.timestamp() * 1_000_000)
    event_us = t0_us - (np.maximum(0, newest - keys) * step_us).astype(np.int64)
    stamp = pa.timestamp("us", tz="UTC")
    return {
        "transaction_id": _text("payments:k", keys, 9),
        "source_system": _constant("payments", count, pa.string()),
        "account_id": _text("ACC-", keys % 5000, 5),
        "counterparty": pa.nulls(count, pa.string()),
        "amount": pa.array(keys % 100000).cast(pa.decimal128(23, 4)).cast(pa.decimal128(19, 4)),
        "currency": _constant("EUR", count, pa.string()),
        "transaction_type": _constant("payment", count, pa.string()),
        "status": _constant("settled", count, pa.string()),
        "event_time": pa.array(event_us).cast(stamp),
        "ingested_at": _constant(T0, count, stamp),
        "version": _constant(version, count, pa.int64()),
        "sequence_number": _text("", np.arange(sequence_from, sequence_from + count, dtype=np.int64), 40),
        "change_time": pa.array(t0_us + np.arange(count, dtype=np.int64)).cast(stamp),
    }


def _changes(rows: dict[str, pa.Array], kind: str) -> pa.Table:
    from txdagster.contract.arrow import table_arrow_schema

    count = len(rows["transaction_id"])
    extra = {
        "change_type": _constant(kind, count, pa.string()),
        "source_file": _constant("bench", count, pa.string()),
        "source_row": _constant(1, count, pa.int64()),
    }
    data = {**rows, **extra}
    schema = table_arrow_schema("transaction_changes")
    columns = [data.get(f.name, pa.nulls(count, f.type)) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


class _Batches:
    """Batch after batch: new keys after the newest, updates and deletes of the keys just before it."""

    def __init__(self, rows: int, changes: int) -> None:
        self.newest, self.sequence, self.changes = rows, rows + 1, changes

    def next(self) -> pa.Table:
        new, updated = int(self.changes * 0.8), int(self.changes * 0.15)
        removed = self.changes - new - updated
        newest, sequence = self.newest, self.sequence
        batch = pa.concat_tables(
            [
                _changes(_rows(newest, new, sequence, newest), "INSERT"),
                _changes(_rows(newest - updated, updated, sequence + new, newest, version=2), "MODIFY"),
                _changes(_rows(newest - updated - removed, removed, sequence + new + updated, newest), "REMOVE"),
            ]
        )
        self.newest, self.sequence = newest + new, sequence + self.changes
        return batch


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(rows: int, changes: int, batches: int) -> dict:
    from txdagster.defs.bi.views import view_sql
    from txdagster.lake import aws, catalog
    from txdagster.lake.current import Loaded, apply_changes, current_schema
    from txdagster.lake.current_upkeep import tidy
    from txdagster.lake.engines import DuckDBEngine, to_duckdb
    from txdagster.local.emulator import Emulator
    from txdagster.settings import Settings

    emulator = Emulator()
    settings = Settings(endpoint_url=emulator.start(), lake_bucket="bench-lake")
    try:
        aws.client("s3", settings).create_bucket(
            Bucket=settings.lake_bucket, CreateBucketConfiguration={"LocationConstraint": settings.region}
        )
        catalog.ensure_database(settings)
        loaded = Loaded(settings)
        started = time.perf_counter()
        base = _rows(0, rows, 1, rows)
        current = {**base, "last_changed_at": base["change_time"]}
        columns = [current.get(f.name, pa.nulls(rows, f.type)) for f in current_schema()]
        loaded.table.append(pa.Table.from_arrays(columns, schema=current_schema()))
        build = time.perf_counter() - started
        print(f"built transactions_current: {rows:,} rows in {build:.1f} s")

        made, seconds, applied = _Batches(rows, changes), [], []
        for _ in range(batches):
            batch = made.next()
            started = time.perf_counter()
            applied.append((apply_changes(settings, batch, loaded), batch))
            tidy(settings, datetime.now(UTC), loaded.table, loaded.removed)
            seconds.append(time.perf_counter() - started)
        print("apply + tidy, each batch (s): " + " ".join(f"{s:.2f}" for s in seconds))

        import duckdb

        log = pa.concat_tables([_changes(base, "INSERT"), *(batch for _, batch in applied)])
        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        con.register("transaction_changes", log)
        started = time.perf_counter()
        recomputed = con.execute(f"SELECT count(*) FROM ({to_duckdb(view_sql('transactions_current_from_log'))})")
        recomputed = recomputed.fetchall()[0]
        recompute_seconds = time.perf_counter() - started

        engine = DuckDBEngine(settings)
        started = time.perf_counter()
        counted = engine.query("SELECT count(*) AS n FROM transactions_current").column("n")[0].as_py()
        count_seconds = time.perf_counter() - started
        return {
            "rows": rows,
            "changes": changes,
            "batches": batches,
            "build_seconds": round(build, 1),
            "applied": {
                "newer": sum(a.newer for a, _ in applied),
                "deleted": sum(a.deleted for a, _ in applied),
                "stale": sum(a.stale for a, _ in applied),
            },
            "apply_seconds": [round(s, 3) for s in seconds],
            "apply_p50_seconds": round(statistics.median(seconds), 3),
            "apply_p95_seconds": round(_percentile(seconds, 0.95), 3),
            "apply_max_seconds": round(max(seconds), 3),
            "apply_target_seconds": APPLY_TARGETS.get((rows, changes)),
            "full_log_recompute_seconds": round(recompute_seconds, 2),
            "count_seconds": round(count_seconds, 2),
            "count_target_seconds": COUNT_TARGET,
            "count": counted,
            "count_from_log": recomputed[0],
        }
    finally:
        emulator.stop()


def report(figures: dict) -> None:
    target = figures["apply_target_seconds"]
    print(
        f"apply {figures['changes']:,} changes to {figures['rows']:,} rows ({figures['batches']} batches): "
        f"p50 {figures['apply_p50_seconds']} s, p95 {figures['apply_p95_seconds']} s, max "
        f"{figures['apply_max_seconds']} s"
        + (f" (target p95 <= {target} s)" if target else "")
        + f"; full-log recompute: {figures['full_log_recompute_seconds']} s"
    )
    print(
        f"select count(*) from transactions_current: {figures['count_seconds']} s (target <= {COUNT_TARGET} s); "
        f"{figures['count']:,} rows, the full-log view {figures['count_from_log']:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="rows in the current table (default: both scales, 1M and 10M)")
    parser.add_argument("--changes", type=int, default=1_000, help="changes a batch with --rows (default 1,000)")
    parser.add_argument("--batches", type=int, default=20, help="batches applied with --rows (default 20)")
    parser.add_argument("--json", help="also write the figures to this file (a list, a scale each)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    scales = ((args.rows, args.changes, args.batches),) if args.rows else SCALES
    results = []
    for rows, changes, batches in scales:
        results.append(run(rows, changes, batches))
        report(results[-1])
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
