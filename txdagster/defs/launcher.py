"""Where a run runs in production: fresh data needs runs that start in seconds, big work needs room.

A Fargate task takes 30-60 s to start, more than the lake's freshness budget. So the real-time runs
(a sensor's ingest micro-batch, which also updates transactions_current: jobs tagged
``txdagster/lane: realtime``)
run as subprocesses of the daemon's own task, as Dagster's ``DefaultRunLauncher`` runs them. Every
other run (backfills, compaction, runs started from the UI) gets an ECS task of its own through the
``EcsRunLauncher``. The lane a run took is written on it as the ``txdagster/lane`` tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster._core.launcher import (
    CheckRunHealthResult,
    DefaultRunLauncher,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._serdes import ConfigurableClass, ConfigurableClassData

LANE_TAG = "txdagster/lane"
REALTIME, TASK = "realtime", "task"


def lane_of(run: dg.DagsterRun) -> str:
    """``realtime`` for a run of a real-time job that a sensor asked for; ``task`` for the rest."""
    tags = run.tags
    asked_by_sensor = "dagster/sensor_name" in tags and "dagster/backfill" not in tags
    return REALTIME if tags.get(LANE_TAG) == REALTIME and asked_by_sensor else TASK


class LaneRunLauncher(RunLauncher, ConfigurableClass):
    """Real-time runs in the daemon's task, everything else as ECS tasks (the module's docstring)."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, ecs: dict[str, Any] | None = None) -> None:
        from dagster_aws.ecs import EcsRunLauncher  # the instance needs it; a run's code location does not

        self._inst_data = inst_data
        self.ecs = EcsRunLauncher(**(ecs or {}))
        self.daemon = DefaultRunLauncher()
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        from dagster_aws.ecs import EcsRunLauncher

        return {"ecs": dg.Field(dg.Shape(EcsRunLauncher.config_type()), is_required=False, default_value={})}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> LaneRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    def register_instance(self, instance: dg.DagsterInstance) -> None:
        super().register_instance(instance)
        self.ecs.register_instance(instance)
        self.daemon.register_instance(instance)

    def _for(self, run: dg.DagsterRun) -> RunLauncher:
        return self.daemon if run.tags.get(LANE_TAG) == REALTIME else self.ecs

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        lane = lane_of(run)
        self._instance.add_run_tags(run.run_id, {LANE_TAG: lane})
        (self.daemon if lane == REALTIME else self.ecs).launch_run(context)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        return bool(run) and self._for(run).terminate(run_id)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        if self._for(run) is self.ecs:
            return self.ecs.check_run_worker_health(run)
        # a subprocess of the daemon's task: if the task dies, the daemon that replaces it starts afresh
        # and the ledger's lease hands the run's objects out again
        return CheckRunHealthResult(WorkerStatus.UNKNOWN, "runs inside the daemon's task")

    def get_run_worker_debug_info(self, run: dg.DagsterRun, include_container_logs: bool | None = True) -> str | None:
        return self._for(run).get_run_worker_debug_info(run, include_container_logs)

    def dispose(self) -> None:
        self.ecs.dispose()
        self.daemon.dispose()

    def join(self, timeout: int = 30) -> None:
        self.daemon.join(timeout)
