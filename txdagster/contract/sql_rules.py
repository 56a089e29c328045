"""The contract's row checks written as Athena (Trino) SQL, derived from ``FIELDS``: the SQL road's rules.

Every value comes in as text (a CSV cell; blank is missing). For each field, :func:`reasons` gives
``(condition, reason)`` pairs, the condition true when the value breaks the rule and the reason naming
the field; :func:`typed` gives the expression that turns a checked value into its lake type. The same
expressions run on Athena and, transpiled by sqlglot, on DuckDB (``lake/sql_engines.py``), so the
local tests exercise the SQL that runs in AWS.

The rules are the columnar road's (``ingest/columnar/``, ``contract/dynamo.py``), with the limits a
text-only SQL reading imposes (docs/lake.md, "The SQL road"): timestamps must be written
``YYYY-MM-DDTHH:MM:SS[.ffffff]`` with ``Z`` or ``±HH:MM``, and attributes must be a flat JSON object of
text values (a ``null`` value is refused rather than dropped).
"""

from __future__ import annotations

from datetime import datetime

from txdagster.contract import fields as contract
from txdagster.contract.fields import DECIMAL_PATTERN, FREE_TEXT_PATTERN, INTEGER_TEXT_PATTERN, Field

AMOUNT_PRECISION, AMOUNT_SCALE = contract.AMOUNT_PRECISION, contract.AMOUNT_SCALE

#: The forbidden characters as a class both Trino's regex library and RE2 (DuckDB) read: ``\x{HHHH}``.
FORBIDDEN_SQL_CLASS = (
    "["
    + "".join(
        f"\\x{{{low:X}}}" + (f"-\\x{{{high:X}}}" if high != low else "") for low, high in contract.FORBIDDEN_RANGES
    )
    + "]"
)
TIMESTAMP_FORM = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
_JSON_TEXT = r'"([^"\\]|\\.)*"'
#: A flat JSON object whose values are all text: what ``attributes`` may hold on this road.
TEXT_OBJECT_FORM = rf"^\s*\{{\s*({_JSON_TEXT}\s*:\s*{_JSON_TEXT}\s*(,\s*{_JSON_TEXT}\s*:\s*{_JSON_TEXT}\s*)*)?\}}\s*$"
DECIMAL_TYPE = f"DECIMAL({AMOUNT_PRECISION},{AMOUNT_SCALE})"
MAP_TYPE = "MAP(VARCHAR, VARCHAR)"


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _matches(value: str, pattern: str) -> str:
    return f"regexp_like({value}, {literal(pattern)})"


def timestamp(value: str) -> str:
    return f"from_iso8601_timestamp({value})"


def _attributes(value: str) -> str:
    return f"CAST(json_parse({value}) AS {MAP_TYPE})"


