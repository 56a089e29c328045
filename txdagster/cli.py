"""The ``txdagster`` command: run the local stack, the demo, send traffic, query the lake."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict

from rich.console import Console
from rich.table import Table

console = Console()


#: Commands that serve the local stack; the others work on the environment's AWS unless given --local.
LOCAL_COMMANDS = ("send", "info", "token")


class NoLocalStack(RuntimeError):
    pass


def _stack_settings():
    """Settings of the running local stack (from .local/stack.json), else of the environment: for the
    commands that serve the local stack (send, info, token)."""
    from txdagster.local import state
    from txdagster.settings import load_settings

    stack = state.read_stack()
    if stack:
        os.environ.update(stack["environment"])
    return load_settings()


def _target_settings(args: argparse.Namespace):
    """Settings of the environment (AWS, or whatever it names) for the operator commands; those of the
    running local stack only when ``--local`` asks for them."""
    from txdagster.local import state
    from txdagster.settings import load_settings

    if args.local:
        stack = state.read_stack()
        if not stack:
            raise NoLocalStack(f"--local: no local stack is recorded in {state.stack_file()}; start one with "
                               "`txdagster up`")  # fmt: skip
        os.environ.update(stack["environment"])
    return load_settings()


def cmd_up(args: argparse.Namespace) -> int:
    from txdagster.local import dev, lifecycle, state
    from txdagster.local.stack import LocalStack

    problem = lifecycle.why_not_up(args.port, args.emulator_port)
    if problem:
        console.print(f"[red]not started:[/] {problem}")
        return 2
    folder = state.reset()
    stack = LocalStack(port=args.emulator_port)
    settings = stack.start()
    dagster = None
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        log_file = folder / "dagster.log"
        dagster = dev.start_dagster(state.stack_environment(settings), args.port, log_file)
        state.write_stack(
            settings,
            {
                "dagster_url": f"http://127.0.0.1:{args.port}",
                "dagster_pid": dagster.pid,
                "up_pid": os.getpid(),
                "analyst": asdict(stack.analyst),
            },
        )
        console.print(f"[bold]embedded AWS[/]   {settings.endpoint_url}")
        console.print(f"[bold]Data API[/]       {settings.api_url}")
        console.print(f"[bold]state[/]          {folder} (Dagster log: {log_file})")
        if dev.wait_for_webserver(args.port, dagster):
            console.print(f"[bold green]Dagster UI[/]     http://127.0.0.1:{args.port}  (Ctrl-C stops everything)")
        else:
            console.print(f"[red]dagster dev did not start; see {log_file}[/]")
            return 1
        if args.traffic:
            threading.Thread(target=_traffic, args=(settings, args.rate, stop), daemon=True).start()
            console.print(f"streaming sample transactions at {args.rate}/s")
        console.print('try: txdagster query --local "select count(*) from transactions_current"   |   txdagster token')
        while not stop.is_set():
            if dagster.poll() is not None:
                console.print(f"[red]dagster dev exited ({dagster.returncode}); see {log_file}[/]")
                return 1
            if stack.lost.is_set():
                console.print(f"[red]{stack.lost_reason}.[/] Stopping the stack: start it again with `txdagster up`.")
                return 1
            stop.wait(1)
        return 0
    finally:
        console.print("stopping...")
        if dagster is not None:
            dev.stop_process_group(dagster)
        stack.stop()
        state.forget_stack()


def _traffic(settings, rate: float, stop: threading.Event) -> None:
    from txdagster.local import traffic

    rng = random.Random()
    messages = traffic.stream(rng)
    while not stop.is_set():
        try:
            traffic.send(settings, [next(messages) for _ in range(max(1, int(rate)))])
        except Exception as exc:  # the stack is stopping, or the emulator hiccuped: keep going
            console.print(f"[yellow]traffic: {exc}[/]")
        stop.wait(1)


def cmd_down(args: argparse.Namespace) -> int:
    from txdagster.local import lifecycle

    ended = lifecycle.down()
    console.print(f"ended: {', '.join(ended)}" if ended else "no local stack was running")
    return 0


def cmd_bench_flow(args: argparse.Namespace) -> int:
    from pathlib import Path

    from txdagster.local import flow, lifecycle

    if lifecycle.port_taken(args.port):
        console.print(f"[red]not started:[/] port {args.port} is taken; choose another with --port")
        return 2
    report = flow.run_flow(args.rate, args.minutes, args.port, console, Path(args.out))
    json_path, png_path = flow.write_outputs(report, Path(args.out))
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for name, value in summary.items():
            console.print(f"{name:28} {value}")
    console.print(f"written: {json_path} and {png_path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from txdagster.local import demo

    ok = demo.run(console, seed=args.seed)
    console.print("[bold green]DEMO PASSED[/]" if ok else "[bold red]DEMO FAILED[/]")
    return 0 if ok else 1


def cmd_send(args: argparse.Namespace) -> int:
    from txdagster.local import traffic

    settings = _stack_settings()
    rng = random.Random(args.seed)
    sources = [args.source] if args.source else list(traffic.MAKERS)
    messages = [traffic.valid_message(rng.choice(sources), rng) for _ in range(args.count)]
    messages += traffic.invalid_messages(rng)[: args.invalid]
    traffic.send(settings, messages)
    console.print(f"sent {args.count} valid and {min(args.invalid, 4)} invalid messages to {settings.inbound_queue}")
    return 0


def _local_key(path: str, table: str, source_system: str | None) -> str:
    """The key a local file would have in the lake: it gives the road the source system of raw files."""
    name = os.path.basename(path)
    if table == "transaction_files" and source_system:
        return f"raw/{source_system}/{name}"
    marker = path.replace(os.sep, "/").rfind("raw/")
    return path.replace(os.sep, "/")[marker:] if marker >= 0 else name


def cmd_ingest(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from txdagster.ingest.chunks import READ_CHUNK_BYTES
    from txdagster.ingest.pipeline import ingest_object
    from txdagster.ingest.write import local_publisher
    from txdagster.lake import layout
    from txdagster.lake.tables import LAKE_TABLES

    table = next(t for t in LAKE_TABLES if t.name == args.table)
    out = os.path.abspath(args.out)
    dt = datetime.now(UTC).date().isoformat()
    report = {"rows_in": 0, "rows_published": 0, "rows_quarantined": 0, "outputs": [], "files": []}
    for path in args.files:
        key = _local_key(path, table.name, args.source_system)
        try:
            with open(path, "rb") as source:
                # the file's identity names its outputs, as the ETag does in S3: its size and modification
                # time (an MD5 of every byte would cost a core as much as the parsing)
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
        except OSError as exc:
            console.print(f"[red]cannot read {path}:[/] {exc.strerror}")
            return 2
        outputs = [f"{out}/{name}" for name in (result.parquet_key, result.quarantine_key) if name]
        report["rows_in"] += result.rows_in
        report["rows_published"] += result.rows_valid
        report["rows_quarantined"] += result.rows_quarantined
        report["outputs"] += outputs
        report["files"].append({"file": path, "rows_in": result.rows_in, "rows_published": result.rows_valid,
                                "rows_quarantined": result.rows_quarantined, "outputs": outputs,
                                "reasons": list(result.reasons), "unknown_fields": result.unknown_fields})  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for entry in report["files"]:
            console.print(f"[bold]{entry['file']}[/]: {entry['rows_in']} in, {entry['rows_published']} published, "
                          f"{entry['rows_quarantined']} quarantined")  # fmt: skip
            for reason in entry["reasons"]:
                console.print(f"  - {reason}")
            if entry["unknown_fields"]:
                console.print(f"  fields the contract does not know: {entry['unknown_fields']}")
        console.print(f"outputs under {out}")
    return 1 if report["rows_quarantined"] else 0


def cmd_query(args: argparse.Namespace) -> int:
    from txdagster.lake.engines import QueryError, query_engine

    settings = _target_settings(args)
    try:
        result = query_engine(settings).query(args.sql)
    except QueryError as exc:
        console.print(f"[red]query failed:[/] {exc}")
        return 2
    if args.json:
        print(json.dumps(result.to_pylist(), default=str))
        return 0
    table = Table()
    for name in result.column_names:
        table.add_column(name)
    for row in result.to_pylist():
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    console.print(table)
    console.print(f"{result.num_rows} rows")
    return 0


def _ledger_object(settings, key: str) -> tuple[str, str]:
    """KEY or s3://BUCKET/KEY -> (bucket, key)."""
    if key.startswith("s3://"):
        bucket, _, rest = key.removeprefix("s3://").partition("/")
        return bucket, rest
    return settings.lake_bucket, key


