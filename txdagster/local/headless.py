"""Drive the code location's sensors and jobs in this process, without a daemon: what ``demo`` and the
tests use to run exactly the production definitions, one sensor tick at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from txdagster.assets.views import PARITY_CHECK
from txdagster.definitions import defs
from txdagster.resources import LakeResource
from txdagster.sensors import cdc_sensor, raw_sensor, views_after_changes

#: In the order the daemon would reach them within one loop: ingestion first, then the views.
SENSORS = (cdc_sensor, raw_sensor, views_after_changes)


@dataclass
class HeadlessDagster:
    instance: dg.DagsterInstance
    cursors: dict[str, str | None] = field(default_factory=dict)
    run_keys: set[str] = field(default_factory=set)
    runs: int = 0
    parity: dict[str, Any] | None = None

    def tick(self) -> int:
        """Evaluate every sensor once and execute the runs it requests (a run key runs once, as with
        the daemon). Returns how many ingestion runs were executed."""
        ingested = 0
        for sensor in SENSORS:
            context = dg.build_sensor_context(
                instance=self.instance,
                cursor=self.cursors.get(sensor.name),
                resources={"lake": LakeResource()},
                definitions=defs,
            )
            data = sensor.evaluate_tick(context)
            self.cursors[sensor.name] = data.cursor
            for request in data.run_requests or []:
                if request.run_key in self.run_keys:
                    continue
                self.run_keys.add(request.run_key)
                outcome = self._execute(sensor.job_name, request)
                if sensor is views_after_changes:
                    self.parity = _parity(outcome)
                else:
                    ingested += 1
        self.runs += ingested
        return ingested

    def _execute(self, job_name: str, request: dg.RunRequest) -> dg.ExecuteInProcessResult:
        run_config = {**(request.run_config or {}), "loggers": {"console": {"config": {"log_level": "INFO"}}}}
        outcome = defs.resolve_job_def(job_name).execute_in_process(
            run_config=run_config,
            partition_key=request.partition_key,
            instance=self.instance,
            tags=request.tags,
        )
        if not outcome.success:
            raise RuntimeError(f"{job_name} run {outcome.run_id} failed")
        return outcome

    def refresh_views(self) -> dict[str, Any]:
        """Materialise the views now (as the hourly schedule does) and return the parity outcome."""
        self.parity = _parity(self._execute("refresh_views", dg.RunRequest()))
        return self.parity


def _parity(outcome: dg.ExecuteInProcessResult) -> dict[str, Any]:
    for evaluation in outcome.get_asset_check_evaluations():
        if evaluation.check_name == PARITY_CHECK:
            return {"passed": evaluation.passed, **{k: v.value for k, v in evaluation.metadata.items()}}
    raise RuntimeError("refresh_views ran without the parity check")
