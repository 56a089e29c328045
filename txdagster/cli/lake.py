"""The lake's commands: ``ingest`` (local files, no AWS), and ``query``, ``trace``, ``replay``, ``compact``,
``dlq`` and ``redrive``, which work on the environment's AWS, or on the local stack with ``--local``."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from txdagster.cli import output
from txdagster.cli.arguments import day
from txdagster.cli.groups import DONE, Group
from txdagster.cli.targets import add_local_flag, target_settings

if TYPE_CHECKING:
    from txdagster.settings import Settings

GROUP = Group("Lake operations (the environment's AWS; the local stack with --local)")


def _local_key(path: str, table: str, source_system: str | None) -> str:
    """The key a local file would have in the lake: it gives the road the source system of raw files."""
    name = os.path.basename(path)
    if table == "transaction_files" and source_system:
        return f"raw/{source_system}/{name}"
    marker = path.replace(os.sep, "/").rfind("raw/")
    return path.replace(os.sep, "/")[marker:] if marker >= 0 else name


def _ingest_file(path: str, key: str, table: Any, out: str, dt: str) -> dict[str, Any]:
    """One local file through the lake's road; its outputs under ``out``."""
    from pathlib import Path

    from txdagster.ingest.chunks import READ_CHUNK_BYTES
    from txdagster.ingest.pipeline import ingest_object
    from txdagster.ingest.write import local_publisher
    from txdagster.lake import layout

    with open(path, "rb") as source:
        # the file's identity names its outputs, as the ETag does in S3: its size and modification time (an MD5
        # of every byte would cost a core as much as the parsing)
        found = os.fstat(source.fileno())
        identity = f"{found.st_size:x}-{found.st_mtime_ns:x}"
        result = ingest_object(
            table=table.name,
            source_key=key,
            source=iter(lambda: source.read(READ_CHUNK_BYTES), b""),  # streamed, as from S3
            parse=table.parse,
            publish=local_publisher(Path(out)),
            parquet_key=layout.curated_key(table.name, dt, key, identity),
            quarantine_key=layout.quarantine_key(table.name, dt, key, identity),
        )
    return {
        "file": path,
        "rows_in": result.rows_in,
        "rows_published": result.rows_valid,
        "rows_quarantined": result.rows_quarantined,
        "outputs": [f"{out}/{name}" for name in (result.parquet_key, result.quarantine_key) if name],
        "reasons": list(result.reasons),
        "unknown_fields": result.unknown_fields,
    }


def ingest(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from txdagster.lake.tables import LAKE_TABLES

    table = next(t for t in LAKE_TABLES if t.name == args.table)
    out = os.path.abspath(args.out)
    dt = datetime.now(UTC).date().isoformat()
    files = []
    for path in args.files:
        try:
            files.append(_ingest_file(path, _local_key(path, table.name, args.source_system), table, out, dt))
        except OSError as exc:
            output.fail(f"cannot read {path}: {exc.strerror}")
            return 2
    report = {name: sum(entry[name] for entry in files) for name in ("rows_in", "rows_published", "rows_quarantined")}
    report |= {"outputs": [name for entry in files for name in entry["outputs"]], "files": files}
    if args.json:
        output.emit_json(report)
    else:
        for entry in files:
            output.say(
                f"[bold]{entry['file']}[/]: {entry['rows_in']} in, {entry['rows_published']} published, "
                f"{entry['rows_quarantined']} quarantined"
            )
            for reason in entry["reasons"]:
                output.say(f"  - {reason}")
            if entry["unknown_fields"]:
                output.say(f"  fields the contract does not know: {entry['unknown_fields']}")
        output.say(f"outputs under {out}")
    return 1 if report["rows_quarantined"] else 0


def query(args: argparse.Namespace) -> int:
    answer: dict[str, Any] | None = _query_local_stack(args.sql) if args.local and not args.engine else None
    if answer is None:  # AWS (Athena), or a local stack that serves no queries: the engine in this process
        from txdagster.lake.engines import QueryError, query_engine
        from txdagster.settings import with_overrides

        settings = target_settings(args)
        if args.engine:
            settings = with_overrides(settings, query_engine=args.engine)
        try:
            result = query_engine(settings).query(args.sql)
        except QueryError as exc:
            answer = {"error": str(exc)}
        else:
            answer = {"columns": result.column_names, "rows": [list(r.values()) for r in result.to_pylist()]}
    if "error" in answer:
        output.fail(f"query failed: {answer['error']}")
        return 2
    if args.json:
        output.emit_json([dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]])
    else:
        output.rows(answer["columns"], answer["rows"])
    return 0


