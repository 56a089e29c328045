"""``txdagster bench flow``: the whole road under a steady load, measured the way a user feels it.

It starts a local stack of its own (embedded AWS, the Lambda runtime, ``dagster dev`` with its daemon,
in a temporary ``TXD_HOME``), waits until it is idle (its start over), sends valid transactions to the
inbound SQS queue at a fixed rate and, every few seconds, one tagged transaction whose arrival in
``transactions_current`` it times:
SQS -> source_validator -> Data API -> DynamoDB -> stream -> stream_exporter -> cdc/ -> sensor ->
ingest run -> Iceberg. A probe is seen from the moment a reader could see it: every 0.2 s the bench
asks Glue for the table's version and searches each new one for the probes not seen yet. Each second
it records the run backlog (ingest runs of change batches in flight, change batches the ledger does
not call done yet), the machine's CPU and each part's of the stack (``process_cpu.py``); every 10 s
the count and size of transactions_current's Iceberg metadata files and its data files; at the end,
the most runs that ingested at one moment (from their tags: a successor launched before its
predecessor's follow ends is in flight, waiting). Then it
waits for the lake to settle and checks full parity with DynamoDB.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROBE_EVERY_SECONDS = 3.0
DETECT_EVERY_SECONDS = 0.2  # how often Glue is asked for the table's version while a probe is not seen
SETTLE_SECONDS = 180
WINDOW_SECONDS = 120  # "first minutes" and "last minutes" of the run, for flatness
FOOTPRINT_EVERY_SECONDS = 10
#: Traffic starts once the stack is idle: the machine's CPU under IDLE_PERCENT for IDLE_SECONDS in a
#: row (at most IDLE_LONGEST_SECONDS after the webserver answers). Driven at once, the first minute
#: measured Dagster's start beside the road (the source stage 3-5 s behind for 30 s).
IDLE_PERCENT = 30.0
IDLE_SECONDS = 3
IDLE_LONGEST_SECONDS = 120.0
#: the local freshness target the chart draws (SQS send -> transactions_current, p95)
TARGET_P95_SECONDS = 5


@dataclass
class Probe:
    transaction_id: str
    sent_at: float  # seconds since the start
    seen_at: float | None = None  # in transactions_current
    stored_at: float | None = None  # in DynamoDB: where the source stage's part ends

    @property
    def latency(self) -> float | None:
        return None if self.seen_at is None else self.seen_at - self.sent_at


@dataclass
class Sample:
    at: float
    runs_in_flight: int
    batches_waiting: int
    cpu_percent: float
    #: transactions_current's Iceberg files (``table_files``), sampled every ``FOOTPRINT_EVERY_SECONDS``
    metadata_files: int | None = None
    metadata_bytes: int | None = None
    data_files: int | None = None
    #: percent of one core by part of the stack (``process_cpu.py``): the emulator, Dagster's processes, ...
    cpu_by_part: dict[str, float] = field(default_factory=dict)


@dataclass
class FlowReport:
    rate: float
    minutes: float
    sent: int
    probes: list[Probe] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    parity: dict[str, Any] = field(default_factory=dict)
    #: each ingest run of changes: created, started, ended, and when it ingested (``ingests_from`` to
    #: ``ingests_until``: from its predecessors' end to its follow's end, or its own)
    runs: list[dict[str, float]] = field(default_factory=list)
    failed_looks: int = 0  # the probes' detector's looks at the table that failed (an emulator error)

    def latencies(self, start: float = 0.0, end: float = float("inf")) -> list[float]:
        return sorted(p.latency for p in self.probes if p.latency is not None and start <= p.sent_at < end)

    def summary(self) -> dict[str, Any]:
        every = self.latencies()
        duration = self.minutes * 60
        first, last = self.latencies(0, WINDOW_SECONDS), self.latencies(duration - WINDOW_SECONDS, duration)
        waiting = [s.batches_waiting for s in self.samples if s.at <= duration]
        third = max(1, len(waiting) // 3)
        bounded = bool(waiting) and statistics.mean(waiting[-third:]) <= max(2.0, 2 * statistics.mean(waiting[:third]))
        cpu = round(statistics.mean(s.cpu_percent for s in self.samples), 1) if self.samples else None
        source = sorted(p.stored_at - p.sent_at for p in self.probes if p.stored_at is not None)
        return {
            "rate_per_second": self.rate,
            "minutes": self.minutes,
            "messages_sent": self.sent,
            "probes": len(self.probes),
            "probes_seen": len(every),
            "p50_seconds": _quantile(every, 0.5),
            "p50_source_stage_seconds": _quantile(source, 0.5),  # SQS send -> the item in DynamoDB
            "p95_seconds": _quantile(every, 0.95),
            "p99_seconds": _quantile(every, 0.99),
            "max_seconds": max(every, default=None),
            "p95_first_window_seconds": _quantile(first, 0.95),
            "p95_last_window_seconds": _quantile(last, 0.95),
            "max_ingest_runs_in_flight": max((s.runs_in_flight for s in self.samples), default=0),
            "max_ingest_runs_ingesting_at_once": self.most_ingesting_at_once(),
            "max_batches_waiting": max(waiting, default=0),
            "backlog_bounded": bounded,  # the last third's mean backlog within twice the first third's
            "mean_cpu_percent": cpu,
            "parity": self.parity,
            "failed_probe_looks": self.failed_looks,
            "cpu_percent_by_part_first_last": self.cpu_by_part(duration),
            **self.run_timings(),
            **self.footprint(),
        }

    def footprint(self) -> dict[str, Any]:
        """transactions_current's Iceberg files at the first and last samples, and at most: metadata that
        stays bounded is what snapshot expiry and small-file merging are for."""
        sampled = [s for s in self.samples if s.metadata_files is not None]
        if not sampled:
            return {}
        first, last = sampled[0], sampled[-1]
        return {
            "metadata_files_first_last_max": [
                first.metadata_files,
                last.metadata_files,
                max(s.metadata_files or 0 for s in sampled),
            ],
            "metadata_mb_first_last_max": [
                round((first.metadata_bytes or 0) / 1e6, 2),
                round((last.metadata_bytes or 0) / 1e6, 2),
                round(max(s.metadata_bytes or 0 for s in sampled) / 1e6, 2),
            ],
            "data_files_first_last_max": [first.data_files, last.data_files, max(s.data_files or 0 for s in sampled)],
        }

    def cpu_by_part(self, duration: float) -> dict[str, list[float]]:
        """Each part's mean CPU (percent of one core) in the first and the last ``WINDOW_SECONDS``."""

        def mean(part: str, start: float, end: float) -> float:
            window = [s.cpu_by_part.get(part, 0.0) for s in self.samples if start <= s.at < end]
            return round(statistics.mean(window), 1) if window else 0.0

        parts = sorted({part for s in self.samples for part in s.cpu_by_part})
        return {p: [mean(p, 0, WINDOW_SECONDS), mean(p, duration - WINDOW_SECONDS, duration)] for p in parts}

    def most_ingesting_at_once(self) -> int:
        """The most runs that ingested at one moment (a successor in flight waits for its predecessor's
        follow to end: in flight, not ingesting)."""
        edges = [(r["ingests_from"], 1) for r in self.runs if "ingests_from" in r and "ingests_until" in r]
        edges += [(r["ingests_until"], -1) for r in self.runs if "ingests_from" in r and "ingests_until" in r]
        most = now = 0
        for _, step in sorted(edges):  # at a tie, an end (-1) comes before a start
            now += step
            most = max(most, now)
        return most

    def run_timings(self) -> dict[str, Any]:
        """Where an ingest run's share of the freshness goes: waiting to launch, the run itself, and the
        time between one run's creation and the next (the sensor's cadence under load)."""
        runs = sorted(self.runs, key=lambda r: r["created"])
        launch = sorted(r["started"] - r["created"] for r in runs if r.get("started"))
        length = sorted(r["ended"] - r["started"] for r in runs if r.get("started") and r.get("ended"))
        cadence = sorted(b["created"] - a["created"] for a, b in itertools.pairwise(runs))
        return {
            "ingest_runs": len(runs),
            "p50_run_launch_seconds": _quantile(launch, 0.5),
            "p50_run_seconds": _quantile(length, 0.5),
            "p95_run_seconds": _quantile(length, 0.95),
            "p50_run_cadence_seconds": _quantile(cadence, 0.5),
        }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


