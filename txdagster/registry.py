"""Publish the contract's schemas to the DynamoDB schema registry (idempotent).

The Lambdas never import the contract: they read what is published here at run time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from txdagster.contract.json_schema import canonical_json_schema
from txdagster.contract.sources import CANONICAL_SUBJECT, SOURCE_SCHEMAS
from txdagster.lake import aws
from txdagster.settings import Settings


def registry_items() -> list[dict[str, object]]:
    items: list[dict[str, object]] = [
        {
            "subject": CANONICAL_SUBJECT,
            "version": 1,
            "status": "ACTIVE",
            "description": "The canonical transaction the Data API stores.",
            "schema": json.dumps(canonical_json_schema(), sort_keys=True),
            "mapping": "[]",
        }
    ]
    for source in SOURCE_SCHEMAS:
        items.append(
            {
                "subject": source.subject,
                "version": source.version,
                "status": "ACTIVE",
                "description": source.description,
                "schema": json.dumps(source.json_schema, sort_keys=True),
                "mapping": json.dumps(source.mapping, sort_keys=True),
            }
        )
    return items


def publish_schemas(settings: Settings) -> int:
    """Write every schema version; returns how many were written."""
    table = aws.resource("dynamodb", settings).Table(settings.registry_table)
    published_at = datetime.now(UTC).isoformat()
    items = registry_items()
    with table.batch_writer(overwrite_by_pkeys=["subject", "version"]) as batch:
        for item in items:
            batch.put_item(Item={**item, "published_at": published_at})
    return len(items)
