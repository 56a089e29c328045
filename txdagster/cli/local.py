"""The local stack's commands: ``up``, ``down``, ``demo``, ``send``, ``token``, ``info`` and ``bench flow``.
They need no AWS account: everything runs on this machine (``send`` reaches the environment's AWS only when
``--yes-really-send-to`` names its queue)."""

from __future__ import annotations

import argparse
import os
import random
import signal
import threading
from typing import TYPE_CHECKING

from txdagster.cli import output
from txdagster.cli.arguments import port, positive_number, whole_number
from txdagster.cli.groups import DONE, REFUSED, Group
from txdagster.cli.targets import CannotRun, add_local_flag, stack_settings, target_settings

if TYPE_CHECKING:
    from txdagster.settings import Settings

GROUP = Group("Local stack (this machine; no AWS account)")


def up(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from txdagster.local import lifecycle

    problem = lifecycle.why_not_up(args.port, args.emulator_port)
    if problem:  # said before the stack's seconds of imports
        output.fail(f"not started: {problem}")
        return 2
    from txdagster.local import dev, state
    from txdagster.local.stack import LocalStack

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
                "service_url": stack.service.url if stack.service else None,
                "analyst": asdict(stack.analyst) if stack.analyst else None,
            },
        )
        output.say(f"[bold]embedded AWS[/]   {settings.endpoint_url}")
        output.say(f"[bold]Data API[/]       {settings.api_url}")
        output.say(f"[bold]state[/]          {folder} (Dagster log: {log_file})")
        if not dev.wait_for_webserver(args.port, dagster):
            output.fail(f"dagster dev did not start; see {log_file}")
            return 1
        output.say(f"[bold green]Dagster UI[/]     http://127.0.0.1:{args.port}  (Ctrl-C stops everything)")
        if args.traffic:
            threading.Thread(target=_traffic, args=(settings, args.rate, stop), daemon=True).start()
            output.say(f"streaming sample transactions at {args.rate}/s")
        output.say('try: txdagster query --local "select count(*) from transactions_current"   |   txdagster token')
        while not stop.is_set():
            if dagster.poll() is not None:
                output.fail(f"dagster dev exited ({dagster.returncode}); see {log_file}")
                return 1
            if stack.lost.is_set():
                output.fail(f"{stack.lost_reason}. Stopping the stack: start it again with `txdagster up`.")
                return 1
            stop.wait(1)
        return 0
    finally:
        output.say("stopping...")
        if dagster is not None:
            dev.stop_process_group(dagster)
        stack.stop()
        state.forget_stack()


def _traffic(settings: Settings, rate: float, stop: threading.Event) -> None:
    from txdagster.local import traffic

    messages = traffic.stream(random.Random())
    said: set[str] = set()
    while not stop.is_set():
        try:
            traffic.send(settings, [next(messages) for _ in range(max(1, int(rate)))])
        except Exception as exc:  # the stack is stopping, or the emulator hiccuped: keep going
            if type(exc).__name__ not in said:  # one line per kind of failure, not one a second
                said.add(type(exc).__name__)
                output.say(f"[yellow]traffic: {type(exc).__name__}: {exc} (repeats are not shown)[/]")
        stop.wait(1)


def down(args: argparse.Namespace) -> int:
    from txdagster.local import lifecycle

    ended = lifecycle.down()
    output.say(f"ended: {', '.join(ended)}" if ended else "no local stack was running")
    return 0


def bench_flow(args: argparse.Namespace) -> int:
    from pathlib import Path

    from txdagster.local import flow, lifecycle

    if lifecycle.port_taken(args.port):
        output.fail(f"not started: port {args.port} is taken; choose another with --port")
        return 2
    report = flow.run_flow(args.rate, args.minutes, args.port, output.console(), Path(args.out))
    json_path, png_path = flow.write_outputs(report, Path(args.out))
    summary = report.summary()
    if args.json:
        output.emit_json(summary)
    else:
        for name, value in summary.items():
            output.say(f"{name:28} {value}")
    output.say(f"written: {json_path} and {png_path}")
    return 0


def demo(args: argparse.Namespace) -> int:
    from txdagster.local import demo as headless_demo

    ok = headless_demo.run(output.console(), seed=args.seed)
    output.say("[bold green]DEMO PASSED[/]" if ok else "[bold red]DEMO FAILED[/]")
    return 0 if ok else 1


def send(args: argparse.Namespace) -> int:
    from txdagster.local import traffic

    settings = _send_target(args)
    rng = random.Random(args.seed)
    sources = [args.source] if args.source else list(traffic.MAKERS)
    messages = [traffic.valid_message(rng.choice(sources), rng) for _ in range(args.count)]
    messages += traffic.invalid_messages(rng)[: args.invalid]
    traffic.send(settings, messages)
    output.say(f"sent {args.count} valid and {args.invalid} invalid messages to {settings.inbound_queue}")
    return 0


def _send_target(args: argparse.Namespace) -> Settings:
    """Where ``send`` may put generated transactions: the running local stack (``--local``), or the
    environment's queue only when ``--yes-really-send-to`` names it. Never by default: a shell with AWS
    credentials must not fill a real inbound queue with sample data by mistake."""
    from txdagster.settings import load_settings

    if args.local:
        return target_settings(args)
    if not args.yes_really_send_to:
        raise CannotRun(
            "send puts generated transactions on an inbound queue: give --local for the running local stack, "
            "or --yes-really-send-to QUEUE to send to the environment's AWS"
        )
    settings = load_settings()
    if args.yes_really_send_to != settings.inbound_queue:
        raise CannotRun(
            f"--yes-really-send-to names {args.yes_really_send_to!r}, but the environment's inbound queue "
            f"(TXD_INBOUND_QUEUE) is {settings.inbound_queue!r}: nothing was sent"
        )
    return settings


