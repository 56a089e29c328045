"""dagster-aws's Athena client as the SQL road uses it (``resources.LakeAthena`` makes it)."""

from __future__ import annotations

from dagster_aws.athena.resources import AthenaClient, AthenaError

from txdagster.lake import aws
from txdagster.lake.sql_engines import QueryFailed
from txdagster.settings import load_settings


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
            "ResultConfiguration"
        ]["OutputLocation"]
        bucket, _, key = location.removeprefix("s3://").partition("/")
        folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
        s3 = aws.client("s3", load_settings())
        body = s3.get_object(Bucket=bucket, Key=f"{folder}{execution_id}-manifest.csv")["Body"].read()
        return [line.strip() for line in body.decode().splitlines() if line.strip()]

    def results(self, execution_id: str) -> list[tuple[str | None, ...]]:
        return [tuple(v if v != "" else None for v in row) for row in self._results(execution_id)]
