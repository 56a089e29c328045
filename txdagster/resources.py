"""The Dagster resources: the lake (``Settings``: S3, the pyarrow filesystem, the query engine) and
dagster-aws's Athena client, through which the SQL road launches and tracks its queries in AWS."""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster_aws.athena import AthenaClientResource
from dagster_aws.athena.resources import AthenaClient, AthenaError
from pyarrow import fs

from txdagster.lake import aws
from txdagster.lake.engines import QueryEngine, query_engine
from txdagster.lake.sql_engines import AthenaSqlEngine, DuckDBSqlEngine, QueryFailed
from txdagster.lake.sql_road import SqlEngine
from txdagster.settings import Settings, load_settings


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
        return query_engine(self.settings)

    def read_object(self, key: str) -> bytes:
        return self.s3().get_object(Bucket=self.settings.lake_bucket, Key=key)["Body"].read()


class TrackedAthenaClient(AthenaClient):
    """dagster-aws's client, launching with an idempotency token in the lake's database and answering
    the execution id (its ``execute_query`` answers neither)."""

    def run(self, query: str, token: str, database: str) -> str:
        execution_id = self.client.start_query_execution(
            QueryString=query,
            WorkGroup=self.workgroup,
            ClientRequestToken=token,
            QueryExecutionContext={"Database": database},
        )["QueryExecutionId"]
        try:
            self._poll(execution_id)  # dagster-aws's tracking until the query ends (AthenaTimeout past max_polls)
        except AthenaError as exc:
            raise QueryFailed(execution_id, str(exc)) from exc
        return execution_id

    def manifest(self, execution_id: str) -> list[str]:
        """The data files an INSERT INTO wrote (Athena's ``<id>-manifest.csv`` beside its results)."""
        location = self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"][
            "ResultConfiguration"]["OutputLocation"]  # fmt: skip
        bucket, _, key = location.removeprefix("s3://").partition("/")
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        s3 = aws.client("s3", load_settings())
        body = s3.get_object(Bucket=bucket, Key=f"{folder}{execution_id}-manifest.csv")["Body"].read()
        return [line.strip() for line in body.decode().splitlines() if line.strip()]

    def results(self, execution_id: str) -> list[tuple[str | None, ...]]:
        return [tuple(v if v != "" else None for v in row) for row in self._results(execution_id)]


class LakeAthena(AthenaClientResource):
    """``AthenaClientResource`` in the lake's workgroup (``TXD_ATHENA_WORKGROUP`` unless configured)."""

    workgroup: str = ""
    polling_interval: int = 2

    def get_client(self) -> TrackedAthenaClient:
        base = super().get_client()
        return TrackedAthenaClient(
            client=base.client,
            workgroup=self.workgroup or load_settings().athena_workgroup,
            polling_interval=self.polling_interval,
            max_polls=self.max_polls,
        )

    def sql_engine(self) -> SqlEngine:
        """The SQL road's engine: Athena when ``TXD_QUERY_ENGINE=athena``, else DuckDB (the local stack)."""
        settings = load_settings()
        if settings.query_engine == "athena":
            return AthenaSqlEngine(settings, self.get_client())
        return DuckDBSqlEngine(settings)


def lake_resources() -> dict[str, dg.ConfigurableResource]:
    """The code location's resources (``definitions.py``; in-process runs use them too)."""
    return {"lake": LakeResource(), "athena": LakeAthena()}