def cmd_trace(args: argparse.Namespace) -> int:
    from txdagster.lake.ledger import Ledger

    settings = _target_settings(args)
    bucket, key = _ledger_object(settings, args.key)
    entry = Ledger(settings).get(bucket, key)
    if entry is None:
        console.print(
            f"[red]the ingestion ledger has no entry for s3://{bucket}/{key}[/]: no sensor has handed it out yet. "
            f"Lake objects live under raw/<source>/dt=YYYY-MM-DD/ or {settings.cdc_prefix}dt=YYYY-MM-DD/ and are "
            "picked up on the sensor's next tick once their day has begun."
        )
        return 2
    if args.json:
        print(json.dumps(entry.as_json(), indent=2, default=str))
        return 0
    for name, value in entry.as_json().items():
        console.print(f"[bold]{name:>17}[/]  {value}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    import time

    from txdagster.lake.ledger import Ledger

    settings = _target_settings(args)
    bucket, key = _ledger_object(settings, args.key)
    entry = Ledger(settings).replay(bucket, key, time.time())
    if entry is None:
        console.print(f"[red]not replayed:[/] s3://{bucket}/{key} is unknown to the ledger or in flight right now "
                      "(see `txdagster trace`).")  # fmt: skip
        return 2
    console.print(f"s3://{bucket}/{key} will be handed out again on the {entry.table} sensor's next tick")
    return 0


def cmd_compact(args: argparse.Namespace) -> int:
    from txdagster.lake.compaction import compact_day
    from txdagster.lake.day_lock import DayBusy

    settings = _target_settings(args)
    try:
        result = compact_day(settings, args.table, args.day, holder=f"cli:{os.getpid()}", force=args.force,
                             log=(lambda _: None) if args.json else console.print)  # fmt: skip
    except DayBusy as exc:
        console.print(f"[red]not compacted:[/] {exc}; try again when its run has finished")
        return 2
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    elif result.generation is None:
        console.print(f"{args.table} dt={args.day}: nothing to compact (no files, or one part already)")
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    from txdagster.ops.dead_letters import summary

    found = summary(_target_settings(args))
    if args.json:
        print(json.dumps({code: asdict(entry) for code, entry in found.items()}, indent=2))
        return 0
    if not found:
        console.print("the dead-letter queue is empty")
    for code, entry in found.items():
        console.print(f"[bold]{code}[/]: {entry.count}")
        for sample in entry.samples:
            console.print(f"  - {sample['source_system'] or '?'}: {sample['detail'] or sample['body']}")
    return 0


def cmd_redrive(args: argparse.Namespace) -> int:
    from txdagster.ops.dead_letters import redrive, redrive_changes

    if args.changes:
        if args.code:
            console.print("[red]--changes replays change batches; --code names source-stage error codes[/]")
            return 2
        redrive_changes(_target_settings(args), log=console.print)
    else:
        redrive(_target_settings(args), args.code, log=console.print)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from txdagster.local import provision, state

    stack = state.read_stack()
    if not stack:
        console.print("[red]no local stack is running here; start one with `txdagster up`[/]")
        return 2
    analyst = stack["analyst"]
    print(provision.user_token(_stack_settings(), analyst["client_id"], analyst["username"], analyst["password"]))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from txdagster.local import state

    stack = state.read_stack()
    settings = _stack_settings()
    info = {
        "running_local_stack": stack is not None,
        "dagster_url": (stack or {}).get("dagster_url"),
        "state_folder": str(state.home()),
        "settings": asdict(settings),
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            if key != "settings":
                console.print(f"[bold]{key}[/]: {value}")
        for key, value in info["settings"].items():
            console.print(f"  {key}: {value}")
    return 0


def cmd_package_lambdas(args: argparse.Namespace) -> int:
    from txdagster.ops.deploy import package_lambdas

    data = package_lambdas()
    with open(args.output, "wb") as out:
        out.write(data)
    console.print(f"wrote {args.output} ({len(data):,} bytes); upload it and pass ArtifactBucket/ArtifactKey")
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from txdagster.ops import deploy
    from txdagster.settings import load_settings

    settings = load_settings()
    given = dict(p.split("=", 1) for p in args.parameter)
    if args.dagster:
        name = f"{settings.stack_name}-dagster"
        outputs = deploy.deploy_stack(settings, deploy.orchestration_parameters(settings, **given),
                                      template=deploy.ORCHESTRATION_TEMPLATE.read_text(), stack_name=name)  # fmt: skip
        console.print(f"stack {name}: {outputs}")
        return 0
    if not args.artifact_bucket:
        console.print("[red]--artifact-bucket is needed to deploy the data plane (the Lambda zip goes there)[/]")
        return 2
    key = deploy.artifact_key()
    deploy.upload_artifact(settings, args.artifact_bucket, key)
    outputs = deploy.deploy_stack(settings, deploy.stack_parameters(settings, args.artifact_bucket, key, **given))
    console.print(f"stack {settings.stack_name}: {outputs}")
    return _publish(settings)


def cmd_publish_schemas(args: argparse.Namespace) -> int:
    from txdagster.settings import load_settings

    return _publish(load_settings())


def _publish(settings) -> int:
    from txdagster.lake.catalog import LAKE_TABLES, ensure_lake
    from txdagster.ops.schema_registry import IncompatibleSchema, publish_schemas

    try:
        count = publish_schemas(settings)
    except IncompatibleSchema as exc:
        console.print(f"[red]nothing published:[/] {exc}")
        return 2
    ensure_lake(settings)
    console.print(f"published {count} schema versions to {settings.registry_table}; Glue tables "
                  f"{', '.join(LAKE_TABLES)} match the contract; transactions_current (Iceberg) exists")  # fmt: skip
    return 0


def cmd_openapi(args: argparse.Namespace) -> int:
    import json

    from lambdas.data_api import handler, openapi
    from txdagster.contract.json_schema import canonical_json_schema

    text = json.dumps(openapi.document(handler.app, canonical_json_schema()), indent=2, ensure_ascii=False) + "\n"
    if args.output == "-":
        print(text, end="")
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
        console.print(f"wrote {args.output}: the Data API's OpenAPI document (also served at GET /openapi.json)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="txdagster",
        description="Real-time transactional data on AWS (SQS, API Gateway, DynamoDB, Glue, Athena) with Dagster.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    target = argparse.ArgumentParser(add_help=False)  # the operator commands: AWS unless asked otherwise
    target.add_argument(
        "--local", action="store_true", help="work on the running local stack (.local/stack.json), not AWS"
    )

    up = sub.add_parser("up", help="start the embedded AWS stack, the Lambda runtime and Dagster (UI + daemon)")
    up.add_argument("--traffic", action="store_true", help="stream sample transactions from all three sources")
    up.add_argument("--rate", type=float, default=2.0, help="messages per second with --traffic (default 2)")
    up.add_argument("--port", type=int, default=3000, help="Dagster UI port (default 3000)")
    up.add_argument("--emulator-port", type=int, default=0, help="moto server port (default: a free one)")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop the local stack started by `txdagster up` (also one whose up was killed)")
    down.set_defaults(func=cmd_down)

    demo = sub.add_parser("demo", help="headless end-to-end run; exits 0 only if every record is where it belongs")
    demo.add_argument("--seed", type=int, default=7, help="seed of the sample data (default 7)")
    demo.set_defaults(func=cmd_demo)

    bench = sub.add_parser("bench", help="benchmarks of the running road (the ingest road's: `make bench`)")
    benches = bench.add_subparsers(dest="bench", required=True)
    flow = benches.add_parser(
        "flow",
        help="drive the full road (SQS -> validator -> API -> DynamoDB -> stream -> Dagster -> transactions_current) "
        "on a local stack of its own at a fixed rate; print freshness p50/p95/max, runs in flight, backlog and the "
        "ingest runs' launch wait, length and cadence",
    )
    flow.add_argument("--rate", type=float, default=10.0, help="valid messages per second (default 10)")
    flow.add_argument("--minutes", type=float, default=10.0, help="how long to drive (default 10)")
    flow.add_argument("--port", type=int, default=3300, help="its Dagster UI port (default 3300)")
    flow.add_argument("--out", default=".local", help="where bench-flow.json and bench-flow.png go (default .local)")
    flow.add_argument("--json", action="store_true", help="print the summary as JSON")
    flow.set_defaults(func=cmd_bench_flow)

    send = sub.add_parser("send", help="send sample messages to the running stack's inbound queue")
    send.add_argument("--count", type=int, default=10, help="valid messages to send (default 10)")
    send.add_argument("--invalid", type=int, default=0, help="invalid messages to add, up to 4 (default 0)")
    send.add_argument("--source", choices=["payments", "crm", "trading"], help="only this source system")
    send.add_argument("--seed", type=int, default=None, help="seed for reproducible messages")
    send.set_defaults(func=cmd_send)

    ingest = sub.add_parser(
        "ingest",
        help="run the lake's road on local files (no AWS): Parquet and quarantine under --out; exit 1 if rows "
        "were quarantined",
        description="Check files before dropping them into raw/: the same parsing, typing and validation as the "
        "lake. Exit status 0: every row would be published; 1: some rows would be quarantined; 2: a file cannot "
        "be read.",
    )
    ingest.add_argument("files", nargs="+", metavar="FILE", help="NDJSON, JSON array, CSV or Parquet, optionally .gz")
    ingest.add_argument("--table", choices=["transaction_files", "transaction_changes"], default="transaction_files",
                        help="the lake table whose road to take (default transaction_files)")  # fmt: skip
    ingest.add_argument(
        "--out", default="txdagster-ingest-out", help="folder for the outputs (default ./txdagster-ingest-out)"
    )
    ingest.add_argument("--source-system", help="the source system of raw files (default: from a raw/<source>/ path)")
    ingest.add_argument("--json", action="store_true", help="print an object with rows_in, rows_published, "
                        "rows_quarantined, outputs and the per-file details")  # fmt: skip
    ingest.set_defaults(func=cmd_ingest)

    query = sub.add_parser(
        "query",
        parents=[target],
        help="run one read statement of Athena SQL against the lake (DuckDB locally, Athena in AWS)",
    )
    query.add_argument("sql", help='e.g. "select count(*) from transactions_current"')
    query.add_argument("--json", action="store_true", help="print rows as JSON")
    query.set_defaults(func=cmd_query)

    info = sub.add_parser("info", help="endpoints and resource names of the running stack")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(func=cmd_info)

    trace = sub.add_parser(
        "trace",
        parents=[target],
        help="where did this lake object go? its ingestion ledger entry (state, attempts, rows, outputs, error)",
    )
    trace.add_argument("key", help="the object's key in the lake bucket (or s3://BUCKET/KEY)")
    trace.add_argument("--json", action="store_true", help="print the entry as JSON")
    trace.set_defaults(func=cmd_trace)

    replay = sub.add_parser(
        "replay",
        parents=[target],
        help="hand a done, failed or poisoned lake object out again (its attempts start from zero)",
    )
    replay.add_argument("key", help="the object's key in the lake bucket (or s3://BUCKET/KEY)")
    replay.set_defaults(func=cmd_replay)

    compact = sub.add_parser(
        "compact",
        parents=[target],
        help="rewrite a day of a lake table into files sized for readers (atomically for queries)",
    )
    compact.add_argument("table", choices=["transaction_changes", "transaction_files"], help="the lake table")
    compact.add_argument("day", help="the dt partition, YYYY-MM-DD")
    compact.add_argument("--force", action="store_true", help="rewrite even a day already in one part")
    compact.add_argument("--json", action="store_true", help="print what was done as JSON")
    compact.set_defaults(func=cmd_compact)

    dlq = sub.add_parser(
        "dlq", parents=[target], help="the source stage's dead letters, grouped by error code, with samples"
    )
    dlq.add_argument("--json", action="store_true", help="print as JSON")
    dlq.set_defaults(func=cmd_dlq)

    redrive = sub.add_parser(
        "redrive",
        parents=[target],
        help="move dead letters back to the inbound queue after a fix (nothing lost; a replay is harmless)",
    )
    redrive.add_argument("--code", help="only the dead letters of this error code (e.g. UNKNOWN_SCHEMA)")
    redrive.add_argument("--changes", action="store_true",
                         help="instead: replay the change batches the stream mapping gave up on (CDC dead-letter "
                              "queue) from the stream into the lake")  # fmt: skip
    redrive.set_defaults(func=cmd_redrive)

    token = sub.add_parser("token", help="print an access token for the running local stack's Data API (read+write)")
    token.set_defaults(func=cmd_token)

    package = sub.add_parser("package-lambdas", help="zip the Lambda code for infra/template.yaml's ArtifactKey")
    package.add_argument("--output", default="txdagster-lambdas.zip", help="zip file to write")
    package.set_defaults(func=cmd_package_lambdas)

    publish = sub.add_parser(
        "publish-schemas", help="publish the contract to the schema registry and create/align the Glue tables (AWS)"
    )
    publish.set_defaults(func=cmd_publish_schemas)

    deploy = sub.add_parser(
        "deploy",
        help="create or update the data plane stack (Lambda zip, template, registry, Glue tables), or with "
        "--dagster the orchestration stack <stack>-dagster; AWS credentials and TXD_* names from the environment",
    )
    deploy.add_argument("--artifact-bucket", help="S3 bucket for the Lambda zip (data plane)")
    deploy.add_argument("--dagster", action="store_true", help="deploy infra/dagster-ecs.yaml instead")
    deploy.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE",
                        help="a template parameter (repeat), e.g. LambdaLayerArns=…, or ImageUri=… VpcId=… "
                             "PrivateSubnetIds=a,b with --dagster")  # fmt: skip
    deploy.set_defaults(func=cmd_deploy)

    spec = sub.add_parser("openapi", help="write the Data API's OpenAPI 3.1 document, generated from its routes")
    spec.add_argument("--output", default="docs/openapi.json", help="file to write, or - for stdout")
    spec.set_defaults(func=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NoLocalStack as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    except Exception as exc:
        if not isinstance(exc, _unreachable()):
            raise
        from txdagster.local import state

        local = getattr(args, "local", False) or (args.command in LOCAL_COMMANDS and state.read_stack())
        where = f"the local stack in {state.stack_file()}" if local else "the environment's AWS endpoint"
        console.print(f"[red]{where} does not answer ({type(exc).__name__}: {str(exc)[:200]}).[/]")
        console.print("A stopped or killed local stack: start one with `txdagster up`; for AWS, check the "
                      "credentials and the region.")  # fmt: skip
        return 2


def _unreachable() -> tuple[type[BaseException], ...]:
    """Errors that mean nobody answers at the endpoint (imported only when one happened)."""
    import urllib.error

    import botocore.exceptions

    return (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError,
            ConnectionError, urllib.error.URLError)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
