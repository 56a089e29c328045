"""Which lane a production run takes: the daemon's task (seconds) or an ECS task of its own."""

import dagster as dg
import pytest

from txdagster.defs.current.jobs import refresh_views
from txdagster.defs.lake.jobs import INGEST_JOBS, compact_lake
from txdagster.defs.launcher import REALTIME, TASK, lane_of

SENSOR = {"dagster/sensor_name": "raw_sensor"}


@pytest.mark.parametrize(
    ("job", "tags", "lane"),
    [
        (INGEST_JOBS["transaction_files"], SENSOR, REALTIME),
        (INGEST_JOBS["transaction_changes"], SENSOR, REALTIME),
        (refresh_views, {"dagster/schedule_name": "hourly_parity"}, TASK),  # maintenance and full parity
        (INGEST_JOBS["transaction_files"], {**SENSOR, "dagster/backfill": "abc"}, TASK),  # a backfill: big
        (INGEST_JOBS["transaction_files"], {}, TASK),  # started from the UI
        (compact_lake, {"dagster/schedule_name": "compaction"}, TASK),
        (compact_lake, SENSOR, TASK),
    ],
    ids=[
        "files by sensor",
        "changes by sensor",
        "views by schedule",
        "backfill",
        "from the UI",
        "compaction",
        "compaction by a sensor",
    ],
)
def test_a_run_takes_the_lane_its_job_and_its_origin_give(job, tags, lane):
    run = dg.DagsterRun(job_name=job.name, tags={**job.tags, **tags})
    assert lane_of(run) == lane
