"""The query path's statement check: one read statement, nothing that writes or reads files."""

import re

import pytest

from txdagster.lake.read_only import NotReadOnly, read_statement

READS = [
    "SELECT 1",
    "SELECT 1;",
    "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
    "SELECT 1 UNION SELECT 2",
    "SHOW TABLES",
    "DESCRIBE transactions_current",
    "-- a comment\nSELECT count(*) FROM transaction_files",
]
REFUSED = {
    "COPY (SELECT 1) TO '/tmp/x.csv'": "not COPY",
    "INSERT INTO t VALUES (1)": "not INSERT",
    "UPDATE t SET a = 1": "not UPDATE",
    "DELETE FROM t": "not DELETE",
    "CREATE TABLE t AS SELECT 1": "not CREATE",
    "DROP VIEW v": "not DROP",
    "PRAGMA version": "not PRAGMA",
    "EXPLAIN SELECT 1": "not EXPLAIN",
    "SELECT * FROM read_csv('/etc/hostname')": "read_csv() reads files",
    "SELECT * FROM parquet_scan('x.parquet')": "parquet_scan() reads files",
    "SELECT 1; SELECT 2": "one statement at a time",
    "ATTACH 'other.db'": "not SQL the query engines read",
    "": "no SQL given",
}


@pytest.mark.parametrize("sql", READS)
def test_a_read_statement_passes(sql):
    assert read_statement(sql) == sql


@pytest.mark.parametrize("sql", list(REFUSED))
def test_anything_else_is_refused_with_the_reason(sql):
    with pytest.raises(NotReadOnly, match=re.escape(REFUSED[sql])):
        read_statement(sql)
