"""Package the Lambda code and deploy ``infra/template.yaml`` with CloudFormation (AWS or emulator)."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from pathlib import Path
from typing import Any

from txdagster.lake import aws
from txdagster.ops.templates import declared_parameters
from txdagster.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"  # the data plane
ORCHESTRATION_TEMPLATE = ROOT / "infra" / "dagster-ecs.yaml"  # Dagster on ECS with RDS PostgreSQL
TEMPLATES = (TEMPLATE, ORCHESTRATION_TEMPLATE)
LAMBDAS = ROOT / "lambdas"
STACK_TIMEOUT_SECONDS = 900


class DeployError(RuntimeError):
    pass


def package_lambdas() -> bytes:
    """A zip of the ``lambdas`` package (dependencies come from layers), byte-identical across builds."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(LAMBDAS.rglob("*.py")):
            info = zipfile.ZipInfo(str(path.relative_to(ROOT)), date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def stack_parameters(settings: Settings, artifact_bucket: str, artifact_key: str, **extra: str) -> list[dict[str, str]]:
    values = {
        "ArtifactBucket": artifact_bucket,
        "ArtifactKey": artifact_key,
        "TransactionsTableName": settings.transactions_table,
        "RegistryTableName": settings.registry_table,
        "InboundQueueName": settings.inbound_queue,
        "DeadLetterQueueName": settings.dead_letter_queue,
        "CdcDeadLetterQueueName": settings.cdc_dead_letter_queue,
        "RawEventsQueueName": settings.raw_events_queue,
        "AlertsTopicName": settings.alerts_topic,
        "LakeBucketName": settings.lake_bucket,
        "CdcPrefix": settings.cdc_prefix,
        "LedgerTableName": settings.ledger_table,
        "GlueDatabaseName": settings.glue_database,
        "AthenaWorkGroupName": settings.athena_workgroup,
        "UserPoolName": settings.cognito_pool_name,
        "MetricsNamespace": settings.metrics_namespace,
        "ServiceUsername": settings.service_username,
        "ServicePasswordParameter": settings.service_password_parameter,
        **extra,
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def artifact_key() -> str:
    """Content-addressed, so that a stack update changes the functions' code exactly when it changed."""
    return f"lambdas/txdagster-lambdas-{hashlib.sha256(package_lambdas()).hexdigest()[:12]}.zip"


def stack_outputs(settings: Settings, stack_name: str) -> dict[str, str]:
    stack = aws.client("cloudformation", settings).describe_stacks(StackName=stack_name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def orchestration_parameters(settings: Settings, **given: str) -> list[dict[str, str]]:
    """``infra/dagster-ecs.yaml``'s parameters: the data plane's names and outputs, then ``given``
    (ImageUri, VpcId, PrivateSubnetIds at least)."""
    data_plane = stack_outputs(settings, settings.stack_name)
    values = {
        "KmsKeyArn": data_plane["DataKeyArn"],
        "AlertsTopicArn": data_plane["AlertsTopicArn"],
        "LakeBucketName": data_plane["LakeBucketName"],
        "LedgerTableName": settings.ledger_table,
        "RawEventsQueueName": settings.raw_events_queue,
        "TransactionsTableName": settings.transactions_table,
        "GlueDatabaseName": settings.glue_database,
        "AthenaWorkGroupName": settings.athena_workgroup,
        "MetricsNamespace": settings.metrics_namespace,
        **given,
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _kept_parameters(existing: dict[str, Any], given: list[dict[str, str]], template: str) -> list[dict[str, Any]]:
    """An update keeps the value of every parameter it does not give (e.g. ``LambdaLayerArns`` set by the
    first deploy): CloudFormation would reset it to the template's default."""
    named = {p["ParameterKey"] for p in given}
    declared = declared_parameters(template)
    return [
        {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
        for p in existing.get("Parameters", [])
        if p["ParameterKey"] not in named and p["ParameterKey"] in declared
    ]


def upload_artifact(settings: Settings, bucket: str, key: str) -> None:
    s3 = aws.client("s3", settings)
    try:
        if settings.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.region})
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    s3.put_object(Bucket=bucket, Key=key, Body=package_lambdas())


def deploy_stack(
    settings: Settings, parameters: list[dict[str, str]], template: str | None = None, stack_name: str | None = None
) -> dict[str, str]:
    """Create the stack (from ``infra/template.yaml`` unless ``template`` is given), or update it when
    it exists, and wait for it; returns its outputs. Fails with the stack's own reason."""
    cfn = aws.client("cloudformation", settings)
    name = stack_name or settings.stack_name
    body = template or TEMPLATE.read_text()
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": body,
        "Parameters": parameters,
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    }
    try:
        existing = cfn.describe_stacks(StackName=name)["Stacks"][0]
    except cfn.exceptions.ClientError:
        existing = None
    if existing is None or existing["StackStatus"] == "DELETE_COMPLETE":
        cfn.create_stack(**request)
    else:
        request["Parameters"] = [*parameters, *_kept_parameters(existing, parameters, body)]
        try:
            cfn.update_stack(**request)
        except cfn.exceptions.ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
    deadline = time.monotonic() + STACK_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if status.endswith("FAILED") or "ROLLBACK" in status:
            raise DeployError(f"stack {name} {status}: {stack.get('StackStatusReason', '')}")
        time.sleep(1)
    raise DeployError(f"stack {name} not complete after {STACK_TIMEOUT_SECONDS}s")
