"""CRUD on the ``transactions`` table with optimistic concurrency on ``version``.

Every write is conditional, so a retried request can never create a second copy or lose an update.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from lambdas.common import aws
from lambdas.common.config import setting
from lambdas.common.standardise import normalise_timestamp
from lambdas.data_api.problems import ApiProblem

SERVER_MANAGED = ("version",)
TIMESTAMP_FIELDS = ("event_time", "ingested_at")


def _table() -> Any:
    return aws.table(setting("transactions_table"))


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def to_item(record: dict[str, Any], version: int) -> dict[str, Any]:
    """Canonical JSON record to a DynamoDB item: Decimal amounts, normalised UTC timestamps, no nulls."""
    item = {k: v for k, v in record.items() if v is not None and k not in SERVER_MANAGED}
    item["amount"] = Decimal(str(item["amount"]))
    for name in TIMESTAMP_FIELDS:
        item[name] = normalise_timestamp(item[name])
    item["version"] = version
    return item


def to_json(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB item to the API's JSON: the amount as decimal text, never a float."""
    out = dict(item)
    out["amount"] = format(Decimal(item["amount"]), "f")
    out["version"] = int(item["version"])
    return out


def _business(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("version", "ingested_at")}


def create(record: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Insert version 1. A replay of the same transaction returns the stored one (created=False)."""
    item = to_item(record, version=1)
    try:
        _table().put_item(Item=item, ConditionExpression=Attr("transaction_id").not_exists())
        return item, True
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
    existing = get(item["transaction_id"])
    if existing is not None and _business(existing) == _business(item):
        return existing, False
    raise ApiProblem(
        409,
        f"transaction {item['transaction_id']} already exists with different content; "
        "update it with PUT and its current version",
        current_version=int(existing["version"]) if existing else None,
    )


def get(transaction_id: str) -> dict[str, Any] | None:
    return _table().get_item(Key={"transaction_id": transaction_id}, ConsistentRead=True).get("Item")


def update(
    transaction_id: str, record: dict[str, Any], expected_version: int, stale_status: int = 409
) -> dict[str, Any]:
    """Replace the transaction if its stored version is ``expected_version``; the new one is +1. A stale
    version gets ``stale_status`` (409, or 412 for an ``If-Match`` precondition) and changes nothing."""
    if record.get("transaction_id", transaction_id) != transaction_id:
        raise ApiProblem(422, "transaction_id in the body differs from the one in the path")
    existing = get(transaction_id)
    if existing is None:
        raise ApiProblem(404, f"transaction {transaction_id} does not exist")
    if record.get("source_system", existing["source_system"]) != existing["source_system"]:
        raise ApiProblem(422, "source_system cannot change; it is part of the transaction's identity")
    item = to_item({**record, "transaction_id": transaction_id}, version=expected_version + 1)
    try:
        _table().put_item(Item=item, ConditionExpression=Attr("version").eq(expected_version))
    except ClientError as exc:
        if _conditional_failed(exc):
            raise ApiProblem(
                stale_status,
                f"transaction {transaction_id} is at another version than {expected_version}; read it again and retry",
            ) from exc
        raise
    return item


def delete(transaction_id: str, expected_version: int | None, stale_status: int = 409) -> None:
    condition = Attr("transaction_id").exists()
    if expected_version is not None:
        condition = condition & Attr("version").eq(expected_version)
    try:
        _table().delete_item(Key={"transaction_id": transaction_id}, ConditionExpression=condition)
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        if get(transaction_id) is None:
            raise ApiProblem(404, f"transaction {transaction_id} does not exist") from exc
        raise ApiProblem(stale_status, f"transaction {transaction_id} is not at version {expected_version}") from exc


def list_for_account(
    account_id: str, limit: int, after: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Newest first, through the account + event_time index: up to ``limit`` items after the position
    ``after`` (the index key of the last item of the previous page), and the position of this page's
    last item when more may follow."""
    query: dict[str, Any] = {
        "IndexName": setting("account_index"),
        "KeyConditionExpression": Key("account_id").eq(account_id),
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if after:
        query["ExclusiveStartKey"] = after
    result = _table().query(**query)
    return result.get("Items", []), result.get("LastEvaluatedKey")
