"""The CloudFormation templates: lint-clean, checkov-clean, and deployable into the embedded stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from txdagster.lake import aws
from txdagster.ops import deploy
from txdagster.settings import with_overrides

pytestmark = pytest.mark.integration


def test_every_template_in_infra_is_known_here():
    infra = deploy.TEMPLATE.parent
    assert set(infra.glob("*.yaml")) == set(deploy.TEMPLATES)


@pytest.fixture(scope="module")
def cfn_lint_findings() -> list[str]:
    """cfn-lint's findings on every template, one run (a line each: ``path:line:column:...``)."""
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", *map(str, deploy.TEMPLATES)], capture_output=True, text=True
    )
    assert not result.stderr, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("template", deploy.TEMPLATES, ids=lambda t: t.name)
def test_cfn_lint_passes_on_the_template(template, cfn_lint_findings):
    assert [f for f in cfn_lint_findings if f.startswith(str(template))] == []


def _other_stack(stack, prefix: str):
    """Settings for a second stack beside the session's: moto's backends are per process, so it gets
    names of its own."""
    names = {
        f: f"{prefix}-{getattr(stack.settings, f)}".replace("_", "-")
        for f in (
            "transactions_table",
            "registry_table",
            "inbound_queue",
            "dead_letter_queue",
            "cdc_dead_letter_queue",
            "raw_events_queue",
            "alerts_topic",
            "lake_bucket",
            "ledger_table",
            "cognito_pool_name",
            "glue_database",
            "athena_workgroup",
        )
    }
    return with_overrides(stack.settings, stack_name=f"txd-{prefix}-test", **names)


_SMALL_TEMPLATE = """
Parameters:
  LambdaLayerArns: { Type: CommaDelimitedList, Default: "" }
  Tag: { Type: String, Default: first }
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: txd-kept-parameters
      Tags: [{ Key: tag, Value: !Ref Tag }]
"""


def test_a_second_deploy_keeps_the_parameters_it_does_not_give(stack):
    settings = with_overrides(stack.settings, stack_name="txd-kept-parameters")
    layer = "arn:aws:lambda:eu-west-1:123456789012:layer:txdagster-deps:3"
    given = [{"ParameterKey": "LambdaLayerArns", "ParameterValue": layer}]
    deploy.deploy_stack(settings, given, template=_SMALL_TEMPLATE)
    changed = [{"ParameterKey": "Tag", "ParameterValue": "second"}]  # a later deploy names no layers
    deploy.deploy_stack(settings, changed, template=_SMALL_TEMPLATE)

    found = aws.client("cloudformation", settings).describe_stacks(StackName="txd-kept-parameters")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in found["Parameters"]}
    assert parameters["Tag"] == "second"  # what the second deploy gave
    assert layer in parameters["LambdaLayerArns"]  # kept, not reset to the empty default (moto shows the list)
    assert "LambdaLayerArns" in deploy.declared_parameters(deploy.TEMPLATE.read_text())  # the data plane's too


def test_the_template_deploys_with_every_data_plane_resource(stack):
    settings = _other_stack(stack, "it")
    deploy.upload_artifact(settings, "artifacts", "lambdas.zip")
    outputs = deploy.deploy_stack(settings, deploy.stack_parameters(settings, "artifacts", "lambdas.zip"))

    ddb = aws.client("dynamodb", settings).describe_table(TableName=settings.transactions_table)["Table"]
    assert ddb["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert ddb["GlobalSecondaryIndexes"][0]["IndexName"] == settings.account_index
    ledger = aws.client("dynamodb", settings).describe_table(TableName=settings.ledger_table)["Table"]
    assert ledger["GlobalSecondaryIndexes"][0]["IndexName"] == "open-objects"
    sqs = aws.client("sqs", settings)
    inbound = sqs.get_queue_attributes(QueueUrl=outputs["InboundQueueUrl"], AttributeNames=["All"])
    assert '"maxReceiveCount":' in inbound["Attributes"]["RedrivePolicy"].replace(" ", "")
    functions = {f["FunctionName"] for f in aws.client("lambda", settings).list_functions()["Functions"]}
    assert {f"txd-it-test-{n}" for n in ("source-validator", "data-api", "authorizer", "stream-exporter")} <= functions
    mappings = aws.client("lambda", settings).list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 2
    assert aws.client("s3", settings).head_bucket(Bucket=settings.lake_bucket)
    assert outputs["AlertsTopicArn"].endswith(settings.alerts_topic)

    # hardening, as far as moto's CloudFormation keeps it
    [stream_mapping] = [m for m in mappings if ":dynamodb:" in m["EventSourceArn"]]
    cdc_dlq = sqs.get_queue_url(QueueName=settings.cdc_dead_letter_queue)["QueueUrl"]
    cdc_arn = sqs.get_queue_attributes(QueueUrl=cdc_dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert stream_mapping["DestinationConfig"]["OnFailure"]["Destination"] == cdc_arn
    assert stream_mapping["BisectBatchOnFunctionError"] is True
    for url in (outputs["InboundQueueUrl"], outputs["DeadLetterQueueUrl"], cdc_dlq, outputs["RawEventsQueueUrl"]):
        key = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])["Attributes"]
        assert key["KmsMasterKeyId"].startswith("arn:aws:kms:")
    topic = aws.client("sns", settings).get_topic_attributes(TopicArn=outputs["AlertsTopicArn"])["Attributes"]
    assert topic["KmsMasterKeyId"].startswith("arn:aws:kms:")
    data_api = aws.client("lambda", settings).get_function(FunctionName="txd-it-test-data-api")
    assert data_api["Concurrency"]["ReservedConcurrentExecutions"] >= 1


