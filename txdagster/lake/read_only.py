"""What a query may be: exactly one read statement (SELECT or WITH, a set operation, VALUES, SHOW or
DESCRIBE), checked with sqlglot before any engine runs it. Table functions that read files are refused
by name here, and the local engine also turns DuckDB's file access off once the lake's datasets are
registered, so a query can neither read nor write anything but the lake's tables and views."""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # SHOW parses as a command: no warning for that

_READS = (exp.Select, exp.SetOperation, exp.Describe, exp.Values)
_FILE_FUNCTIONS = ("read_", "glob", "sniff_")


class NotReadOnly(ValueError):
    pass


def _function_name(function: exp.Func) -> str:
    return (function.name if isinstance(function, exp.Anonymous) else function.sql_name()).lower()


def read_statement(sql: str) -> str:
    """``sql`` if it is one read statement; raises ``NotReadOnly`` naming what is wrong."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    except ParseError as exc:
        raise NotReadOnly(f"not SQL the query engines read: {str(exc).splitlines()[0]}") from exc
    if not statements:
        raise NotReadOnly("no SQL given")
    if len(statements) > 1:
        raise NotReadOnly(f"one statement at a time: {len(statements)} were given")
    [statement] = statements
    is_show = isinstance(statement, exp.Command) and str(statement.this).upper() == "SHOW"
    if not (is_show or isinstance(statement, _READS)):
        kind = str(statement.this).upper() if isinstance(statement, exp.Command) else statement.key.upper()
        raise NotReadOnly(f"only a read statement (SELECT, WITH, SHOW, DESCRIBE) runs here, not {kind}")
    for function in statement.find_all(exp.Func):
        name = _function_name(function)
        if name.startswith(_FILE_FUNCTIONS) or name.endswith("_scan"):
            raise NotReadOnly(f"{name}() reads files: query the lake's tables and views instead")
    return sql