def reasons(f: Field, value: str) -> list[tuple[str, str]]:
    """(SQL condition true when ``value`` breaks the rule, the reason) for one field, in checking order.
    ``value`` is the field's text (NULL when missing), with defaults already filled in."""
    checks: list[tuple[str, str]] = []
    if f.required:
        checks.append((f"{value} IS NULL", f"{f.name}: required but missing"))
    if f.kind == "string":
        if f.pattern == FREE_TEXT_PATTERN:
            checks.append(
                (
                    _matches(value, FORBIDDEN_SQL_CLASS),
                    f"{f.name}: contains a control or bidirectional-override character",
                )
            )
        elif f.pattern:
            checks.append((f"NOT {_matches(value, f.pattern)}", f"{f.name}: does not match {f.pattern}"))
        if f.enum:
            values = ", ".join(literal(v) for v in f.enum)
            checks.append((f"{value} NOT IN ({values})", f"{f.name}: not one of the contract's values"))
        if f.max_length:
            checks.append((f"length({value}) > {f.max_length}", f"{f.name}: longer than {f.max_length} characters"))
        if f.min_length:
            checks.append((f"length({value}) < {f.min_length}", f"{f.name}: shorter than {f.min_length} characters"))
    elif f.kind == "decimal":
        checks.append(
            (
                f"NOT {_matches(value, f.pattern or DECIMAL_PATTERN)}",
                f'{f.name}: not decimal text like "-1234.56" (at most {AMOUNT_PRECISION - AMOUNT_SCALE} '
                f"integer digits and {AMOUNT_SCALE} decimals; no spaces, exponent or plus sign)",
            )
        )
    elif f.kind == "timestamp":
        checks.append(
            (
                f"NOT {_matches(value, TIMESTAMP_FORM)} OR try({timestamp(value)}) IS NULL",
                f"{f.name}: not an ISO 8601 timestamp like 2026-11-27T10:00:00Z",
            )
        )
    elif f.kind == "integer":
        checks.append(
            (
                f"NOT {_matches(value, INTEGER_TEXT_PATTERN)} OR try_cast({value} AS BIGINT) IS NULL "
                f"OR try_cast({value} AS BIGINT) < {contract.INTEGER_MIN}",
                f"{f.name}: must be an integer in {contract.INTEGER_MIN}..{contract.INTEGER_MAX}",
            )
        )
    elif f.kind == "map":
        parsed = _attributes(value)
        checks += [
            (
                f"NOT {_matches(value, TEXT_OBJECT_FORM)} OR try({parsed}) IS NULL",
                f"{f.name}: must be a JSON object of text values",
            ),
            (
                f"cardinality(map_keys({parsed})) > {contract.ATTRIBUTES_MAX_KEYS}",
                f"{f.name}: more than {contract.ATTRIBUTES_MAX_KEYS} keys",
            ),
            (
                f"array_max(transform(map_keys({parsed}), k -> length(k))) > {contract.ATTRIBUTE_KEY_MAX_LENGTH}",
                f"{f.name}: a key longer than {contract.ATTRIBUTE_KEY_MAX_LENGTH} characters",
            ),
            (
                f"array_max(transform(map_values({parsed}), v -> length(v))) > {contract.ATTRIBUTE_VALUE_MAX_LENGTH}",
                f"{f.name}: a value longer than {contract.ATTRIBUTE_VALUE_MAX_LENGTH} characters",
            ),
            (
                f"cardinality(filter(map_keys({parsed}), k -> {_matches('k', FORBIDDEN_SQL_CLASS)})) > 0 OR "
                f"cardinality(filter(map_values({parsed}), v -> {_matches('v', FORBIDDEN_SQL_CLASS)})) > 0",
                f"{f.name}: contains a control or bidirectional-override character",
            ),
        ]
        checks = [(f"{value} IS NOT NULL AND ({condition})", reason) for condition, reason in checks]
    return checks


def event_time_window(value: str, latest: datetime) -> tuple[str, str]:
    """The event_time range rule (after the field's own checks): later than 1970, not past ``latest``."""
    seconds = f"to_unixtime({timestamp(value)})"
    return (
        f"{seconds} <= {contract.EVENT_TIME_EARLIEST.timestamp():.0f} OR {seconds} > {latest.timestamp():.6f}",
        f"event_time: outside {contract.EVENT_TIME_EARLIEST.isoformat()} (excluded)..{latest.isoformat()} "
        "(the ingestion time plus TXD_MAX_EVENT_AHEAD_HOURS)",
    )


def typed(f: Field, value: str) -> str:
    """The lake-typed expression of a field's checked text."""
    if f.kind == "decimal":
        return f"CAST({value} AS {DECIMAL_TYPE})"
    if f.kind == "timestamp":
        return timestamp(value)
    if f.kind == "integer":
        return f"CAST({value} AS BIGINT)"
    if f.kind == "map":
        return _attributes(value)
    return value


def first_reason(checks: list[tuple[str, str]]) -> str:
    """A CASE giving the first broken rule's reason, NULL when the row passes every one."""
    if not checks:
        return "CAST(NULL AS VARCHAR)"
    whens = "\n".join(f"    WHEN {condition} THEN {literal(reason)}" for condition, reason in checks)
    return f"CASE\n{whens}\n  END"
