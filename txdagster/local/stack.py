"""The whole embedded stack in one object: emulator, deployed template, identity, catalog, registry
and the Lambda runtime. ``with LocalStack() as stack:`` gives ``stack.settings`` for everything else."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from dataclasses import dataclass

from txdagster.lake import aws
from txdagster.local import functions, logs, provision, template
from txdagster.local.emulator import Emulator
from txdagster.local.runtime import ApiGateway, Function, SqsPoller, StreamPoller
from txdagster.local.stack_service import StackService
from txdagster.local.watchdog import AwsWatchdog
from txdagster.ops import deploy
from txdagster.ops.schema_registry import publish_schemas
from txdagster.settings import Settings, get_settings, settings_environment, with_overrides

ARTIFACT_BUCKET = "txd-artifacts"
ARTIFACT_KEY = "lambdas/txdagster-lambdas.zip"
#: Locally a failed message is retried after seconds, not the three minutes of the AWS default.
LOCAL_VISIBILITY_TIMEOUT = "5"
LOCAL_MAX_RECEIVE_COUNT = "3"
#: Local runs take seconds: a killed run's objects come back after a minute, not five.
LOCAL_LEASE_SECONDS = 60
FUNCTIONS = ("source-validator", "data-api", "authorizer", "stream-exporter")  # <stack>-<name> in the template


@dataclass(frozen=True)
class Credentials:
    client_id: str
    username: str
    password: str


class LocalStack:
    def __init__(self, port: int = 0, base: Settings | None = None, emulator_process: bool = True) -> None:
        self.emulator = Emulator(port, own_process=emulator_process)
        self.base = base or get_settings()
        self.settings: Settings = self.base
        self.loops: list[SqsPoller | StreamPoller] = []
        self.api: ApiGateway | None = None
        self.service: StackService | None = None
        self.analyst: Credentials | None = None
        self.watchdog: AwsWatchdog | None = None
        self.lost = threading.Event()  # set when the embedded AWS server died or was reset
        self.lost_reason = ""

    def start(self) -> Settings:
        for noisy in ("werkzeug", "moto"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation.*")
        endpoint = self.emulator.start()
        settings = with_overrides(self.base, endpoint_url=endpoint, query_engine="duckdb")  # the emulator has no Athena
        if "TXD_INGEST_LEASE_SECONDS" not in os.environ:
            settings = with_overrides(settings, ingest_lease_seconds=LOCAL_LEASE_SECONDS)
        deploy.upload_artifact(settings, ARTIFACT_BUCKET, ARTIFACT_KEY)
        outputs = deploy.deploy_stack(
            settings,
            deploy.stack_parameters(
                settings,
                ARTIFACT_BUCKET,
                ARTIFACT_KEY,
                EnableEventSourceMappings="false",
                InboundVisibilityTimeout=LOCAL_VISIBILITY_TIMEOUT,
                MaxReceiveCount=LOCAL_MAX_RECEIVE_COUNT,
            ),
        )
        settings = with_overrides(settings, lake_bucket=outputs["LakeBucketName"])  # the template names it
        provision.provision_bucket_notifications(settings, settings.lake_bucket)
        identity = provision.provision_identity(settings)
        provision.provision_catalog(settings)
        publish_schemas(settings)
        settings = with_overrides(
            settings,
            alerts_topic_arn=outputs["AlertsTopicArn"],
            cognito_issuer=identity.issuer,
            cognito_jwks_url=identity.jwks_url,
            cognito_client_ids=f"{identity.service_client_id},{identity.user_client_id}",
            service_client_id=identity.service_client_id,
        )
        self.analyst = Credentials(identity.user_client_id, "analyst", provision.random_password())
        provision.create_user(
            settings, identity.user_pool_id, self.analyst.username, self.analyst.password, [provision.WRITERS_GROUP]
        )
        self._point_functions_at(settings)
        self.api = ApiGateway(settings, Function(settings, "authorizer"), Function(settings, "data-api"))
        settings = with_overrides(settings, api_url=self.api.url)
        self._point_functions_at(settings)
        functions.complete_environments(settings, [f"{settings.stack_name}-{name}" for name in FUNCTIONS])
        self.api.start()
        inbound, changes = template.mapping_of("SourceValidatorFunction"), template.mapping_of("StreamExporterFunction")
        self.loops = [
            SqsPoller(settings, settings.inbound_queue, Function(settings, "source-validator"), inbound.batch_size),
            StreamPoller(
                settings,
                outputs["TransactionsStreamArn"],
                Function(settings, "stream-exporter"),
                changes,
                self._queue_name(settings, changes.on_failure) if changes.on_failure else None,
            ),
        ]
        for loop in self.loops:
            loop.start()
        self.watchdog = AwsWatchdog(settings, self._on_lost)
        self.watchdog.start()
        self.service = StackService(settings)
        self.service.start()
        self.settings = settings
        return settings

    @staticmethod
    def _queue_name(settings: Settings, logical_id: str) -> str:
        """The name of the queue the deployed stack made for a template resource (its physical id is
        the queue's URL)."""
        cfn = aws.client("cloudformation", settings)
        detail = cfn.describe_stack_resource(StackName=settings.stack_name, LogicalResourceId=logical_id)
        return detail["StackResourceDetail"]["PhysicalResourceId"].rsplit("/", 1)[-1]

    def _on_lost(self, reason: str) -> None:
        """The embedded AWS server is gone or reset: the pollers stop at once (no error per tick)."""
        self.lost_reason = reason
        for loop in self.loops:
            loop.stop()
        self.lost.set()

    @staticmethod
    def _point_functions_at(settings: Settings) -> None:
        """The process's environment: the AWS endpoint and region the functions' clients use, and the
        ``TXD_*`` names for the tools run here (each invocation has its function's own variables)."""
        from lambdas.common.aws import reset_clients

        os.environ.update(settings_environment(settings))
        os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "txdagster")
        reset_clients()

    def analyst_token(self) -> str:
        assert self.analyst is not None, "start the stack first"
        return provision.user_token(self.settings, self.analyst.client_id, self.analyst.username, self.analyst.password)

    def stop(self) -> None:
        if self.watchdog:
            self.watchdog.stop()
        for loop in self.loops:
            loop.stop()
        for loop in self.loops:
            loop.join(timeout=5)
        if self.api:
            self.api.stop()
        if self.service:
            self.service.stop()
        logs.drain()  # the functions' last lines and metrics, before the emulator goes
        self.emulator.stop()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
