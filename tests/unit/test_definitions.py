import dagster as dg

from txdagster.definitions import defs


def test_every_asset_check_sensor_and_schedule_resolves():
    dg.Definitions.validate_loadable(defs)
    assets = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    assert assets == {"transaction_changes", "transaction_files", "transactions_current"}
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {
        "parity_with_dynamodb",
        "changes_ingested_in_time",
        "rows_accounted",
        "valid_rows",
        "schema_matches_contract",
    } <= checks
    assert {s.name for s in defs.sensors} == {"cdc_sensor", "raw_sensor", "views_after_changes"}
    assert {s.name for s in defs.schedules} == {"hourly_parity"}


def test_lineage_runs_from_the_change_log_to_the_view():
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey("transactions_current")).parent_keys
    assert parents == {dg.AssetKey("transaction_changes")}


def test_lake_assets_carry_group_kinds_and_owners_for_the_ui():
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name in {"lake", "views"}
        assert spec.kinds
        assert spec.owners == ["team:data-platform"]
        assert spec.description