def table_files(s3: Any, bucket: str, prefix: str) -> tuple[int, int, int]:
    """(metadata files, their bytes, data files) under a table's prefix (``<prefix>metadata/``: metadata
    JSON, manifest lists and manifests; anything else: data)."""
    files, size, data = 0, 0, 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for found in page.get("Contents", []):
            if found["Key"].startswith(f"{prefix}metadata/"):
                files, size = files + 1, size + found["Size"]
            else:
                data += 1
    return files, size, data


def _with_table_files(sample: Sample, index: int, s3: Any, bucket: str, prefix: str) -> None:
    """The table's files into every ``FOOTPRINT_EVERY_SECONDS``-th sample (one a second)."""
    if index % FOOTPRINT_EVERY_SECONDS == 0:
        sample.metadata_files, sample.metadata_bytes, sample.data_files = table_files(s3, bucket, prefix)


class _Cpu:
    """The machine's CPU use between two readings of /proc/stat."""

    def __init__(self) -> None:
        self.last = self._read()

    @staticmethod
    def _read() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    def percent(self) -> float:
        now = self._read()
        total, idle = now[0] - self.last[0], now[1] - self.last[1]
        self.last = now
        return round(100.0 * (1 - idle / total), 1) if total else 0.0


def wait_until_idle(cpu: _Cpu | None = None, longest: float = IDLE_LONGEST_SECONDS) -> float:
    """Wait until the machine's CPU stays under ``IDLE_PERCENT`` for ``IDLE_SECONDS`` (the stack's start
    is over: Dagster's daemon, code server and forkserver import and load for half a minute after the
    webserver answers), or ``longest``; the seconds waited."""
    cpu, started, quiet = cpu or _Cpu(), time.monotonic(), 0
    while quiet < IDLE_SECONDS and time.monotonic() - started < longest:
        time.sleep(1)
        quiet = quiet + 1 if cpu.percent() < IDLE_PERCENT else 0
    return time.monotonic() - started


