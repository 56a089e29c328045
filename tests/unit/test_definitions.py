import dagster as dg

from txdagster.definitions import defs


def test_every_asset_check_sensor_and_schedule_resolves():
    dg.Definitions.validate_loadable(defs)
    assets = {spec.key.to_user_string() for spec in defs.resolve_all_asset_specs()}
    assert assets == {
        "schema_registry",
        "transaction_changes",
        "transaction_files",
        "transactions_current",
        "transaction_changes_compacted",
        "transaction_files_compacted",
        "transactions_current_from_log",
        "transactions_unified",
        "daily_account_summary",
        "daily_source_summary",
    }
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {
        "parity_with_dynamodb",
        "batch_parity_with_dynamodb",
        "equals_full_log",
        "changes_ingested_in_time",
        "rows_accounted",
        "valid_rows",
        "schema_matches_contract",
    } <= checks
    assert {s.name for s in defs.sensors} == {"cdc_sensor", "raw_sensor"}  # the current table: in the ingest run
    assert {s.name for s in defs.schedules} == {"hourly_parity", "compaction"}


def test_compaction_is_scheduled_for_today_and_in_the_first_hour_for_yesterday_too():
    from datetime import UTC, datetime

    from txdagster.defs.lake.schedules import compaction

    def days(at: datetime) -> list[str]:
        requests = compaction(dg.build_schedule_context(scheduled_execution_time=at))
        return [r.partition_key for r in requests]

    assert days(datetime(2026, 11, 27, 14, 30, tzinfo=UTC)) == ["2026-11-27"]
    assert days(datetime(2026, 11, 27, 0, 15, tzinfo=UTC)) == ["2026-11-26", "2026-11-27"]


def test_lineage_runs_from_the_contract_through_the_tables_and_the_current_state_to_the_bi_views():
    graph = defs.resolve_asset_graph()

    def parents(name: str) -> set[str]:
        return {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}

    for table in ("transaction_changes", "transaction_files"):
        assert parents(table) == {"schema_registry"}
    assert parents("transactions_current") == {"transaction_changes"}
    assert parents("transactions_current_from_log") == {"transaction_changes"}
    assert parents("transactions_unified") == {"transactions_current", "transaction_files"}
    assert parents("daily_account_summary") == {"transactions_current"}
    assert parents("daily_source_summary") == {"transactions_unified"}
    freshness = graph.get(dg.AssetKey("transactions_current")).freshness_policy
    assert freshness is not None


def test_lake_assets_carry_group_kinds_and_owners_for_the_ui():
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name in {"contract", "lake", "current", "bi"}
        assert spec.kinds
        assert spec.owners == ["team:data-platform"]
        assert spec.description


def test_the_data_apis_bounds_are_the_contracts():
    from lambdas.data_api import limits
    from txdagster.contract import fields

    assert (limits.VERSION_MIN, limits.VERSION_MAX) == (fields.INTEGER_MIN, fields.INTEGER_MAX)
    assert limits.EVENT_TIME_EARLIEST == fields.EVENT_TIME_EARLIEST
    by_name = {f.name: f for f in fields.FIELDS}
    assert by_name["transaction_id"].pattern == limits.TRANSACTION_ID_PATTERN
    assert by_name["account_id"].max_length == limits.ACCOUNT_ID_MAX_LENGTH
