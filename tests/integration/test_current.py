"""transactions_current as an Iceberg table, maintained per change batch, against the embedded Glue and S3:
whatever the order of the batches, replays and deletes, it equals the full-log view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest
import sqlglot

from lambdas.stream_exporter.batch import SEQUENCE_DIGITS
from txdagster.contract.arrow import table_arrow_schema
from txdagster.defs.bi.views import VIEWS, view_sql
from txdagster.lake import aws, catalog
from txdagster.lake.current import CURRENT_TABLE, apply_changes, ensure_current_table, read_current, versions_of
from txdagster.lake.engines import DuckDBEngine, to_duckdb
from txdagster.lake.parity import check_batch_parity
from txdagster.settings import with_overrides

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def change(key: str, sequence: int, kind: str = "MODIFY", version: int = 1, amount: str = "10.00", days_ago: int = 0):
    return {
        "transaction_id": key,
        "source_system": "payments",
        "account_id": "acc-1",
        "counterparty": None,
        "amount": Decimal(amount),
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "settled",
        "event_time": T0 - timedelta(days=days_ago),
        "ingested_at": T0,
        "version": version,
        "attributes": None,
        "change_type": kind,
        "sequence_number": str(sequence).zfill(SEQUENCE_DIGITS),
        "change_time": T0 + timedelta(seconds=sequence),
        "source_file": f"cdc/{sequence}.jsonl.gz",
        "source_row": 1,
    }


def batch(*changes: dict) -> pa.Table:
    return pa.Table.from_pylist(list(changes), schema=table_arrow_schema("transaction_changes"))


def from_log(*batches: pa.Table) -> list[dict]:
    """The reference: the full-log view's SQL over every change ever seen."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("transaction_changes", pa.concat_tables(batches))
    rows = con.sql(to_duckdb(view_sql("transactions_current_from_log"))).to_arrow_table().to_pylist()
    return sorted(rows, key=lambda r: r["transaction_id"])


def current(settings) -> list[dict]:
    return sorted(read_current(settings).to_pylist(), key=lambda r: r["transaction_id"])


@pytest.fixture
def lake(settings, tmp_path):
    """A Glue database of its own, so each test starts from an empty current table."""
    own = with_overrides(settings, glue_database=f"current_{tmp_path.name[-24:].replace('-', '_').lower()}")
    catalog.ensure_database(own)
    return own


def test_out_of_order_replayed_batches_and_deletes_equal_the_full_log(lake):
    first = batch(change("a", 1, "INSERT"), change("b", 2, "INSERT"), change("c", 3, "INSERT", days_ago=3))
    second = batch(
        change("a", 4, version=2, amount="11.00"),
        change("b", 5, "REMOVE"),
        change("d", 6, "INSERT"),
        change("c", 7, version=2, amount="-3.5000", days_ago=3),
    )
    third = batch(change("d", 8, version=2), change("d", 9, version=3, amount="0.01"), change("b", 10, "INSERT"))

    applied = apply_changes(lake, second)  # out of order: the later batch first
    assert (applied.newer, applied.deleted, applied.stale) == (4, 1, 0)
    assert apply_changes(lake, first).stale == 3  # every change older than what is stored: nothing moves back
    assert current(lake) == from_log(first, second)
    replay = apply_changes(lake, second)
    assert (replay.newer, replay.stale) == (0, 4)
    apply_changes(lake, third)
    apply_changes(lake, first)
    assert current(lake) == from_log(first, second, third)
    assert {r["transaction_id"]: r["version"] for r in current(lake)} == {"a": 2, "b": 1, "c": 2, "d": 3}


def test_the_glue_table_is_iceberg_partitioned_by_event_day(lake):
    apply_changes(lake, batch(change("a", 1, "INSERT")))
    glue = aws.client("glue", lake).get_table(DatabaseName=lake.glue_database, Name=CURRENT_TABLE)["Table"]
    assert glue["Parameters"]["table_type"].upper() == "ICEBERG"
    assert [f.name for f in ensure_current_table(lake).spec().fields] == ["event_day"]


