"""Every resource name, region and endpoint, read once from ``TXD_*`` environment variables.

The same code runs locally and in AWS: boto3 honours ``AWS_ENDPOINT_URL``, which the embedded stack
sets to its moto server and which is unset in AWS.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from functools import cache


@dataclass(frozen=True)
class Settings:
    region: str = "eu-west-1"
    stack_name: str = "txdagster"
    transactions_table: str = "transactions"
    account_index: str = "account-event-time-index"
    registry_table: str = "schema_registry"
    inbound_queue: str = "txd-inbound"
    dead_letter_queue: str = "txd-inbound-dlq"
    #: change batches the stream mapping gave up on (its on-failure destination)
    cdc_dead_letter_queue: str = "txd-cdc-dlq"
    alerts_topic: str = "txd-alerts"
    lake_bucket: str = "txd-lake"
    cdc_prefix: str = "cdc/transactions/"
    ledger_table: str = "ingestion_ledger"
    glue_database: str = "txlake"
    athena_workgroup: str = "txdagster"
    metrics_namespace: str = "txdagster"
    cognito_pool_name: str = "txdagster-users"
    cognito_issuer: str = ""
    cognito_jwks_url: str = ""
    cognito_client_ids: str = ""
    api_url: str = ""
    service_username: str = "source-validator"
    service_password_parameter: str = "/txdagster/source-validator/password"
    alerts_topic_arn: str = ""
    service_client_id: str = ""
    query_engine: str = "duckdb"
    ingestion_budget_minutes: int = 15
    #: how far past its ingestion a raw file's event_time may lie (clock skew, time zones)
    max_event_ahead_hours: int = 24
    #: an object whose ingestion failed this many times is poisoned (quarantined whole, alerted)
    ingest_max_attempts: int = 3
    #: how long a handed-out object may stay unfinished before it is handed out again (a killed run)
    ingest_lease_seconds: int = 300
    #: how long an ingest run of change batches that a sensor launched stays after its own batch, taking
    #: the new batches of its day as they land (``lake/follow.py``); at most a third of the lease; 0: never
    ingest_follow_seconds: int = 20
    #: the first retry's delay; it doubles with every failed attempt (capped at an hour)
    ingest_retry_seconds: int = 30
    #: how long a compacted-away generation of a day stays readable (queries that listed it before the move)
    compaction_grace_seconds: int = 3600
    #: a raw CSV of at least this many bytes is converted by the query engine (Athena; DuckDB locally), not
    #: by the Dagster process (``lake/sql_road.py``); 0 turns the SQL road off
    sql_road_min_bytes: int = 1 << 30
    endpoint_url: str = ""

    @property
    def athena_output(self) -> str:
        return f"s3://{self.lake_bucket}/athena-results/"


def _env_name(field_name: str) -> str:
    return "TXD_" + field_name.upper()


def load_settings() -> Settings:
    """Settings from the environment now; ``AWS_ENDPOINT_URL`` (not TXD_) points boto3 at an emulator."""
    values = {}
    for f in fields(Settings):
        raw = os.environ.get(_env_name(f.name))
        if raw is not None:
            values[f.name] = int(raw) if f.type in (int, "int") else raw
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        values["endpoint_url"] = endpoint
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region and "region" not in values:
        values["region"] = region
    return Settings(**values)


#: Settings as they were when first asked for: for the CLI, which reads them once.
get_settings = cache(load_settings)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment that reproduces ``settings`` in another process (Dagster, a Lambda runtime)."""
    env = {_env_name(f.name): str(getattr(settings, f.name)) for f in fields(Settings)}
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = settings.region
    if settings.endpoint_url:
        env["AWS_ENDPOINT_URL"] = settings.endpoint_url
    return env


def with_overrides(settings: Settings, **changes: str | int) -> Settings:
    return replace(settings, **changes)
