"""Parity between the lake's current view and DynamoDB: counts, a checksum, and the keys that differ."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from txdagster.lake import aws
from txdagster.lake.engines import QueryEngine
from txdagster.settings import Settings

SAMPLE = 20


@dataclass(frozen=True)
class ParityReport:
    dynamodb_count: int
    lake_count: int
    dynamodb_checksum: str
    lake_checksum: str
    missing_in_lake: list[str]
    extra_in_lake: list[str]
    version_mismatch: list[str]

    @property
    def in_parity(self) -> bool:
        return self.dynamodb_checksum == self.lake_checksum and self.dynamodb_count == self.lake_count


def checksum(versions: dict[str, int]) -> str:
    """Order-independent digest over transaction_id + version."""
    digest = hashlib.sha256()
    for key in sorted(versions):
        digest.update(f"{key}\t{versions[key]}\n".encode())
    return digest.hexdigest()


def dynamodb_versions(settings: Settings) -> dict[str, int]:
    client = aws.client("dynamodb", settings)
    versions: dict[str, int] = {}
    for page in client.get_paginator("scan").paginate(
        TableName=settings.transactions_table,
        ProjectionExpression="transaction_id, #v",
        ExpressionAttributeNames={"#v": "version"},
        ConsistentRead=True,
    ):
        for item in page["Items"]:
            versions[item["transaction_id"]["S"]] = int(item["version"]["N"])
    return versions


def lake_versions(engine: QueryEngine, source: str = "transactions_current", subquery: bool = False) -> dict[str, int]:
    """transaction_id -> version of a table or view (or of a SELECT, with ``subquery``)."""
    table = engine.query(f"SELECT transaction_id, version FROM {f'({source}) t' if subquery else source}")
    return {k: int(v) for k, v in zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True)}


def compare(dynamodb: dict[str, int], lake: dict[str, int]) -> ParityReport:
    return ParityReport(
        dynamodb_count=len(dynamodb),
        lake_count=len(lake),
        dynamodb_checksum=checksum(dynamodb),
        lake_checksum=checksum(lake),
        missing_in_lake=sorted(set(dynamodb) - set(lake))[:SAMPLE],
        extra_in_lake=sorted(set(lake) - set(dynamodb))[:SAMPLE],
        version_mismatch=sorted(k for k in set(dynamodb) & set(lake) if dynamodb[k] != lake[k])[:SAMPLE],
    )


def check_parity(settings: Settings, engine: QueryEngine) -> ParityReport:
    return compare(dynamodb_versions(settings), lake_versions(engine))


BATCH_GET_LIMIT = 100  # keys per BatchGetItem


def dynamodb_versions_of(settings: Settings, keys: list[str]) -> dict[str, int]:
    """The versions DynamoDB holds now for ``keys`` (consistent reads, 100 keys a call): O(batch)."""
    client = aws.client("dynamodb", settings)
    versions: dict[str, int] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), BATCH_GET_LIMIT):
        request: dict[str, Any] = {
            settings.transactions_table: {
                "Keys": [{"transaction_id": {"S": k}} for k in unique[start : start + BATCH_GET_LIMIT]],
                "ProjectionExpression": "transaction_id, #v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ConsistentRead": True,
            }
        }
        while request:
            response = client.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(settings.transactions_table, []):
                versions[item["transaction_id"]["S"]] = int(item["version"]["N"])
            request = response.get("UnprocessedKeys") or {}
    return versions


def check_batch_parity(settings: Settings, lake: dict[str, int], keys: list[str]) -> ParityReport:
    """Parity on one batch's keys: ``lake`` holds the current table's versions of those keys."""
    return compare(dynamodb_versions_of(settings, keys), {k: v for k, v in lake.items() if k in set(keys)})