def test_the_bi_views_parse_as_athena_sql_and_answer_on_duckdb(lake):
    catalog.ensure_lake(lake)
    engine = DuckDBEngine(lake)
    for name in VIEWS:
        sqlglot.parse_one(view_sql(name), read="athena")
        engine.create_view(name, view_sql(name))
    apply_changes(
        lake,
        batch(
            change("a", 1, "INSERT", amount="10.00"),
            change("b", 2, "INSERT", amount="-2.5"),
            change("c", 3, "INSERT", days_ago=1),
            change("c", 4, "REMOVE", days_ago=1),
        ),
    )
    unified = engine.query("SELECT transaction_id, origin FROM transactions_unified ORDER BY 1").to_pylist()
    assert unified == [{"transaction_id": "a", "origin": "api"}, {"transaction_id": "b", "origin": "api"}]
    [account] = engine.query("SELECT * FROM daily_account_summary").to_pylist()
    assert (account["event_date"].isoformat(), account["account_id"], account["transactions"]) == (
        "2026-11-20",
        "acc-1",
        2,
    )
    assert (account["net_amount"], account["credits"], account["debits"]) == (
        Decimal("7.5"),
        Decimal("10"),
        Decimal("2.5"),
    )
    [source] = engine.query("SELECT * FROM daily_source_summary").to_pylist()
    assert (source["source_system"], source["origin"], source["transactions"], source["accounts"]) == (
        "payments",
        "api",
        2,
        1,
    )
    assert engine.query("SELECT count(*) AS n FROM transactions_current_from_log").column("n")[0].as_py() == 0


def test_the_batch_parity_check_names_a_key_changed_behind_the_lakes_back(lake):
    dynamodb = aws.client("dynamodb", lake)
    own = with_overrides(lake, transactions_table=f"{lake.glue_database}_transactions")  # no stream: nothing leaks
    dynamodb.create_table(
        TableName=own.transactions_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "transaction_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "transaction_id", "KeyType": "HASH"}],
    )
    for key in ("drift:kept", "drift:changed"):
        dynamodb.put_item(TableName=own.transactions_table, Item={"transaction_id": {"S": key}, "version": {"N": "1"}})
    keys = ["drift:kept", "drift:changed"]
    apply_changes(own, batch(change("drift:kept", 1, "INSERT"), change("drift:changed", 2, "INSERT")))
    assert check_batch_parity(own, versions_of(own, keys), keys).in_parity
    dynamodb.update_item(
        TableName=own.transactions_table,
        Key={"transaction_id": {"S": "drift:changed"}},
        UpdateExpression="SET #v = :v",
        ExpressionAttributeNames={"#v": "version"},
        ExpressionAttributeValues={":v": {"N": "7"}},
    )
    report = check_batch_parity(own, versions_of(own, keys), keys)
    assert not report.in_parity and report.version_mismatch == ["drift:changed"]
    assert report.dynamodb_count == report.lake_count == 2  # it read the batch's keys, not the tables


@pytest.mark.parametrize("left_alone_as", ["big", "of a higher tier"])
def test_tidying_merges_a_days_small_files_into_one_and_leaves_its_big_file_alone(lake, monkeypatch, left_alone_as):
    from txdagster.lake import current_upkeep
    from txdagster.lake import small_files as current_module

    monkeypatch.setattr(current_module, "to_fold", lambda files, into: [])  # batches fold nothing: tidying does

    big = batch(*(change(f"big-{n:05d}", n + 1, "INSERT") for n in range(3000 if left_alone_as == "big" else 12000)))
    smalls = [batch(change(f"small-{n}", 50000 + n, "INSERT")) for n in range(current_module.SMALL_FILES_PER_DAY)]
    for one in (big, *smalls):
        apply_changes(lake, one)
    table = ensure_current_table(lake)
    sizes = {task.file.file_path: task.file.file_size_in_bytes for task in table.scan().plan_files()}
    [big_file] = [path for path, size in sizes.items() if size == max(sizes.values())]
    if left_alone_as == "big":
        monkeypatch.setattr(current_module, "SMALL_FILE_BYTES", sizes[big_file] - 1)  # every other file is small
    else:  # every file is small, and the others are of tier 0
        monkeypatch.setattr(current_module, "TIER_BASE_BYTES", max(s for p, s in sizes.items() if p != big_file))
        assert current_module.tier(sizes[big_file]) > 0
    before = current(lake)

    tidied = current_upkeep.tidy(lake, datetime.now(UTC), table)

    assert tidied.days_rewritten == (T0.date().isoformat(),)
    after = {task.file.file_path for task in ensure_current_table(lake).scan().plan_files()}
    assert len(after) == tidied.data_files == 2 and big_file in after  # the big file was not rewritten
    assert current(lake) == before == from_log(big, *smalls)
    assert current_upkeep.tidy(lake, datetime.now(UTC)).days_rewritten == ()  # one small file: nothing to do


