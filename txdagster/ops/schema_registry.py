"""Publish the contract's schemas to the DynamoDB schema registry (idempotent).

The Lambdas never import the contract: they read what is published here at run time. A source's
schema versions evolve compatibly (``contract/compatibility.py``): each version accepts every message
the one before it did, and a published version is never changed in place. ``publish_schemas`` refuses
anything else and names the breaking change. The canonical schema is the platform's own and is
republished with the code.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

from txdagster.contract import sources
from txdagster.contract.compatibility import breaking_changes
from txdagster.contract.json_schema import canonical_json_schema
from txdagster.contract.sources import CANONICAL_SUBJECT
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
    for source in sources.SOURCE_SCHEMAS:
        items.append(
            {
                "subject": source.subject,
                "version": source.version,
                "status": "DEPRECATED" if source.deprecated else "ACTIVE",
                "description": source.description,
                "schema": json.dumps(source.json_schema, sort_keys=True),
                "mapping": json.dumps(source.mapping, sort_keys=True),
                "ordering": source.ordering,
                "state_order": json.dumps([list(tier) for tier in source.state_order]),
            }
        )
    return items


class IncompatibleSchema(ValueError):
    """A source schema version would break producers or consumers; nothing was published."""


def evolution_problems(settings: Settings) -> list[str]:
    """Breaking changes between a source's consecutive versions, and versions changed in place."""
    table = aws.resource("dynamodb", settings).Table(settings.registry_table)
    items, page = [], table.scan()
    items += page.get("Items", [])
    while "LastEvaluatedKey" in page:
        page = table.scan(ExclusiveStartKey=page["LastEvaluatedKey"])
        items += page.get("Items", [])
    stored = {(i["subject"], int(i["version"])): json.loads(i["schema"]) for i in items}
    problems = []
    by_subject = itertools.groupby(
        sorted(sources.SOURCE_SCHEMAS, key=lambda s: (s.subject, s.version)), key=lambda s: s.subject
    )
    for subject, group in by_subject:
        versions = list(group)
        for before, after in itertools.pairwise(versions):
            problems += [
                f"{subject} v{after.version} is not compatible with v{before.version}: {change}"
                for change in breaking_changes(before.json_schema, after.json_schema)
            ]
        for version in versions:
            published = stored.get((subject, version.version))
            if published is not None and published != version.json_schema:
                problems.append(
                    f"{subject} v{version.version} is published with other content: publish the "
                    f"change as v{versions[-1].version + 1}, never in place"
                )
    return problems


def publish_schemas(settings: Settings) -> int:
    """Write every schema version; returns how many were written. Raises ``IncompatibleSchema``."""
    problems = evolution_problems(settings)
    if problems:
        raise IncompatibleSchema("; ".join(problems))
    table = aws.resource("dynamodb", settings).Table(settings.registry_table)
    published_at = datetime.now(UTC).isoformat()
    items = registry_items()
    with table.batch_writer(overwrite_by_pkeys=["subject", "version"]) as batch:
        for item in items:
            batch.put_item(Item={**item, "published_at": published_at})
    return len(items)
