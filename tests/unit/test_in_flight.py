"""The sensors' one-run-in-flight rule, on a Dagster instance: which runs it waits for."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from txdagster.defs.lake import sensors


def test_a_run_not_ended_is_waited_for_until_it_is_older_than_the_lease(monkeypatch):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_run(dg.DagsterRun(job_name="ingest_files", run_id="running", status=dg.DagsterRunStatus.STARTED))
    instance.add_run(dg.DagsterRun(job_name="ingest_changes", run_id="done", status=dg.DagsterRunStatus.SUCCESS))
    lease = timedelta(seconds=60)
    assert sensors.in_flight(instance, "ingest_files", lease) == "running"
    assert sensors.in_flight(instance, "ingest_changes", lease) is None  # ended: the next run may start
    later = datetime.now(UTC) + lease + timedelta(seconds=1)
    monkeypatch.setattr(sensors, "utc_now", lambda: later)
    assert sensors.in_flight(instance, "ingest_files", lease) is None  # died unmarked: not waited for
