"""The deploy commands: ``deploy``, ``publish-schemas`` and ``package-lambdas`` work on the environment's
AWS account (credentials and ``TXD_*`` names from the environment); ``openapi`` writes a file."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from txdagster.cli import output
from txdagster.cli.groups import DONE, Group

if TYPE_CHECKING:
    from txdagster.settings import Settings

GROUP = Group("Deploy (the environment's AWS account)")


def package_lambdas(args: argparse.Namespace) -> int:
    from txdagster.ops.deploy import package_lambdas as package

    data = package()
    with open(args.output, "wb") as out:
        out.write(data)
    output.say(f"wrote {args.output} ({len(data):,} bytes); upload it and pass ArtifactBucket/ArtifactKey")
    return 0


def deploy(args: argparse.Namespace) -> int:
    from txdagster.ops import deploy as stacks
    from txdagster.settings import load_settings

    settings = load_settings()
    given = dict(p.split("=", 1) for p in args.parameter)
    if args.dagster:
        name = f"{settings.stack_name}-dagster"
        parameters = stacks.orchestration_parameters(settings, **given)
        template = stacks.ORCHESTRATION_TEMPLATE.read_text()
        outputs = stacks.deploy_stack(settings, parameters, template=template, stack_name=name)
        output.say(f"stack {name}: {outputs}")
        return 0
    if not args.artifact_bucket:
        output.fail("--artifact-bucket is needed to deploy the data plane (the Lambda zip goes there)")
        return 2
    key = stacks.artifact_key()
    stacks.upload_artifact(settings, args.artifact_bucket, key)
    outputs = stacks.deploy_stack(settings, stacks.stack_parameters(settings, args.artifact_bucket, key, **given))
    output.say(f"stack {settings.stack_name}: {outputs}")
    return _publish(settings)


def publish_schemas(args: argparse.Namespace) -> int:
    from txdagster.settings import load_settings

    return _publish(load_settings())


def _publish(settings: Settings) -> int:
    from txdagster.lake.catalog import GLUE_TABLES, ensure_lake
    from txdagster.ops.schema_registry import IncompatibleSchema, publish_schemas

    try:
        count = publish_schemas(settings)
    except IncompatibleSchema as exc:
        output.fail(f"nothing published: {exc}")
        return 2
    ensure_lake(settings)
    output.say(
        f"published {count} schema versions to {settings.registry_table}; Glue tables "
        f"{', '.join(GLUE_TABLES)} match the contract; transactions_current (Iceberg) exists"
    )
    return 0


def openapi(args: argparse.Namespace) -> int:
    import json

    from lambdas.data_api import handler
    from lambdas.data_api import openapi as document
    from txdagster.contract.json_schema import canonical_json_schema

    text = json.dumps(document.document(handler.app, canonical_json_schema()), indent=2, ensure_ascii=False) + "\n"
    if args.output == "-":
        print(text, end="")
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
        output.say(f"wrote {args.output}: the Data API's OpenAPI document (also served at GET /openapi.json)")
    return 0


def register(sub: argparse._SubParsersAction) -> Group:
    parser = GROUP.add(
        sub,
        "deploy",
        "create or update the data plane stack, or with --dagster Dagster on ECS",
        deploy,
        description="Create or update the data plane stack (Lambda zip, template, registry, Glue tables), or with "
        "--dagster the orchestration stack <stack>-dagster (docs/deploying.md).",
        exits=(DONE, "2  --artifact-bucket missing, or a source schema is not backward compatible"),
    )
    parser.add_argument("--artifact-bucket", help="S3 bucket for the Lambda zip (data plane)")
    parser.add_argument("--dagster", action="store_true", help="deploy infra/dagster-ecs.yaml instead")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter (repeat), e.g. LambdaLayerArns=…, or ImageUri=… VpcId=… "
        "PrivateSubnetIds=a,b with --dagster",
    )

    GROUP.add(
        sub,
        "publish-schemas",
        "publish the contract to the schema registry and align the Glue tables",
        publish_schemas,
        exits=(DONE, "2  a source schema version is not backward compatible (the breaking change is named)"),
    )

    parser = GROUP.add(
        sub,
        "package-lambdas",
        "zip the Lambda code for infra/template.yaml's ArtifactKey (no AWS)",
        package_lambdas,
        exits=(DONE,),
    )
    parser.add_argument("--output", default="txdagster-lambdas.zip", help="zip file to write")

    parser = GROUP.add(
        sub,
        "openapi",
        "write the Data API's OpenAPI 3.1 document, generated from its routes (no AWS)",
        openapi,
        exits=(DONE,),
    )
    parser.add_argument("--output", default="docs/openapi.json", help="file to write, or - for stdout")
    return GROUP