def run_flow(rate: float, minutes: float, port: int, console, out: Path) -> FlowReport:
    """Drive the stack for ``minutes`` at ``rate`` valid messages per second; return what was measured.
    Dagster's log of the run is kept as ``out/bench-flow-dagster.log``."""
    with tempfile.TemporaryDirectory(prefix="txd-flow-") as home:
        os.environ["TXD_HOME"] = home
        try:
            return _run(rate, minutes, port, console)
        finally:
            out.mkdir(parents=True, exist_ok=True)
            log = Path(home, "dagster.log")
            if log.exists():
                shutil.copy(log, out / "bench-flow-dagster.log")


class _Road:
    """One bench run's threads over the stack: the driver, the watcher and the probes' detector."""

    def __init__(self, report: FlowReport, settings: Any, instance: Any) -> None:
        from txdagster.lake import aws
        from txdagster.lake.ledger import Ledger

        self.report, self.settings, self.instance = report, settings, instance
        self.ledger = Ledger(settings)
        self.dynamodb, self.s3 = aws.client("dynamodb", settings), aws.client("s3", settings)
        self.glue = aws.client("glue", settings)
        self.stop = threading.Event()
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def drive(self) -> None:
        from txdagster.local import traffic

        report, rng = self.report, random.Random(20261127)
        messages = traffic.valid_stream(rng)
        tick, next_probe = 0, 0.0
        while not self.stop.is_set() and self.elapsed() < report.minutes * 60:
            batch = [next(messages) for _ in range(int(report.rate * (tick + 1)) - int(report.rate * tick))]
            now = self.elapsed()
            if now >= next_probe and batch:
                batch[0] = traffic.valid_message("payments", rng, f"flow-probe-{len(report.probes):05d}")
                report.probes.append(Probe(str(batch[0].transaction_id), now))  # a valid message has an id
                next_probe += PROBE_EVERY_SECONDS
            traffic.send(self.settings, batch)
            report.sent += len(batch)
            tick += 1
            self.stop.wait(max(0.0, self.start + tick - time.monotonic()))

    def watch(self) -> None:
        import dagster as dg

        from txdagster.defs.lake.following import IN_FLIGHT
        from txdagster.lake import layout
        from txdagster.lake.current import CURRENT_TABLE
        from txdagster.lake.ledger import FAILED, PENDING
        from txdagster.lake.tables import CHANGES
        from txdagster.local.process_cpu import ProcessCpu

        cpu, parts, table = _Cpu(), ProcessCpu(), self.settings.transactions_table
        while not self.stop.is_set():
            unstored = [p for p in self.report.probes if p.stored_at is None][-5:]
            if unstored:
                keys = [{"transaction_id": {"S": p.transaction_id}} for p in unstored]
                request = {table: {"Keys": keys, "ProjectionExpression": "transaction_id"}}
                stored = {
                    item["transaction_id"]["S"]
                    for item in self.dynamodb.batch_get_item(RequestItems=request)["Responses"][table]
                }
                for probe in unstored:
                    if probe.transaction_id in stored:
                        probe.stored_at = self.elapsed()
            runs = len(self.instance.get_run_records(dg.RunsFilter(job_name=CHANGES.job, statuses=IN_FLIGHT)))
            backlog = self.ledger.open_entries(CHANGES.name, PENDING) + self.ledger.open_entries(CHANGES.name, FAILED)
            sample = Sample(round(self.elapsed(), 1), runs, len(backlog), cpu.percent(), cpu_by_part=parts.percent())
            prefix = layout.table_prefix(CURRENT_TABLE)
            _with_table_files(sample, len(self.report.samples), self.s3, self.settings.lake_bucket, prefix)
            self.report.samples.append(sample)
            self.stop.wait(1.0)

    def detect(self) -> None:
        """The probes as a reader sees them: each new version of the table (its metadata location in
        Glue, looked at every ``DETECT_EVERY_SECONDS``) is searched for the probes not seen yet, which
        are seen from the moment that version was found."""
        from txdagster.lake.current import CURRENT_TABLE, ensure_current_table, versions_of

        seen_location = ""
        while not self.stop.wait(DETECT_EVERY_SECONDS):
            waiting = [p for p in self.report.probes if p.seen_at is None]
            if not waiting:
                continue
            looked = self.elapsed()
            try:
                found = self.glue.get_table(DatabaseName=self.settings.glue_database, Name=CURRENT_TABLE)["Table"]
                location = found.get("Parameters", {}).get("metadata_location", "")
                if location == seen_location:
                    continue
                table = ensure_current_table(self.settings)
                versions = versions_of(self.settings, [p.transaction_id for p in waiting], table)
            except Exception:  # a failed look sees nothing: the probes are seen at a later one
                self.report.failed_looks += 1
                continue
            if table.metadata_location != location:
                looked = self.elapsed()  # a newer version than the one looked at: found no sooner than now
            seen_location = table.metadata_location
            for probe in waiting:
                if probe.transaction_id in versions:
                    probe.seen_at = looked

    def ingest_runs(self) -> list[dict[str, float]]:
        """Each ingest run of changes: created, started, ended, and when it ingested (its tags)."""
        import dagster as dg

        from txdagster.lake.follow import INGESTS_TAG, STOPPED_TAG
        from txdagster.lake.tables import CHANGES

        runs: list[dict[str, float]] = []
        for record in self.instance.get_run_records(dg.RunsFilter(job_name=CHANGES.job)):
            tags = record.dagster_run.tags
            times = {
                "created": record.create_timestamp.timestamp(),
                "started": record.start_time,
                "ended": record.end_time,
                "ingests_from": float(tags[INGESTS_TAG]) if tags.get(INGESTS_TAG) else None,
                "ingests_until": float(tags[STOPPED_TAG]) if tags.get(STOPPED_TAG) else record.end_time,
            }
            runs.append({name: at for name, at in times.items() if at is not None})  # not started: none
        return runs


