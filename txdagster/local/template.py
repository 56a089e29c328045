"""``infra/template.yaml`` as data, for the local stack to read what it must not write again: each
function's declared variables, each event source mapping's settings. CloudFormation's short tags
become one-key dicts (``!GetAtt Q.Arn`` -> ``{"GetAtt": "Q.Arn"}``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from txdagster.ops.deploy import TEMPLATE
from txdagster.ops.templates import read_template


@cache
def resources() -> dict[str, dict[str, Any]]:
    """Logical id -> resource, as written in the template."""
    return read_template(TEMPLATE.read_text())["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in resources().items() if resource["Type"] == kind}


@dataclass(frozen=True)
class MappingSettings:
    """An event source mapping as the template declares it (AWS's defaults where it says nothing)."""

    batch_size: int
    batching_window: float  # seconds to gather records before invoking (MaximumBatchingWindowInSeconds)
    max_retries: int | None  # None: until the records expire, as AWS's -1
    bisect: bool
    on_failure: str | None  # logical id of the on-failure destination
    report_item_failures: bool


def mapping_of(function: str) -> MappingSettings:
    """The mapping that feeds the function of logical id ``function``."""
    [properties] = [
        m["Properties"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function}
    ]
    retries = int(properties.get("MaximumRetryAttempts", -1))
    destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return MappingSettings(
        batch_size=int(properties.get("BatchSize", 10 if "Queue" in str(properties["EventSourceArn"]) else 100)),
        batching_window=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
        max_retries=None if retries < 0 else retries,
        bisect=bool(properties.get("BisectBatchOnFunctionError", False)),
        on_failure=destination["GetAtt"].split(".")[0] if destination else None,
        report_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
    )


def api_resources() -> tuple[str, ...]:
    """The REST API's resource paths (``/transactions/{transaction_id}``…), from their parents."""
    declared = of_type("AWS::ApiGateway::Resource")

    def path(logical_id: str) -> str:
        properties = declared[logical_id]["Properties"]
        parent = properties["ParentId"]
        prefix = path(parent["Ref"]) if isinstance(parent, dict) and "Ref" in parent else ""
        return f"{prefix}/{properties['PathPart']}"

    return tuple(sorted(path(logical_id) for logical_id in declared))


def authorizer_ttl_seconds() -> int:
    [authorizer] = of_type("AWS::ApiGateway::Authorizer").values()
    return int(authorizer["Properties"].get("AuthorizerResultTtlInSeconds", 300))


def binary_media_types() -> tuple[str, ...]:
    """The REST API's ``BinaryMediaTypes``: a request whose Content-Type matches one reaches the
    integration as base64 of the bytes sent (``isBase64Encoded``). CloudFormation escapes the slash as ``~1``."""
    [api] = of_type("AWS::ApiGateway::RestApi").values()
    return tuple(str(t).replace("~1", "/") for t in api["Properties"].get("BinaryMediaTypes", ()))


@dataclass(frozen=True)
class QueueNotification:
    """One of a bucket's ``QueueConfigurations``: which events of which keys go to which queue."""

    queue: str  # the queue's logical id
    event: str
    rules: tuple[tuple[str, str], ...]  # S3Key filter rules: (name, value)


def queue_notifications(bucket: str) -> tuple[QueueNotification, ...]:
    """The event notifications the bucket of logical id ``bucket`` sends to queues."""
    properties = resources()[bucket]["Properties"]
    return tuple(
        QueueNotification(
            queue=str(config["Queue"]["GetAtt"]).split(".")[0],
            event=str(config["Event"]),
            rules=tuple(
                (str(r["Name"]), str(r["Value"])) for r in config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            ),
        )
        for config in properties.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    )
