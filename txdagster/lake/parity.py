"""Parity between the lake's current view and DynamoDB: counts, a checksum, and the keys that differ."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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


def lake_versions(engine: QueryEngine, view: str = "transactions_current") -> dict[str, int]:
    table = engine.query(f"SELECT transaction_id, version FROM {view}")
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
