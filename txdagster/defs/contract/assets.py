"""The schema registry as an asset: the contract's schemas as published to DynamoDB, upstream of the lake
tables in the lineage (contract -> registry -> lake tables). Materialising it publishes them; an
incompatible source schema version fails it, naming the breaking change."""

import dagster as dg

from txdagster.defs.policies import OWNERS
from txdagster.defs.resources import LakeResource
from txdagster.ops.schema_registry import publish_schemas, registry_items


@dg.asset(
    name="schema_registry",
    group_name="contract",
    kinds={"dynamodb"},
    owners=OWNERS,
    description="The canonical schema and each source's schema versions, published to the registry table that "
    "the source validator and the Data API read.",
)
def schema_registry(lake: LakeResource) -> dg.MaterializeResult:
    published = publish_schemas(lake.settings)
    versions = sorted(f"{i['subject']} v{i['version']} {i['status']}" for i in registry_items())
    return dg.MaterializeResult(metadata={"versions_published": published, "versions": dg.MetadataValue.json(versions)})