@pytest.fixture(scope="module")
def checkov_results() -> dict[str, list[dict]]:
    """checkov's results on every template, one run (offline: --skip-download)."""
    import json

    checkov = Path(__file__).resolve().parents[2] / ".venv-checkov" / "bin" / "checkov"
    assert checkov.exists(), "make install creates .venv-checkov with checkov"
    files = [arg for template in deploy.TEMPLATES for arg in ("-f", str(template))]
    result = subprocess.run(
        [str(checkov), *files, "--framework", "cloudformation", "--output", "json", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(result.stdout)["results"]


@pytest.mark.parametrize("template", deploy.TEMPLATES, ids=lambda t: t.name)
def test_checkov_finds_no_failed_check_and_every_skip_says_why(template, checkov_results):
    def of_template(kind: str) -> list[dict]:
        return [c for c in checkov_results[kind] if c["file_path"].endswith(f"/infra/{template.name}")]

    failed = [(c["check_id"], c["resource"]) for c in of_template("failed_checks")]
    assert failed == [], failed
    assert len(of_template("passed_checks")) >= 40
    skipped = of_template("skipped_checks")
    assert skipped and all(len(c.get("check_result", {}).get("suppress_comment", "")) > 30 for c in skipped)


def test_the_orchestration_template_deploys_into_the_embedded_stack(stack):
    settings = with_overrides(stack.settings, stack_name="txd-dagster-test")
    ec2 = aws.client("ec2", settings)
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{n}.0/24", AvailabilityZone=f"{settings.region}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for n, zone in ((1, "a"), (2, "b"))
    ]
    key = aws.client("kms", settings).create_key(Description="data plane key")["KeyMetadata"]["Arn"]
    parameters = {
        "ImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/txdagster:test",
        "VpcId": vpc,
        "PrivateSubnetIds": ",".join(subnets),
        "KmsKeyArn": key,
        "AlertsTopicArn": stack.settings.alerts_topic_arn,
        "LakeBucketName": stack.settings.lake_bucket,
    }
    outputs = deploy.deploy_stack(
        settings,
        [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        template=deploy.ORCHESTRATION_TEMPLATE.read_text(),
    )

    ecs = aws.client("ecs", settings)
    services = ecs.list_services(cluster=outputs["ClusterName"])["serviceArns"]
    assert len(services) == 2  # the webserver and the one daemon
    families = {
        ecs.describe_task_definition(taskDefinition=d)["taskDefinition"]["family"]
        for d in ecs.list_task_definitions()["taskDefinitionArns"]
    }
    assert {"txd-dagster-test-webserver", "txd-dagster-test-daemon"} <= families
    database = aws.client("rds", settings).describe_db_instances()["DBInstances"]
    assert any(d["Engine"] == "postgres" and d["StorageEncrypted"] and not d["PubliclyAccessible"] for d in database)


def test_a_variable_missing_from_a_functions_template_environment_makes_it_fail_locally_too(stack):
    from lambdas.common.config import MissingSetting
    from txdagster.local import events
    from txdagster.local.runtime import Function

    settings = _other_stack(stack, "env")
    declared = "          TXD_TRANSACTIONS_TABLE: !Ref TransactionsTable\n"
    template = deploy.TEMPLATE.read_text()
    assert template.count(declared) == 1
    deploy.upload_artifact(settings, "artifacts", "lambdas.zip")
    deploy.deploy_stack(
        settings, deploy.stack_parameters(settings, "artifacts", "lambdas.zip"), template=template.replace(declared, "")
    )
    event = events.proxy_event(
        method="GET",
        raw_path="/transactions/payments:1",
        headers={},
        body=b"",
        route=events.Route("local", "v1", "/transactions/{transaction_id}", {"transaction_id": "payments:1"}),
        caller=events.Caller("test", {"scopes": "transactions/read"}),
    )
    with pytest.raises(MissingSetting, match="TXD_TRANSACTIONS_TABLE"):
        Function(settings, "data-api").invoke(event)  # the process's environment has it: no matter
    assert Function(stack.settings, "data-api").invoke(event)["statusCode"] == 404  # the real template's has it


def test_deploy_creates_then_updates_the_data_plane_and_then_deploys_dagster_beside_it(stack, monkeypatch):
    from txdagster import cli
    from txdagster.settings import settings_environment

    settings = _other_stack(stack, "dep")
    for name, value in settings_environment(settings).items():
        monkeypatch.setenv(name, value)  # as an operator's shell holds them
    assert cli.main(["deploy", "--artifact-bucket", "dep-artifacts"]) == 0
    registry = aws.resource("dynamodb", settings).Table(settings.registry_table)
    assert registry.get_item(Key={"subject": "canonical", "version": 1}).get("Item")
    assert cli.main(["deploy", "--artifact-bucket", "dep-artifacts"]) == 0  # again: an update, not a failure
    cfn = aws.client("cloudformation", settings)
    assert cfn.describe_stacks(StackName=settings.stack_name)["Stacks"][0]["StackStatus"].endswith("_COMPLETE")

    ec2 = aws.client("ec2", settings)
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.43.{n}.0/24")["Subnet"]["SubnetId"] for n in (1, 2)]
    assert (
        cli.main(
            [
                "deploy",
                "--dagster",
                "--parameter",
                "ImageUri=txdagster:test",
                "--parameter",
                f"VpcId={vpc}",
                "--parameter",
                f"PrivateSubnetIds={','.join(subnets)}",
            ]
        )
        == 0
    )
    outputs = deploy.stack_outputs(settings, f"{settings.stack_name}-dagster")
    assert len(aws.client("ecs", settings).list_services(cluster=outputs["ClusterName"])["serviceArns"]) == 2