def _run(rate: float, minutes: float, port: int, console) -> FlowReport:
    import dagster as dg

    from txdagster.lake.engines import DuckDBEngine
    from txdagster.lake.parity import check_parity
    from txdagster.local import dev, state
    from txdagster.local.stack import LocalStack

    folder = state.reset()
    stack = LocalStack()
    settings = stack.start()
    dagster = dev.start_dagster(state.stack_environment(settings), port, folder / "dagster.log")
    report = FlowReport(rate=rate, minutes=minutes, sent=0)
    road: _Road | None = None
    try:
        if not dev.wait_for_webserver(port, dagster):
            raise RuntimeError(f"dagster dev did not start; see {folder / 'dagster.log'}")
        os.environ["DAGSTER_HOME"] = str(state.dagster_home())
        settled = wait_until_idle()
        console.print(
            f"stack up (idle after {settled:.0f} s); driving {rate} msg/s for {minutes} min "
            f"(Dagster UI http://127.0.0.1:{port})"
        )
        road = _Road(report, settings, dg.DagsterInstance.get())
        threads = [threading.Thread(target=work, daemon=True) for work in (road.drive, road.watch, road.detect)]
        for thread in threads:
            thread.start()
        threads[0].join()
        console.print(f"sent {report.sent} messages; waiting for the lake to settle")
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline and any(p.seen_at is None for p in report.probes):
            time.sleep(2)
        time.sleep(15)  # the last batches (and the stream's last records) finish
        parity = check_parity(settings, DuckDBEngine(settings))
        report.parity = {
            "in_parity": parity.in_parity,
            "dynamodb_count": parity.dynamodb_count,
            "lake_count": parity.lake_count,
            "missing_in_lake": parity.missing_in_lake[:5],
            "version_mismatch": parity.version_mismatch[:5],
        }
        report.runs = road.ingest_runs()
        return report
    finally:
        if road is not None:
            road.stop.set()
        dev.stop_process_group(dagster)
        stack.stop()
        state.forget_stack()