def token(args: argparse.Namespace) -> int:
    from txdagster.local import provision, state

    stack = state.read_stack()
    if not stack:
        output.fail("no local stack is running here; start one with `txdagster up`")
        return 2
    analyst = stack["analyst"]
    print(provision.user_token(stack_settings(), analyst["client_id"], analyst["username"], analyst["password"]))
    return 0


def info(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from txdagster.local import state

    stack = state.read_stack()
    found = {
        "running_local_stack": stack is not None,
        "dagster_url": (stack or {}).get("dagster_url"),
        "state_folder": str(state.home()),
        "settings": asdict(stack_settings()),
    }
    if args.json:
        output.emit_json(found)
        return 0
    output.fields({key: value for key, value in found.items() if key != "settings"})
    for key, value in found["settings"].items():
        output.say(f"  {key}: {value}")
    return 0


def register(sub: argparse._SubParsersAction) -> Group:
    parser = GROUP.add(
        sub,
        "up",
        "start the embedded AWS stack, the Lambda runtime and Dagster (UI + daemon)",
        up,
        description="Start the embedded AWS stack (a moto server over HTTP, provisioned from infra/template.yaml), "
        "the Lambda runtime and `dagster dev` (UI + daemon, sensors on); Ctrl-C stops every process it started.",
        exits=(
            DONE + " (stopped with Ctrl-C)",
            "1  dagster dev did not start or exited, or the stack was lost",
            "2  refused: a previous stack's processes live or a port is taken (both named)",
        ),
    )
    parser.add_argument("--traffic", action="store_true", help="stream sample transactions from all three sources")
    parser.add_argument(
        "--rate", type=positive_number, default=2.0, help="messages per second with --traffic (default 2)"
    )
    parser.add_argument("--port", type=port, default=3000, help="Dagster UI port (default 3000)")
    parser.add_argument("--emulator-port", type=port, default=0, help="moto server port (default: a free one)")

    GROUP.add(
        sub,
        "down",
        "stop the local stack `txdagster up` started (also one whose up was killed)",
        down,
        exits=(DONE + " (also when no stack was running)",),
    )

    parser = GROUP.add(
        sub,
        "demo",
        "headless end-to-end run; exits 0 only if every record is where it belongs",
        demo,
        description="Send a mixed batch from all three sources (with invalid messages) and a raw file, update and "
        "delete through the Data API, wait until the lake shows them, print where every record went.",
        exits=(
            "0  every valid record is in the views and every invalid one in the DLQ with its reason",
            "1  some record is not where it belongs (named)",
        ),
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the sample data (default 7)")

    parser = GROUP.add(
        sub,
        "send",
        "send sample messages to the local stack's inbound queue (--local), or to the environment's when "
        "--yes-really-send-to names it",
        send,
        exits=(DONE, "2  neither --local nor --yes-really-send-to (nothing sent), or no local stack is recorded"),
    )
    add_local_flag(parser)
    parser.add_argument(
        "--yes-really-send-to",
        metavar="QUEUE",
        help="send to the environment's AWS: QUEUE must equal its TXD_INBOUND_QUEUE",
    )
    parser.add_argument(
        "--count", type=whole_number(0, 100_000), default=10, help="valid messages to send (default 10)"
    )
    parser.add_argument(
        "--invalid", type=whole_number(0, 4), default=0, help="invalid messages to add, up to 4 (default 0)"
    )
    parser.add_argument("--source", choices=["payments", "crm", "trading"], help="only this source system")
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible messages")

    GROUP.add(
        sub,
        "token",
        "print an access token (read + write) for the local stack's Data API",
        token,
        exits=(DONE, "2  no local stack is running"),
    )

    parser = GROUP.add(
        sub, "info", "endpoints, resource names and the state folder of the local stack", info, exits=(DONE,)
    )
    parser.add_argument("--json", action="store_true", help="print as JSON")

    bench = GROUP.add(sub, "bench", "benchmarks of the running road (the ingest road's: `make bench`)", _no_bench)
    benches = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    parser = benches.add_parser(
        "flow",
        help="the full road at a fixed rate on a local stack of its own",
        description="Drive the full road (SQS -> validator -> API -> DynamoDB -> stream -> Dagster -> "
        "transactions_current) on a local stack of its own at a fixed rate; print freshness p50/p95/p99/max, runs "
        "in flight, backlog, the ingest runs' launch wait, length and cadence, and transactions_current's Iceberg "
        "metadata and data files over time.",
        epilog="exit status:\n  " + DONE + "\n  " + REFUSED,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=bench_flow)
    parser.add_argument("--rate", type=positive_number, default=10.0, help="valid messages per second (default 10)")
    parser.add_argument("--minutes", type=positive_number, default=10.0, help="how long to drive (default 10)")
    parser.add_argument("--port", type=port, default=3300, help="its Dagster UI port (default 3300)")
    parser.add_argument("--out", default=".local", help="where bench-flow.json and bench-flow.png go (default .local)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return GROUP


def _no_bench(args: argparse.Namespace) -> int:  # argparse requires a bench name before this could run
    return 2
