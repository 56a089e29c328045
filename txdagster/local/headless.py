"""Drive the code location's sensors and jobs in this process, without a daemon: what ``demo`` and the
tests use to run exactly the production definitions, one sensor tick at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from txdagster.definitions import defs
from txdagster.defs.current.checks import PARITY_CHECK
from txdagster.defs.lake.checks import BATCH_PARITY_CHECK
from txdagster.defs.lake.sensors import INGEST_SENSORS
from txdagster.defs.resources import lake_resources
from txdagster.lake.follow import FOLLOW_TAG

SENSORS = tuple(INGEST_SENSORS.values())


@dataclass
class HeadlessDagster:
    instance: dg.DagsterInstance
    cursors: dict[str, str | None] = field(default_factory=dict)
    run_keys: set[str] = field(default_factory=set)
    runs: int = 0
    failed_runs: list[str] = field(default_factory=list)
    #: the last parity outcome: of the batch an ingest run of changes applied, or the full one
    parity: dict[str, Any] | None = None

    def requests(self, sensor_name: str) -> list[dg.RunRequest]:
        """Evaluate one sensor once and return the runs it requests that have not run yet (a run key
        runs once, as with the daemon); the caller launches them."""
        sensor = next(s for s in SENSORS if s.name == sensor_name)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(sensor.name),
            resources=lake_resources(),
            definitions=defs,
        )
        data = sensor.evaluate_tick(context)
        self.cursors[sensor.name] = data.cursor
        fresh = [r for r in data.run_requests or [] if r.run_key not in self.run_keys]
        self.run_keys.update(r.run_key for r in fresh if r.run_key)
        return fresh

    def tick(self) -> int:
        """Evaluate every sensor once and execute the runs it requests. Returns how many ingestion runs
        were executed; a failed ingest run is recorded in ``failed_runs``, as the daemon would leave it."""
        ingested = 0
        for sensor in SENSORS:
            for request in self.requests(sensor.name):
                outcome = self._execute(sensor.job.name, request)
                self.parity = _parity(outcome, BATCH_PARITY_CHECK) or self.parity
                ingested += 1
        self.runs += ingested
        return ingested

    def _execute(self, job_name: str, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        run_config = {**(request.run_config or {}), "loggers": {"console": {"config": {"log_level": "INFO"}}}}
        outcome = defs.resolve_job_def(job_name).execute_in_process(
            run_config=run_config,
            partition_key=request.partition_key,
            instance=self.instance,
            tags={**request.tags, FOLLOW_TAG: "false"},  # a run here holds the caller's thread: it never follows
            raise_on_error=False,
        )
        if not outcome.success:
            if job_name == "refresh_views":
                raise RuntimeError(f"{job_name} run {outcome.run_id} failed")
            self.failed_runs.append(outcome.run_id)
        return outcome

    def refresh_views(self) -> dict[str, Any]:
        """Materialise transactions_current and the views now (as the hourly schedule does) and return the
        full parity outcome."""
        parity = _parity(self._execute("refresh_views", dg.RunRequest()), PARITY_CHECK)
        if parity is None:
            raise RuntimeError("refresh_views ran without the parity check")
        self.parity = parity
        return parity


def _parity(outcome: dg.ExecuteInProcessResult, check: str) -> dict[str, Any] | None:
    for evaluation in outcome.get_asset_check_evaluations():
        if evaluation.check_name == check:
            return {"passed": evaluation.passed, **{k: v.value for k, v in evaluation.metadata.items()}}
    return None
