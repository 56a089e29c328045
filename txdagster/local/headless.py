"""Drive the code location's sensors and jobs in this process, without a daemon: what ``demo`` and the
tests use to run exactly the production definitions, one sensor tick at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from txdagster.assets.views import PARITY_CHECK
from txdagster.definitions import defs
from txdagster.resources import LakeResource
from txdagster.sensors import cdc_sensor, raw_sensor

BATCH_SENSORS = (cdc_sensor, raw_sensor)


@dataclass
class HeadlessDagster:
    instance: dg.DagsterInstance
    cursors: dict[str, str | None] = field(default_factory=dict)
    runs: int = 0
    parity: dict[str, Any] | None = None

    def tick(self) -> int:
        """Evaluate each batch sensor once and execute the runs it requests; when changes were ingested,
        refresh the views as ``views_after_changes`` would. Returns the ingestion runs executed."""
        executed = 0
        changes_ingested = False
        for sensor in BATCH_SENSORS:
            context = dg.build_sensor_context(
                instance=self.instance, cursor=self.cursors.get(sensor.name), resources={"lake": LakeResource()}
            )
            result = sensor(context)
            for request in result.run_requests or []:
                job = defs.resolve_job_def(sensor.job_name)
                outcome = job.execute_in_process(
                    run_config=request.run_config,
                    partition_key=request.partition_key,
                    instance=self.instance,
                    tags=request.tags,
                )
                if not outcome.success:
                    raise RuntimeError(f"{sensor.job_name} run {outcome.run_id} failed")
                executed += 1
                changes_ingested |= sensor.name == cdc_sensor.name
            self.cursors[sensor.name] = result.cursor
        self.runs += executed
        if changes_ingested:
            self.parity = self.refresh_views()
        return executed

    def refresh_views(self) -> dict[str, Any]:
        """Materialise the views and return the parity check's outcome and metadata."""
        outcome = defs.resolve_job_def("refresh_views").execute_in_process(instance=self.instance)
        if not outcome.success:
            raise RuntimeError(f"refresh_views run {outcome.run_id} failed")
        for evaluation in outcome.get_asset_check_evaluations():
            if evaluation.check_name == PARITY_CHECK:
                return {"passed": evaluation.passed, **{k: v.value for k, v in evaluation.metadata.items()}}
        raise RuntimeError("refresh_views ran without the parity check")
