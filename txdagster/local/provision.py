"""Create what moto's CloudFormation skips (Glue, Cognito) through the services' own APIs."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass

from txdagster.defs.bi.views import VIEWS, view_sql
from txdagster.lake import aws, catalog
from txdagster.lake.engines import DuckDBEngine
from txdagster.local import template
from txdagster.settings import Settings

WRITERS_GROUP = "transactions-writers"
READERS_GROUP = "transactions-readers"


@dataclass(frozen=True)
class Identity:
    user_pool_id: str
    service_client_id: str
    user_client_id: str
    issuer: str
    jwks_url: str


def random_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "Tx-" + "".join(secrets.choice(alphabet) for _ in range(20)) + "9a!"


def create_user(settings: Settings, pool_id: str, username: str, password: str, groups: list[str]) -> None:
    cognito = aws.client("cognito-idp", settings)
    cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)


def provision_identity(settings: Settings) -> Identity:
    """User pool, resource server, groups, app clients, and the service user with its SSM password."""
    cognito = aws.client("cognito-idp", settings)
    pool_id = cognito.create_user_pool(PoolName=settings.cognito_pool_name)["UserPool"]["Id"]
    cognito.create_resource_server(
        UserPoolId=pool_id,
        Identifier="transactions",
        Name="Transactions Data API",
        Scopes=[
            {"ScopeName": "read", "ScopeDescription": "Read transactions"},
            {"ScopeName": "write", "ScopeDescription": "Create, update and delete transactions"},
        ],
    )
    for group in (READERS_GROUP, WRITERS_GROUP):
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    service_client = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="source-validator", ExplicitAuthFlows=flows
    )["UserPoolClient"]["ClientId"]
    user_client = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="analysts", ExplicitAuthFlows=flows)[
        "UserPoolClient"
    ]["ClientId"]
    password = random_password()
    create_user(settings, pool_id, settings.service_username, password, [WRITERS_GROUP])
    aws.client("ssm", settings).put_parameter(
        Name=settings.service_password_parameter, Value=password, Type="SecureString", Overwrite=True
    )
    return Identity(
        user_pool_id=pool_id,
        service_client_id=service_client,
        user_client_id=user_client,
        issuer=f"https://cognito-idp.{settings.region}.amazonaws.com/{pool_id}",
        jwks_url=f"{settings.endpoint_url}/{pool_id}/.well-known/jwks.json",
    )


def provision_catalog(settings: Settings) -> None:
    """The Glue database and tables, the Athena workgroup (query results under athena-results/) and the
    views (in AWS the refresh_views job creates them, through Athena)."""
    athena = aws.client("athena", settings)
    athena.create_work_group(
        Name=settings.athena_workgroup,
        Configuration={"ResultConfiguration": {"OutputLocation": settings.athena_output}},
    )
    catalog.ensure_lake(settings)
    engine = DuckDBEngine(settings)
    for name in VIEWS:
        engine.create_view(name, view_sql(name))


def provision_bucket_notifications(settings: Settings, bucket: str) -> int:
    """The lake bucket's event notifications as the template declares them (moto's CloudFormation leaves a
    bucket's NotificationConfiguration out). Returns how many were set."""
    stack = aws.client("cloudformation", settings)
    sqs = aws.client("sqs", settings)
    configurations = []
    for n, notification in enumerate(template.queue_notifications("LakeBucket")):
        queue = stack.describe_stack_resource(StackName=settings.stack_name, LogicalResourceId=notification.queue)
        url = sqs.get_queue_url(QueueName=queue["StackResourceDetail"]["PhysicalResourceId"].rsplit("/", 1)[-1])
        arn = sqs.get_queue_attributes(QueueUrl=url["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rules = [{"Name": name, "Value": value} for name, value in notification.rules]
        configurations.append(
            {
                "Id": f"{notification.queue}-{n}",
                "QueueArn": arn,
                "Events": [notification.event],
                **({"Filter": {"Key": {"FilterRules": rules}}} if rules else {}),
            }
        )
    aws.client("s3", settings).put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": configurations},  # pyright: ignore[reportArgumentType]
    )
    return len(configurations)


def user_token(settings: Settings, client_id: str, username: str, password: str) -> str:
    result = aws.client("cognito-idp", settings).initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return result["AuthenticationResult"]["AccessToken"]
