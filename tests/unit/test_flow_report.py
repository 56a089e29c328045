"""The flow bench's figures from its measurements: quantiles, flatness windows, runs in flight, backlog."""

from txdagster.local.flow import FlowReport, Probe, Sample, write_outputs


def _report(latencies: list[float], backlog: list[int]) -> FlowReport:
    report = FlowReport(rate=10, minutes=10, sent=6000)
    report.probes = [Probe(f"p{n}", n * 3.0, n * 3.0 + latency) for n, latency in enumerate(latencies)]
    report.probes.append(Probe("never", 599.0))  # not seen: counted as a probe, not as a latency
    report.samples = [Sample(float(n), 1 if n % 7 else 0, waiting, 50.0) for n, waiting in enumerate(backlog)]
    return report


def test_quantiles_windows_and_the_backlog_verdict():
    latencies = [10.0] * 40 + [12.0] * 100 + [14.0] * 40 + [20.0] * 20  # 200 probes, one every 3 s
    summary = _report(latencies, [1] * 300 + [2] * 300).summary()
    assert (summary["probes"], summary["probes_seen"]) == (201, 200)
    assert (summary["p50_seconds"], summary["p95_seconds"], summary["max_seconds"]) == (12.0, 20.0, 20.0)
    assert summary["p99_seconds"] == 20.0
    assert summary["p95_first_window_seconds"] == 10.0  # the first 120 s: probes 0-39
    assert summary["p95_last_window_seconds"] == 20.0  # the last 120 s: probes 160-199
    assert summary["max_ingest_runs_in_flight"] == 1
    assert summary["backlog_bounded"] is True


def test_a_growing_backlog_is_not_bounded(tmp_path):
    report = _report([10.0] * 10, list(range(600)))
    assert report.summary()["backlog_bounded"] is False
    json_path, png_path = write_outputs(report, tmp_path)
    assert json_path.read_text().startswith("{") and png_path.stat().st_size > 10_000


def test_the_current_tables_files_are_reported_first_last_and_at_most(tmp_path):
    report = _report([1.0] * 10, [0] * 30)
    for n, sample in enumerate(report.samples[::10]):
        sample.metadata_files, sample.metadata_bytes, sample.data_files = (5, 9, 7)[n], (5, 9, 7)[n] * 10**6, n
    summary = report.summary()
    assert summary["metadata_files_first_last_max"] == [5, 7, 9]
    assert summary["metadata_mb_first_last_max"] == [5.0, 7.0, 9.0]
    assert summary["data_files_first_last_max"] == [0, 2, 2]
    assert "metadata_files_first_last_max" not in _report([1.0], [0]).summary()  # nothing sampled: nothing said
    _, png_path = write_outputs(report, tmp_path)
    assert png_path.stat().st_size > 10_000


def test_runs_ingesting_at_once_count_from_the_start_of_ingesting_to_its_end():
    report = _report([1.0] * 10, [0] * 30)
    report.runs = [
        {"created": 0.0, "ingests_from": 1.0, "ingests_until": 21.0},
        {"created": 14.0, "ingests_from": 21.0, "ingests_until": 41.0},  # in flight at 14, waits until 21
        {"created": 35.0, "ingests_from": 41.2, "ingests_until": 60.0},
        {"created": 70.0},  # never started: not counted
    ]
    assert report.summary()["max_ingest_runs_ingesting_at_once"] == 1
    report.runs.append({"created": 50.0, "ingests_from": 50.0, "ingests_until": 52.0})  # beside the third
    assert report.summary()["max_ingest_runs_ingesting_at_once"] == 2


def test_each_parts_cpu_is_reported_for_the_first_and_last_two_minutes():
    report = _report([1.0] * 10, [0] * 600)
    for sample in report.samples:
        sample.cpu_by_part = {"emulator": 40.0 if sample.at < 300 else 80.0, "runs": 20.0}
    report.samples[5].cpu_by_part = {"emulator": 40.0}  # no run process then: counted as 0
    parts = report.summary()["cpu_percent_by_part_first_last"]
    assert parts == {"emulator": [40.0, 80.0], "runs": [19.8, 20.0]}


def test_the_stacks_processes_are_told_apart_by_command_line_and_parent():
    from txdagster.local.process_cpu import part_of

    processes = {
        10: (1, " python txdagster bench flow ", 0),
        11: (10, " python -m txdagster.local.emulator 4566 ", 0),
        12: (10, " dagster dev -w workspace.yaml ", 0),
        13: (12, " python -m dagster code-server start ", 0),
        14: (13, " python -c from multiprocessing.forkserver import main ", 0),
        15: (14, " python -c from multiprocessing.forkserver import main ", 0),
        16: (12, " python -m dagster_webserver ", 0),
        17: (12, " dagster-daemon run ", 0),
        18: (12, ' python -m dagster._daemon run --instance-ref {"run_launcher": "grpc webserver"} ', 0),
    }
    parts = [part_of(pid, processes, own=10) for pid in sorted(processes)]
    assert parts == [
        "bench and Lambdas",
        "emulator",
        "dagster dev",
        "code server",
        "forkserver",
        "runs",
        "webserver",
        "daemon",
        "daemon",
    ]


def test_traffic_waits_for_the_stack_to_be_idle_for_some_seconds_in_a_row(monkeypatch):
    from txdagster.local import flow

    class Readings:
        def __init__(self, values: list[float], then: float = 5.0) -> None:
            self.values, self.then, self.read = values, then, 0

        def percent(self) -> float:
            self.read += 1
            return self.values.pop(0) if self.values else self.then

    monkeypatch.setattr(flow.time, "sleep", lambda seconds: None)
    busy_then_quiet = Readings([95.0, 12.0, 20.0, 88.0, 10.0, 10.0, 10.0, 99.0])
    flow.wait_until_idle(busy_then_quiet)  # type: ignore[arg-type]
    assert busy_then_quiet.read == 4 + flow.IDLE_SECONDS  # a busy second starts the count again
    never_quiet = Readings([], then=90.0)  # (a list of 10^7 readings popped from its head read 3 in 50 ms)
    assert 0.05 <= flow.wait_until_idle(never_quiet, longest=0.05) < 1  # type: ignore[arg-type]: gives up
    assert never_quiet.read > flow.IDLE_SECONDS
