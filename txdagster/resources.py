"""The Dagster resource over ``Settings``: S3, the pyarrow filesystem and the query engine."""

from __future__ import annotations

from typing import Any

import dagster as dg
from pyarrow import fs

from txdagster.lake import aws
from txdagster.lake.engines import QueryEngine, query_engine
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
