"""`txdagster ingest`: the lake's road on local files, with no AWS, for producers checking a file."""

import json
from pathlib import Path

import pyarrow.parquet as pq

from txdagster import cli

LINE = {
    "transaction_id": "crm:1",
    "account_id": "A",
    "amount": "1.00",
    "currency": "EUR",
    "transaction_type": "payment",
    "status": "settled",
    "event_time": "2026-11-27T00:00:00Z",
}


def test_a_clean_file_exits_0_and_writes_its_parquet(tmp_path, capsys):
    source = tmp_path / "raw" / "crm" / "clean.jsonl"
    source.parent.mkdir(parents=True)
    source.write_text(json.dumps(LINE) + "\n")

    assert cli.main(["ingest", str(source), "--out", str(tmp_path / "out"), "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert (report["rows_in"], report["rows_published"], report["rows_quarantined"]) == (1, 1, 0)
    [parquet] = report["outputs"]
    row = pq.read_table(parquet).to_pylist()[0]
    assert (row["transaction_id"], row["source_system"]) == ("crm:1", "crm")  # the source from raw/<source>/


def test_a_file_with_bad_rows_exits_1_and_names_the_reason(tmp_path, capsys):
    source = tmp_path / "export.csv"
    source.write_text(
        "transaction_id,account_id,amount,currency,transaction_type,status,event_time\n"
        "crm:9,A,12.5.0,EUR,payment,settled,2026-11-27T00:00:00Z\n"
    )

    code = cli.main(["ingest", str(source), "--source-system", "crm", "--out", str(tmp_path / "out"), "--json"])

    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["rows_quarantined"] == 1
    assert "amount: not decimal text" in report["files"][0]["reasons"][0]
    [quarantine] = report["outputs"]
    assert json.loads(Path(quarantine).read_text().splitlines()[0])["row_number"] == 1


def test_a_missing_file_exits_2(tmp_path):
    assert cli.main(["ingest", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)]) == 2
