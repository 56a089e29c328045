"""The Athena views BI tools read, (re)created from the ``.sql`` files beside this module: they read live
data, so nothing refreshes them per batch. ``transactions_current_from_log`` is the reference the
current table is proven against (group ``current``); the others are the BI views (group ``bi``)."""

import dagster as dg

from txdagster.defs.bi.views import VIEWS, view_sql
from txdagster.defs.policies import OWNERS
from txdagster.defs.resources import LakeResource

_VIEW_DEPS = {
    "transactions_current_from_log": ["transaction_changes"],
    "transactions_unified": ["transactions_current", "transaction_files"],
    "daily_account_summary": ["transactions_current"],
    "daily_source_summary": ["transactions_unified"],
}


def _first_comment(name: str) -> str:
    return " ".join(line.removeprefix("--").strip() for line in view_sql(name).splitlines() if line.startswith("--"))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            name,
            deps=_VIEW_DEPS[name],
            group_name="current" if name == "transactions_current_from_log" else "bi",
            kinds={"athena", "sql"},
            owners=OWNERS,
            description=_first_comment(name),
            metadata={"sql": dg.MetadataValue.md(f"```sql\n{view_sql(name)}\n```")},
        )
        for name in VIEWS
    ],
)
def lake_views(context: dg.AssetExecutionContext, lake: LakeResource):
    """(Re)create every view, in the order they build on each other."""
    engine = lake.engine()
    for name in VIEWS:
        engine.create_view(name, view_sql(name))
        yield dg.MaterializeResult(asset_key=name, metadata={"athena_view": name})
