"""``make bench-current``: the Iceberg current table at scale, against the embedded moto server.

Builds ``transactions_current`` with N rows (default 1M) through pyiceberg on the Glue catalog, then
applies a batch of changes (default 1,000: 80% new keys, 15% updates of recent keys, 5% deletes) the
way an ingest run does (``lake/current.py``), and prints its time beside the full-log recompute (the
``transactions_current_from_log`` view's SQL on DuckDB over the same N + batch changes) and the time
of ``select count(*) from transactions_current`` through the local query engine. No assertions: the
figures are for people (targets: apply <= 2 s, count <= 1 s).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa

TARGETS = {"apply_seconds": 2.0, "count_seconds": 1.0}
T0 = datetime(2026, 11, 27, tzinfo=UTC)


DAYS = 30


def _rows(start: int, count: int, sequence_from: int, newest: int) -> dict[str, list]:
    """``count`` changes of keys from ``start``: key ``newest`` happened at T0, older keys earlier, spread
    over ``DAYS`` days (recent keys on recent days, as in a payments table)."""
    keys = range(start, start + count)
    step = DAYS * 86400 / max(newest, 1)
    return {
        "transaction_id": [f"payments:k{k:09d}" for k in keys],
        "source_system": ["payments"] * count,
        "account_id": [f"ACC-{k % 5000:05d}" for k in keys],
        "counterparty": [None] * count,
        "amount": [Decimal(k % 100000).scaleb(-2) for k in keys],
        "currency": ["EUR"] * count,
        "transaction_type": ["payment"] * count,
        "status": ["settled"] * count,
        "event_time": [T0 - timedelta(seconds=max(0, newest - k) * step) for k in keys],
        "ingested_at": [T0] * count,
        "version": [1] * count,
        "attributes": [None] * count,
        "sequence_number": [str(sequence_from + i).zfill(40) for i in range(count)],
        "change_time": [T0 + timedelta(microseconds=i) for i in range(count)],
    }


def _changes(rows: dict[str, list], kind: str) -> pa.Table:
    from txdagster.contract.arrow import table_arrow_schema

    count = len(rows["transaction_id"])
    data = {**rows, "change_type": [kind] * count, "source_file": ["bench"] * count, "source_row": [1] * count}
    schema = table_arrow_schema("transaction_changes")
    return pa.table({f.name: data[f.name] for f in schema}, schema=schema)


def run(rows: int, changes: int) -> dict:
    from moto.server import ThreadedMotoServer

    from txdagster.defs.bi.views import view_sql
    from txdagster.lake import aws, catalog
    from txdagster.lake.current import apply_changes, current_schema, ensure_current_table, ensure_removed_table
    from txdagster.lake.engines import DuckDBEngine, to_duckdb
    from txdagster.settings import Settings

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log
    server = ThreadedMotoServer(port=0)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1")
    settings = Settings(endpoint_url=f"http://{host}:{port}", lake_bucket="bench-lake")
    try:
        aws.client("s3", settings).create_bucket(
            Bucket=settings.lake_bucket, CreateBucketConfiguration={"LocationConstraint": settings.region}
        )
        catalog.ensure_database(settings)
        table, _ = ensure_current_table(settings), ensure_removed_table(settings)
        started = time.perf_counter()
        base = _rows(0, rows, 1, rows)
        current_rows = {**base, "last_changed_at": base["change_time"]}
        table.append(pa.table({f.name: current_rows[f.name] for f in current_schema()}, schema=current_schema()))
        build = time.perf_counter() - started
        print(f"built transactions_current: {rows:,} rows in {build:.1f} s")

        new = int(changes * 0.8)
        updated, removed = int(changes * 0.15), changes - new - int(changes * 0.15)
        batch = [
            _changes(_rows(rows, new, rows + 1, rows), "INSERT"),  # new transactions, today
            _changes({**_rows(rows - updated, updated, rows + new + 1, rows), "version": [2] * updated}, "MODIFY"),
            _changes(_rows(rows - updated - removed, removed, rows + new + updated + 1, rows), "REMOVE"),
        ]
        changes_table = pa.concat_tables(batch)
        started = time.perf_counter()
        applied = apply_changes(settings, changes_table)
        apply_seconds = time.perf_counter() - started

        log = pa.concat_tables([_changes(base, "INSERT"), changes_table])
        import duckdb

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
            "applied": {"newer": applied.newer, "deleted": applied.deleted, "stale": applied.stale},
            "apply_seconds": round(apply_seconds, 2),
            "full_log_recompute_seconds": round(recompute_seconds, 2),
            "count_seconds": round(count_seconds, 2),
            "count": counted,
            "count_from_log": recomputed[0],
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the current table (default 1M)")
    parser.add_argument("--changes", type=int, default=1_000, help="changes in the batch applied (default 1,000)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(args.rows, args.changes)
    print(
        f"apply {args.changes:,} changes to {args.rows:,} rows: {figures['apply_seconds']} s "
        f"(target <= {TARGETS['apply_seconds']} s); full-log recompute: {figures['full_log_recompute_seconds']} s"
    )
    print(
        f"select count(*) from transactions_current: {figures['count_seconds']} s (target <= "
        f"{TARGETS['count_seconds']} s); {figures['count']:,} rows, the full-log view {figures['count_from_log']:,}"
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