def test_upkeep_deletes_what_only_expired_snapshots_referred_to_and_keeps_every_row(lake):
    from txdagster.lake.current_upkeep import maintain, referenced

    own = with_overrides(lake, lake_bucket=lake.glue_database.replace("_", "-")[:63])  # a location of its own
    s3 = aws.client("s3", own)
    s3.create_bucket(Bucket=own.lake_bucket, CreateBucketConfiguration={"LocationConstraint": own.region})
    applied = [
        batch(change("a", 1, "INSERT"), change("b", 2, "INSERT")),
        batch(change("c", 3, "INSERT")),
        batch(change("a", 4, version=2, amount="12.00")),
        batch(change("b", 5, "REMOVE")),
    ]
    for one in applied:
        apply_changes(own, one)

    def stored() -> set[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=own.lake_bucket, Prefix="curated/")
        return {f"s3://{own.lake_bucket}/{o['Key']}" for page in pages for o in page.get("Contents", [])}

    before, rows = stored(), current(own)
    first = maintain(own, keep=timedelta(minutes=15), now=datetime.now(UTC) + timedelta(minutes=16))
    recorded = stored()
    assert first.snapshots_expired > 0 and first.orphans_deleted == 0  # found unreferenced, only recorded
    assert before <= recorded and any(path.endswith("/_unreferenced.json") for path in recorded)
    too_soon = maintain(own, keep=timedelta(minutes=15), now=datetime.now(UTC) + timedelta(minutes=30))
    assert too_soon.orphans_deleted == 0 and recorded <= stored()  # 14 minutes after the recorded sweep
    done = maintain(own, keep=timedelta(minutes=15), now=datetime.now(UTC) + timedelta(minutes=32))

    after = stored()
    assert done.orphans_deleted == len(recorded - after) > 0
    table = ensure_current_table(own)
    assert len(table.metadata.snapshots) == 1 and referenced(table) <= after  # nothing it needs is gone
    assert current(own) == rows == from_log(*applied)
    assert [r["transaction_id"] for r in rows] == ["a", "c"]
    apply_changes(own, applied[0])  # a replay after upkeep: the tombstone still keeps b deleted
    assert current(own) == rows


def test_tidying_keeps_the_newest_snapshots_and_expiring_the_others_deletes_no_file(lake, monkeypatch):
    from txdagster.lake import current_upkeep

    monkeypatch.setattr(current_upkeep, "KEPT_SNAPSHOTS", 3)
    own = with_overrides(lake, lake_bucket=lake.glue_database.replace("_", "-")[:63])  # a location of its own
    s3 = aws.client("s3", own)
    s3.create_bucket(Bucket=own.lake_bucket, CreateBucketConfiguration={"LocationConstraint": own.region})
    applied = [batch(change(f"k{n}", n + 1, "INSERT")) for n in range(7)]
    counts, expired = [], 0
    for one in applied:
        apply_changes(own, one)
        expired += current_upkeep.tidy(own, datetime.now(UTC)).snapshots_expired
        counts.append(len(ensure_current_table(own).metadata.snapshots))
    data = s3.list_objects_v2(Bucket=own.lake_bucket, Prefix=f"curated/{CURRENT_TABLE}/data/")["KeyCount"]

    assert max(counts) == 6 and counts[-1] < 6 and expired > 0  # past twice 3, back to the newest 3
    assert data == len(applied)  # a snapshot expired, its files kept: the scheduled sweep deletes them
    assert current(own) == from_log(*applied)


def test_a_commit_deletes_the_metadata_files_past_the_last_twenty(lake):
    from txdagster.lake.current import METADATA_PROPERTIES

    own = with_overrides(lake, lake_bucket=lake.glue_database.replace("_", "-")[:63])  # a location of its own
    s3 = aws.client("s3", own)
    s3.create_bucket(Bucket=own.lake_bucket, CreateBucketConfiguration={"LocationConstraint": own.region})
    kept = int(METADATA_PROPERTIES["write.metadata.previous-versions-max"])
    applied = [batch(change(f"k{n}", n + 1, "INSERT")) for n in range(kept + 8)]
    for one in applied:
        apply_changes(own, one)

    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=own.lake_bucket, Prefix=f"curated/{CURRENT_TABLE}/metadata/"
    )
    metadata_files = [
        o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".metadata.json")
    ]
    table = ensure_current_table(own)
    assert len(table.metadata.metadata_log) == kept
    in_log = {entry.metadata_file.split("/", 3)[3] for entry in table.metadata.metadata_log}
    current_file = table.metadata_location.split("/", 3)[3]
    # the log's and the current one; the table's first file was never in a log (the hourly sweep takes it)
    assert set(metadata_files) - in_log - {current_file} <= {min(metadata_files)}
    assert len(metadata_files) <= kept + 2 < len(applied)
    assert current(own) == from_log(*applied)


