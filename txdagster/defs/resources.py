"""The Dagster resources: the lake (``Settings``: S3, the pyarrow filesystem, the query engine) and
dagster-aws's Athena client, through which the SQL road launches and tracks its queries in AWS.

Heavy libraries (dagster-aws, DuckDB, sqlglot) are imported where they are used, not when the code
location loads: every run starts by loading it (``txdagster bench flow`` measures the road's freshness).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg
from pyarrow import fs

from txdagster.lake import aws
from txdagster.settings import Settings, load_settings

if TYPE_CHECKING:
    from txdagster.defs.athena import TrackedAthenaClient
    from txdagster.lake.engines import QueryEngine
    from txdagster.lake.sql_road import SqlEngine


class LakeResource(dg.ConfigurableResource):
    """Names and endpoints come from ``TXD_*``/``AWS_ENDPOINT_URL`` in the run's environment."""

    @property
    def settings(self) -> Settings:
        return load_settings()

    def s3(self) -> Any:
        return aws.client("s3", self.settings)

    def filesystem(self) -> fs.S3FileSystem:
        return aws.s3_filesystem(self.settings)

    def engine(self) -> QueryEngine:
        from txdagster.lake.engines import query_engine

        return query_engine(self.settings)

    def read_object(self, key: str) -> bytes:
        return self.s3().get_object(Bucket=self.settings.lake_bucket, Key=key)["Body"].read()


class LakeAthena(dg.ConfigurableResource):
    """dagster-aws's ``AthenaClientResource`` in the lake's workgroup (``TXD_ATHENA_WORKGROUP`` unless
    configured), made when a query is to run (``txdagster/defs/athena.py``)."""

    workgroup: str = ""
    polling_interval: int = 2
    max_polls: int = 900  # 30 minutes at 2 s: Athena's DML timeout

    def get_client(self) -> TrackedAthenaClient:
        from dagster_aws.athena import AthenaClientResource

        from txdagster.defs.athena import TrackedAthenaClient

        workgroup = self.workgroup or load_settings().athena_workgroup
        resource = AthenaClientResource(
            workgroup=workgroup, polling_interval=self.polling_interval, max_polls=self.max_polls
        )
        base = resource.get_client()
        return TrackedAthenaClient(
            client=base.client, workgroup=workgroup, polling_interval=self.polling_interval, max_polls=self.max_polls
        )

    def sql_engine(self) -> SqlEngine:
        """The SQL road's engine: Athena when ``TXD_QUERY_ENGINE=athena``, else DuckDB (the local stack)."""
        from txdagster.lake.sql_engines import AthenaSqlEngine, DuckDBSqlEngine

        settings = load_settings()
        if settings.query_engine == "athena":
            return AthenaSqlEngine(settings, self.get_client())
        return DuckDBSqlEngine(settings)


def lake_resources() -> dict[str, dg.ConfigurableResource]:
    """The code location's resources (``definitions.py``; in-process runs use them too)."""
    return {"lake": LakeResource(), "athena": LakeAthena()}
