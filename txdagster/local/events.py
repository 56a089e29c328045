"""Real-shaped Lambda events and context, as AWS builds them for SQS, DynamoDB Streams and API Gateway."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "123456789012"


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 60
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:{ACCOUNT}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    records = []
    for message in messages:
        attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": attributes,
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def stream_failure_record(
    records: list[dict[str, Any]], shard_id: str, stream_arn: str, function_arn: str, invocations: int
) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's on-failure destination: where the batch it gave up on
    lies in the stream (not the records: they are read again from there, within 24 h)."""

    def arrival(record: dict[str, Any]) -> str:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        moment = created.timestamp() if hasattr(created, "timestamp") else float(created or time.time())
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))

    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": invocations,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival(records[0]),
            "approximateArrivalOfLastRecord": arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def method_arn(region: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{ACCOUNT}:{api_id}/{stage}/{method}{path}"


@dataclass(frozen=True)
class Route:
    """Where API Gateway sent a request: the API, its stage, the matched resource and its path parameters."""

    api_id: str
    stage: str
    resource: str
    path_parameters: dict[str, str] | None = None


@dataclass(frozen=True)
class Caller:
    """Who the authorizer let in: its principal and the context it passes to the integration."""

    principal_id: str
    context: dict[str, Any]


def is_binary(headers: dict[str, str], binary_media_types: tuple[str, ...]) -> bool:
    """Whether API Gateway passes this request's body as base64: its Content-Type matches one of the
    API's binary media types (``*/*`` matches every request, ``type/*`` a family)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    media = content_type.split(";")[0].strip().lower()
    family = media.split("/")[0]
    return any(t == "*/*" or t.lower() in (media, f"{family}/*") for t in binary_media_types)


def proxy_event(
    *,
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    route: Route,
    caller: Caller,
    binary: bool = False,
) -> dict[str, Any]:
    """The REST API's Lambda proxy event for a request, as API Gateway builds it: a ``binary`` body
    as base64 of its bytes, any other as text (bytes that are not UTF-8 replaced, as a JSON event must be)."""
    resource, stage, api_id = route.resource, route.stage, route.api_id
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    if binary:
        text = base64.b64encode(body).decode("ascii") if body else None
    else:
        text = body.decode("utf-8", errors="replace") if body else None
    return {
        "resource": resource,
        "path": split.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": route.path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{split.path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "apiId": api_id,
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            "authorizer": {**caller.context, "principalId": caller.principal_id},
        },
        "body": text,
        "isBase64Encoded": bool(binary and body),
    }


def problem(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    """API Gateway's own gateway responses (before the integration runs)."""
    return status, {"Content-Type": "application/json"}, json.dumps({"message": message}).encode()
