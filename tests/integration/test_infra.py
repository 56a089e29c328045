"""The CloudFormation template: lint-clean, and deployable into the embedded stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from txdagster import deploy
from txdagster.lake import aws
from txdagster.settings import with_overrides

pytestmark = pytest.mark.integration


def test_cfn_lint_passes_on_the_template():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(deploy.TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_template_deploys_with_every_data_plane_resource(stack):
    # moto's backends are per process, so the stack under test gets names of its own
    names = {
        f: f"it-{getattr(stack.settings, f)}".replace("_", "-")
        for f in ("transactions_table", "registry_table", "inbound_queue", "dead_letter_queue", "alerts_topic",
                  "lake_bucket", "ledger_table", "cognito_pool_name")
    }  # fmt: skip
    settings = with_overrides(stack.settings, stack_name="txd-infra-test", **names)
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
    assert {
        f"txd-infra-test-{n}" for n in ("source-validator", "data-api", "authorizer", "stream-exporter")
    } <= functions
    mappings = aws.client("lambda", settings).list_event_source_mappings()["EventSourceMappings"]
    assert len(mappings) == 2
    assert aws.client("s3", settings).head_bucket(Bucket=settings.lake_bucket)
    assert outputs["AlertsTopicArn"].endswith(settings.alerts_topic)
