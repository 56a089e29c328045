"""A catalogue of hostile command lines, each with the exit status and the words it must get: refused
at parse time, or by the command before it touches AWS. No stack runs; nothing is sent anywhere."""

from __future__ import annotations

import pytest

from txdagster import cli

NO_STACK = "no local stack is recorded"
SQL = ("query", "--engine", "duckdb")

#: argv -> (exit status, words in what was printed)
HOSTILE = {
    # arguments no command can use (argparse: exit 2, its message names the argument)
    ("no-such-command",): (2, "invalid choice"),
    (): (2, "required"),
    ("query",): (2, "the following arguments are required: sql"),
    ("trace",): (2, "the following arguments are required: key"),
    ("compact", "transaction_files"): (2, "required: day"),
    ("compact", "transactions", "2026-11-27"): (2, "invalid choice"),
    ("compact", "transaction_files", "2024-02-30"): (2, "must be a calendar day"),
    ("compact", "transaction_files", "today"): (2, "must be a calendar day"),
    ("compact", "transaction_files", "2026-1-5"): (2, "must be a calendar day"),
    ("up", "--rate", "-1"): (2, "must be a finite number above 0"),
    ("up", "--rate", "0"): (2, "must be a finite number above 0"),
    ("up", "--rate", "nan"): (2, "must be a finite number above 0"),
    ("up", "--rate", "inf"): (2, "must be a finite number above 0"),
    ("up", "--rate", "fast"): (2, "must be a finite number above 0"),
    ("up", "--port", "70000"): (2, "must be from 0 to 65535"),
    ("up", "--port", "-1"): (2, "must be from 0 to 65535"),
    ("up", "--port", "\u0663\u0660\u0660\u0660"): (2, "must be a whole number"),
    ("up", "--emulator-port", "http"): (2, "must be a whole number"),
    ("send", "--local", "--count", "-5"): (2, "must be from 0 to 100000"),
    ("send", "--local", "--count", "1e9"): (2, "must be a whole number"),
    ("send", "--local", "--invalid", "99"): (2, "must be from 0 to 4"),
    ("send", "--local", "--source", "ledger"): (2, "invalid choice"),
    ("bench", "flow", "--minutes", "0"): (2, "must be a finite number above 0"),
    ("bench", "flow", "--rate", "-10"): (2, "must be a finite number above 0"),
    ("query", "select 1", "--engine", "presto"): (2, "invalid choice"),
    # commands that refuse before they reach anything
    ("send",): (2, "give --local for the running local stack"),
    ("send", "--yes-really-send-to", ""): (2, "give --local"),
    ("send", "--local"): (2, NO_STACK),
    ("dlq", "--local"): (2, NO_STACK),
    ("trace", "--local", "raw/crm/x.jsonl"): (2, NO_STACK),
    ("token",): (2, "no local stack is running"),
    ("query", "--local", "select 1"): (2, NO_STACK),
    # statements the query path refuses before any engine runs them
    (*SQL, "DROP TABLE transaction_files"): (2, "not DROP"),
    (*SQL, "INSERT INTO transaction_files SELECT * FROM transaction_files"): (2, "not INSERT"),
    (*SQL, "select 1; drop view transactions_current"): (2, "one statement at a time"),
    (*SQL, "COPY transaction_files TO '/tmp/lake.csv'"): (2, "not COPY"),
    (*SQL, "SELECT * FROM read_text('/etc/passwd')"): (2, "read_text() reads files"),
    (*SQL, "SELECT * FROM read_json_auto('s3://someone-else/x.json')"): (2, "reads files"),
    (*SQL, "SELECT * FROM glob('/*')"): (2, "query failed: refused"),
    (*SQL, "SELECT * FROM iceberg_scan('s3://lake/curated/x')"): (2, "iceberg_scan() reads files"),
    (*SQL, "INSTALL httpfs"): (2, "query failed"),
    (*SQL, "LOAD httpfs"): (2, "query failed"),
    (*SQL, "SET enable_external_access = true"): (2, "query failed"),
    (*SQL, "CALL pragma_version()"): (2, "query failed"),
    (*SQL, "EXPORT DATABASE '/tmp/lake'"): (2, "query failed"),
    (*SQL, "   "): (2, "no SQL given"),
}


@pytest.mark.parametrize("argv", list(HOSTILE), ids=[" ".join(a) or "(nothing)" for a in HOSTILE])
def test_each_hostile_command_line_is_refused_with_its_reason(argv, tmp_path, monkeypatch, capsys):
    assert len(HOSTILE) >= 40
    monkeypatch.setenv("TXD_HOME", str(tmp_path))  # no local stack recorded
    monkeypatch.setenv("TXD_LAKE_BUCKET", "txd-lake-hostile-catalogue")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nobody listens: nothing may reach it
    status, words = HOSTILE[argv]
    try:
        got = cli.main(list(argv))
    except SystemExit as exit_:  # argparse's refusal
        got = exit_.code
    printed = capsys.readouterr()
    said = " ".join((printed.out + printed.err).split())
    assert got == status, said[-600:]
    assert words in said, said[-600:]
    assert "Traceback" not in said