def _query_local_stack(sql: str) -> dict[str, Any] | None:
    """The running local stack's answer (the engine is loaded there already), or None when the recorded
    stack serves no queries."""
    import json

    found = _ask_local_stack("/query", json.dumps({"sql": sql}).encode())
    return None if found is None else found[1]


def _ask_local_stack(path: str, body: bytes | None = None) -> tuple[int, dict[str, Any]] | None:
    """(status, JSON answer) of the running local stack's service (``local/stack_service.py``), or None
    when the recorded stack has none. A stack that does not answer raises ``URLError``."""
    import json
    import urllib.error
    import urllib.request

    from txdagster.local import state

    base = (state.read_stack() or {}).get("service_url")
    if not base:
        return None
    request = urllib.request.Request(f"{base}{path}", body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:  # refused, failed or not found: the reason is in the body
        return exc.code, json.loads(exc.read())


def _ledger_object(settings: Settings, key: str) -> tuple[str, str]:
    """KEY or s3://BUCKET/KEY -> (bucket, key)."""
    if key.startswith("s3://"):
        bucket, _, rest = key.removeprefix("s3://").partition("/")
        return bucket, rest
    return settings.lake_bucket, key


def trace(args: argparse.Namespace) -> int:
    import urllib.parse

    settings = target_settings(args)
    bucket, key = _ledger_object(settings, args.key)
    served = (
        _ask_local_stack("/ledger?" + urllib.parse.urlencode({"bucket": bucket, "key": key})) if args.local else None
    )
    if served is None:  # AWS, or a local stack without the service: the ledger from this process
        from txdagster.lake.ledger import Ledger

        entry = Ledger(settings).get(bucket, key)
        found = entry.as_json() if entry else None
    else:
        found = served[1] if served[0] == 200 else None
    if found is None:
        output.fail(
            f"the ingestion ledger has no entry for s3://{bucket}/{key}: no sensor has handed it out yet. Lake "
            f"objects live under raw/<source>/dt=YYYY-MM-DD/ or {settings.cdc_prefix}dt=YYYY-MM-DD/ and are "
            "picked up on the sensor's next tick once their day has begun."
        )
        return 2
    if args.json:
        output.emit_json(found)
    else:
        output.fields(found, width=17)
    return 0


def replay(args: argparse.Namespace) -> int:
    import time

    from txdagster.lake.ledger import Ledger

    settings = target_settings(args)
    bucket, key = _ledger_object(settings, args.key)
    entry = Ledger(settings).replay(bucket, key, time.time())
    if entry is None:
        output.fail(
            f"not replayed: s3://{bucket}/{key} is unknown to the ledger or in flight right now "
            "(see `txdagster trace`)."
        )
        return 2
    output.say(f"s3://{bucket}/{key} will be handed out again on the {entry.table} sensor's next tick")
    return 0


def compact(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from txdagster.lake.compaction import compact_day
    from txdagster.lake.day_lock import DayBusy

    settings = target_settings(args)
    log = (lambda _: None) if args.json else output.say
    try:
        result = compact_day(settings, args.table, args.day, holder=f"cli:{os.getpid()}", force=args.force, log=log)
    except DayBusy as exc:
        output.fail(f"not compacted: {exc}; try again when its run has finished")
        return 2
    if args.json:
        output.emit_json(asdict(result))
    elif result.generation is None:
        output.say(f"{args.table} dt={args.day}: nothing to compact (no files, or one part already)")
    return 0


def dlq(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from txdagster.ops.dead_letters import summary

    found = summary(target_settings(args))
    if args.json:
        output.emit_json({code: asdict(entry) for code, entry in found.items()})
        return 0
    if not found:
        output.say("the dead-letter queue is empty")
    for code, entry in found.items():
        output.say(f"[bold]{code}[/]: {entry.count}")
        for sample in entry.samples:
            output.say(f"  - {sample['source_system'] or '?'}: {sample['detail'] or sample['body']}")
    return 0


def redrive(args: argparse.Namespace) -> int:
    from txdagster.ops.dead_letters import redrive as redrive_letters
    from txdagster.ops.dead_letters import redrive_changes

    if args.changes and args.code:
        output.fail("--changes replays change batches; --code names source-stage error codes")
        return 2
    if args.changes:
        redrive_changes(target_settings(args), log=output.say)
    else:
        redrive_letters(target_settings(args), args.code, log=output.say)
    return 0


def register(sub: argparse._SubParsersAction) -> Group:
    parser = GROUP.add(
        sub,
        "ingest",
        "the lake's road on local files (no AWS): Parquet and quarantine under --out",
        ingest,
        description="Check files before dropping them into raw/: the same parsing, typing and validation as the "
        "lake, on this machine, without AWS.",
        exits=(
            "0  every row would be published",
            "1  some rows would be quarantined (reasons printed)",
            "2  a file cannot be read",
        ),
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="NDJSON, JSON array, CSV or Parquet, optionally .gz")
    parser.add_argument(
        "--table",
        choices=["transaction_files", "transaction_changes"],
        default="transaction_files",
        help="the lake table whose road to take (default transaction_files)",
    )
    parser.add_argument(
        "--out", default="txdagster-ingest-out", help="folder for the outputs (default ./txdagster-ingest-out)"
    )
    parser.add_argument("--source-system", help="the source system of raw files (default: from a raw/<source>/ path)")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print an object with rows_in, rows_published, rows_quarantined, outputs and the per-file details",
    )

    parser = GROUP.add(
        sub,
        "query",
        "one read statement of Athena SQL against the lake",
        query,
        description="Run one read statement (SELECT, WITH, SHOW, DESCRIBE) of Athena SQL against the lake: "
        "Athena in AWS (the workgroup TXD_ATHENA_WORKGROUP; TXD_QUERY_ENGINE), DuckDB over the Glue catalog on the "
        "local stack, or wherever --engine duckdb asks for it.",
        exits=(DONE, "2  the statement was refused or failed (the reason is printed), or nobody answers"),
    )
    add_local_flag(parser)
    parser.add_argument("sql", help='e.g. "select count(*) from transactions_current"')
    parser.add_argument("--json", action="store_true", help="print rows as JSON")
    parser.add_argument(
        "--engine",
        choices=["athena", "duckdb"],
        help="the engine to run it on, instead of TXD_QUERY_ENGINE (default athena; the local stack: duckdb)",
    )

    parser = GROUP.add(
        sub,
        "trace",
        "where did this lake object go? its ingestion-ledger entry",
        trace,
        description="Print a lake object's ingestion-ledger entry: state, attempts, rows, outputs, last error.",
        exits=(DONE, "2  the ledger has no entry for the object (yet), or nobody answers"),
    )
    add_local_flag(parser)
    parser.add_argument("key", help="the object's key in the lake bucket (or s3://BUCKET/KEY)")
    parser.add_argument("--json", action="store_true", help="print the entry as JSON")

    parser = GROUP.add(
        sub,
        "replay",
        "hand a done, failed or poisoned lake object out again",
        replay,
        description="Hand a done, failed or poisoned lake object out again (after fixing it); its attempts start "
        "from zero.",
        exits=(DONE, "2  the object is unknown to the ledger or in flight right now"),
    )
    add_local_flag(parser)
    parser.add_argument("key", help="the object's key in the lake bucket (or s3://BUCKET/KEY)")

    parser = GROUP.add(
        sub,
        "compact",
        "rewrite a day of a lake table into files sized for readers",
        compact,
        description="Rewrite a day of a lake table into files sized for readers, atomically for queries.",
        exits=(DONE + " (also when there was nothing to compact)", "2  an ingest run holds the day"),
    )
    add_local_flag(parser)
    parser.add_argument("table", choices=["transaction_changes", "transaction_files"], help="the lake table")
    parser.add_argument("day", type=day, help="the dt partition, YYYY-MM-DD")
    parser.add_argument("--force", action="store_true", help="rewrite even a day already in one part")
    parser.add_argument("--json", action="store_true", help="print what was done as JSON")

    parser = GROUP.add(sub, "dlq", "the source stage's dead letters, grouped by error code, with samples", dlq)
    add_local_flag(parser)
    parser.add_argument("--json", action="store_true", help="print as JSON")

    parser = GROUP.add(
        sub,
        "redrive",
        "move dead letters back to the inbound queue after a fix",
        redrive,
        description="Move dead letters back to the inbound queue after a fix (nothing lost; a replay is harmless).",
    )
    add_local_flag(parser)
    parser.add_argument("--code", help="only the dead letters of this error code (e.g. UNKNOWN_SCHEMA)")
    parser.add_argument(
        "--changes",
        action="store_true",
        help="instead: replay the change batches the stream mapping gave up on (CDC dead-letter "
        "queue) from the stream into the lake",
    )
    return GROUP