def write_outputs(report: FlowReport, folder: Path) -> tuple[Path, Path]:
    """``bench-flow.json`` (summary, probes, samples) and ``bench-flow.png`` (latency and backlog over time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "summary": report.summary(),
        "probes": [asdict(p) for p in report.probes],
        "samples": [asdict(s) for s in report.samples],
        "runs": report.runs,
    }
    json_path = folder / "bench-flow.json"
    json_path.write_text(json.dumps(data, indent=2))
    figure, (latency, backlog, files) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    seen = [p for p in report.probes if p.latency is not None]
    latency.plot([p.sent_at for p in seen], [p.latency for p in seen], ".-", label="SQS send -> transactions_current")
    target = f"target p95 {TARGET_P95_SECONDS} s"
    latency.axhline(TARGET_P95_SECONDS, color="red", linestyle="--", label=target)
    latency.set_ylabel("freshness (s)")
    latency.legend(loc="upper left")
    latency.set_title(f"txdagster flow: {report.rate} msg/s for {report.minutes} min")
    at = [s.at for s in report.samples]
    backlog.plot(at, [s.batches_waiting for s in report.samples], label="change batches not done")
    backlog.plot(at, [s.runs_in_flight for s in report.samples], label="ingest runs in flight")
    backlog.set_ylabel("backlog")
    cpu = backlog.twinx()
    cpu.plot(at, [s.cpu_percent for s in report.samples], color="grey", alpha=0.4, label="CPU %")
    cpu.set_ylabel("CPU %")
    backlog.legend(loc="upper left")
    sampled = [s for s in report.samples if s.metadata_files is not None]
    files.plot([s.at for s in sampled], [s.metadata_files for s in sampled], label="metadata files")
    files.plot([s.at for s in sampled], [s.data_files for s in sampled], label="data files")
    files.set_ylabel("transactions_current files")
    size = files.twinx()
    size.plot([s.at for s in sampled], [(s.metadata_bytes or 0) / 1e6 for s in sampled], color="grey", label="MB")
    size.set_ylabel("metadata MB")
    files.legend(loc="upper left")
    files.set_xlabel("seconds since start")
    figure.tight_layout()
    png_path = folder / "bench-flow.png"
    figure.savefig(png_path, dpi=100)
    plt.close(figure)
    return json_path, png_path
