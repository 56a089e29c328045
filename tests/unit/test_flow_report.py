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