def test_a_batch_reads_and_rewrites_only_the_files_that_may_hold_its_keys(lake):
    from txdagster.lake import key_lookup

    prefix = "payments-eu-west-settlements:"  # longer than the 16 characters Iceberg keeps by default
    days = [
        batch(*(change(f"{prefix}{day}-{n:03d}", day * 1000 + n + 1, "INSERT", days_ago=day) for n in range(50)))
        for day in range(4)
    ]
    for one in days:
        apply_changes(lake, one)
    table = ensure_current_table(lake)
    before = {f.file_path for f in key_lookup.data_files(table)}

    found = key_lookup.find(table, "transaction_id", [f"{prefix}2-007", f"{prefix}9-000"], ("version",))
    assert found.rows.column("transaction_id").to_pylist() == [f"{prefix}2-007"]
    assert len(found.files) == 1 and len(found.snapshot_files) == len(before) == 4  # the file that may hold it

    update = batch(change(f"{prefix}2-007", 9001, version=2, amount="1.00", days_ago=2))
    apply_changes(lake, update)
    after = {f.file_path for f in key_lookup.data_files(ensure_current_table(lake))}
    assert len(before - after) == 1 and set(found.files) == before - after  # only that file was rewritten
    assert current(lake) == from_log(*days, update)


@pytest.mark.parametrize("merged_by", ["the batches' own commits", "tidying"])
def test_the_small_files_of_the_table_and_its_tombstones_are_merged(lake, monkeypatch, merged_by):
    from txdagster.lake import current_upkeep, key_lookup, small_files
    from txdagster.lake.current import ensure_removed_table

    if merged_by == "tidying":
        monkeypatch.setattr(small_files, "to_fold", lambda files, into: [])
    many = small_files.SMALL_FILES_PER_DAY
    inserts = [batch(change(f"k{n}", n + 1, "INSERT")) for n in range(many)]
    removes = [batch(change(f"k{n}", 100 + n, "REMOVE")) for n in range(many)]
    for one in inserts:
        apply_changes(lake, one)
    files = [len(key_lookup.data_files(ensure_current_table(lake)))]
    tidied = [current_upkeep.tidy(lake, datetime.now(UTC))]
    for one in removes:
        apply_changes(lake, one)
    files.append(len(key_lookup.data_files(ensure_removed_table(lake))))
    tidied.append(current_upkeep.tidy(lake, datetime.now(UTC)))

    if merged_by == "tidying":
        assert files == [many, many]  # a file per batch
        assert tidied[0].days_rewritten == (T0.date().isoformat(),) and tidied[0].data_files == 1
    else:  # the 8th insert took the 7 files before it, the 8th REMOVE the 7 tombstone files before it
        assert files == [1, 1] and tidied[0].days_rewritten == ()
    assert tidied[1].tombstone_files == 1 and tidied[1].data_files == 0  # every key removed
    snapshots = len(ensure_current_table(lake).metadata.snapshots)
    assert snapshots == 2 * many + len(tidied[0].days_rewritten)  # a batch's own commit: no other
    assert current(lake) == from_log(*inserts, *removes) == []
    apply_changes(lake, pa.concat_tables(inserts))  # a replay: the merged tombstones still keep every key deleted
    assert current(lake) == []


def test_the_manifests_stay_few_while_batches_rewrite_files(lake):
    table = ensure_current_table(lake)
    merge_at = int(table.properties["commit.manifest.min-count-to-merge"])
    apply_changes(lake, batch(*(change(f"k{n}", n + 1, "INSERT") for n in range(3))))
    for n in range(3 * merge_at):  # each batch rewrites the file holding k0 and adds one
        apply_changes(lake, batch(change("k0", 100 + n, version=n + 2), change(f"new{n}", 1000 + n, "INSERT")))

    table = ensure_current_table(lake)
    manifests = table.current_snapshot().manifests(table.io)
    assert len(manifests) <= merge_at  # merged as pyiceberg's merge-append does
    assert len(table.metadata.snapshots) == 1 + 3 * merge_at  # one snapshot per batch
    assert [r["version"] for r in current(lake) if r["transaction_id"] == "k0"] == [3 * merge_at + 1]


def test_a_remove_whose_commit_is_lost_after_its_tombstone_is_recorded_still_deletes_the_row(lake, monkeypatch):
    from pyiceberg.exceptions import ValidationException

    from txdagster.lake import current as current_module

    inserted = batch(change("a", 1, "INSERT"), change("b", 2, "INSERT"))
    apply_changes(lake, inserted)
    commits, real = [], current_module._commit

    def lost_once(transaction, found, gone, rows, days):
        commits.append(transaction.table_metadata.location)
        if len(commits) == 2:  # the tombstones' commit went through; the table's is lost to another writer
            raise ValidationException("Added data files were found matching the filter")
        real(transaction, found, gone, rows, days)

    monkeypatch.setattr(current_module, "_commit", lost_once)
    removed = batch(change("a", 3, "REMOVE"))
    applied = apply_changes(lake, removed)

    assert len(commits) == 3 and applied.newer == applied.deleted == 1  # tombstones, lost, the table again
    assert current(lake) == from_log(inserted, removed)
    assert [r["transaction_id"] for r in current(lake)] == ["b"]
    assert apply_changes(lake, removed).stale == 1  # a replay now changes nothing
