"""The production Dagster instance (infra/dagster/dagster.yaml) against a real PostgreSQL."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.integration import postgres
from txdagster.lake import aws

pytestmark = pytest.mark.integration
CONFIG = Path(__file__).resolve().parents[2] / "infra" / "dagster" / "dagster.yaml"


@pytest.fixture
def pg():
    if postgres.binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install postgresql (.ci/run)")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql)")
    with postgres.server() as server:
        yield server


def test_an_ingest_run_under_the_production_instance_keeps_its_records_in_postgres(settings, pg, tmp_path, monkeypatch):
    import dagster as dg
    import psycopg2
    from dagster_aws.ecs import EcsRunLauncher
    from dagster_postgres import PostgresRunStorage

    from txdagster.defs.lake.assets import transaction_files
    from txdagster.defs.launcher import LaneRunLauncher
    from txdagster.defs.resources import lake_resources

    environment = {
        "DAGSTER_PG_HOST": pg.host,
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_DB": pg.database,
        "DAGSTER_PG_USERNAME": pg.user,
        "DAGSTER_PG_PASSWORD": "",
        "TXD_MAX_CONCURRENT_RUNS": "8",
        "TXD_COMPUTE_LOG_BUCKET": settings.lake_bucket,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    shutil.copy(CONFIG, tmp_path / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.run_launcher, LaneRunLauncher) and isinstance(instance.run_launcher.ecs, EcsRunLauncher)
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"

    day = "2026-11-06"
    aws.client("s3", settings).put_object(
        Bucket=settings.lake_bucket,
        Key=f"raw/crm/dt={day}/prod-instance.jsonl",
        Body=b'{"transaction_id": "crm:prod-instance", "account_id": "ACC-PG", "amount": "1.00", "currency": "EUR",'
        b' "transaction_type": "deposit", "status": "settled", "event_time": "2026-11-06T10:00:00Z",'
        b' "source_system": "crm", "ingested_at": "2026-11-06T10:00:01Z"}\n',
    )
    result = dg.materialize([transaction_files], partition_key=day, resources=lake_resources(), instance=instance)
    assert result.success
    instance.dispose()

    with psycopg2.connect(host=pg.host, port=pg.port, dbname=pg.database, user=pg.user) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", (result.run_id,))
        assert cursor.fetchall() == [("SUCCESS",)]
        cursor.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            (result.run_id, "ASSET_MATERIALIZATION"),
        )
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT count(*) FROM asset_keys WHERE asset_key = %s", ('["transaction_files"]',))
        assert cursor.fetchone()[0] == 1
