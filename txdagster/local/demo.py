"""The headless demo: a mixed batch from every source, a raw file, an update and a delete through
the API; then it waits until the lake shows them and asks the parity check for its verdict."""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from rich.console import Console
from rich.table import Table

from txdagster.lake import aws
from txdagster.lake.engines import query_engine
from txdagster.local import queues, traffic
from txdagster.local.api_client import ApiClient
from txdagster.local.headless import HeadlessDagster
from txdagster.local.stack import LocalStack
from txdagster.settings import Settings

PER_SOURCE = 5
TIMEOUT_SECONDS = 120


@dataclass
class Outcome:
    expected_ids: set[str]
    deleted_ids: set[str]
    expected_rejections: dict[str, str]  # body -> error code
    expected_file_rows: int
    api_changes_done: bool = False
    dlq: dict[str, dict[str, str]] = field(default_factory=dict)  # body -> attributes
    view_ids: set[str] = field(default_factory=set)
    file_rows: int = 0
    parity: dict[str, Any] | None = None

    @property
    def all_in_view(self) -> bool:
        return self.expected_ids <= self.view_ids and not (self.deleted_ids & self.view_ids)

    @property
    def all_in_dlq(self) -> bool:
        return all(self.dlq.get(body, {}).get("error_code") == code for body, code in self.expected_rejections.items())

    @property
    def passed(self) -> bool:
        return bool(
            self.api_changes_done
            and self.all_in_view
            and self.all_in_dlq
            and self.file_rows >= self.expected_file_rows
            and self.parity
            and self.parity["passed"]
        )


def raw_file(rng: random.Random, day: str) -> tuple[str, bytes, int]:
    """An NDJSON file of canonical records for raw/, with one bad row that must be quarantined."""
    lines = []
    for n in range(4):
        lines.append(
            json.dumps(
                {
                    "transaction_id": f"payments:file-{day}-{n}",
                    "account_id": f"ACC-{rng.randint(1, 40):04d}",
                    "amount": f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}",
                    "currency": "EUR",
                    "transaction_type": "payment",
                    "status": "settled",
                    "event_time": f"{day}T09:{n:02d}:00Z",
                }
            )
        )
    lines.append(json.dumps({"transaction_id": "payments:file-bad", "amount": 12.5}))
    return f"raw/payments/dt={day}/settlement-{day}.jsonl", ("\n".join(lines) + "\n").encode(), 4


def _ids(settings: Settings, sql: str) -> set[str]:
    return {str(value) for value in query_engine(settings).query(sql).column(0).to_pylist()}


def run(console: Console, seed: int = 7) -> bool:
    rng = random.Random(seed)
    with LocalStack() as stack:
        instance = dg.DagsterInstance.ephemeral()
        settings = stack.settings
        console.print(f"[bold]embedded AWS[/] {settings.endpoint_url}   [bold]Data API[/] {settings.api_url}")
        messages = traffic.mixed_batch(rng, PER_SOURCE)
        traffic.send(settings, messages)
        day = time.strftime("%Y-%m-%d", time.gmtime())
        key, body, file_rows = raw_file(rng, day)
        aws.client("s3", settings).put_object(Bucket=settings.lake_bucket, Key=key, Body=body)
        valid = [m for m in messages if m.transaction_id]
        outcome = Outcome(
            expected_ids={m.transaction_id for m in valid if m.transaction_id},
            deleted_ids=set(),
            expected_rejections={m.body: m.expected_error for m in messages if m.expected_error},
            expected_file_rows=file_rows,
        )
        console.print(f"sent {len(valid)} valid and {len(outcome.expected_rejections)} invalid messages, 1 raw file")
        api = ApiClient(settings.api_url, stack.analyst_token())
        orchestrator = HeadlessDagster(instance)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            orchestrator.tick()
            if not outcome.api_changes_done and all(api.get(i).status == 200 for i in sorted(outcome.expected_ids)[:2]):
                outcome.api_changes_done = _update_and_delete(api, outcome, console)
            outcome.dlq = queues.peek(settings, settings.dead_letter_queue)
            outcome.file_rows = len(_ids(settings, "SELECT transaction_id FROM transaction_files"))
            if orchestrator.parity is not None:  # a change batch reached transactions_current
                outcome.view_ids = _ids(settings, "SELECT transaction_id FROM transactions_current")
                if outcome.api_changes_done and outcome.all_in_view:  # the full proof, as the hourly schedule
                    outcome.parity = orchestrator.refresh_views()
            if outcome.passed:
                break
            time.sleep(1)
        _report(console, settings, outcome)
        return outcome.passed


def _update_and_delete(api: ApiClient, outcome: Outcome, console: Console) -> bool:
    to_update, to_delete = sorted(outcome.expected_ids)[:2]
    current = api.get(to_update).body
    updated = api.update(to_update, {**current, "status": "reversed"})
    deleted = api.delete(to_delete)
    console.print(
        f"API: PUT {to_update} -> {updated.status} (version {updated.body.get('version')}), "
        f"DELETE {to_delete} -> {deleted.status}"
    )
    outcome.expected_ids.discard(to_delete)
    outcome.deleted_ids.add(to_delete)
    return updated.status == 200 and deleted.status == 204


def _report(console: Console, settings: Settings, outcome: Outcome) -> None:
    counts = Table(title="Where every record went")
    counts.add_column("check")
    counts.add_column("expected", justify="right")
    counts.add_column("found", justify="right")
    counts.add_column("ok")
    rows = [
        (
            "valid messages in transactions_current",
            len(outcome.expected_ids),
            len(outcome.expected_ids & outcome.view_ids),
            outcome.expected_ids <= outcome.view_ids,
        ),
        (
            "deleted transactions absent from the view",
            len(outcome.deleted_ids),
            len(outcome.deleted_ids - outcome.view_ids),
            not (outcome.deleted_ids & outcome.view_ids),
        ),
        (
            "invalid messages in the DLQ with their reason",
            len(outcome.expected_rejections),
            sum(1 for b in outcome.expected_rejections if b in outcome.dlq),
            outcome.all_in_dlq,
        ),
        (
            "raw-file rows in transaction_files",
            outcome.expected_file_rows,
            outcome.file_rows,
            outcome.file_rows >= outcome.expected_file_rows,
        ),
    ]
    for name, expected, found, ok in rows:
        counts.add_row(name, str(expected), str(found), "[green]yes[/]" if ok else "[red]no[/]")
    console.print(counts)
    reasons = Table(title="Dead-letter queue")
    for column in ("error_code", "source_system", "error_detail"):
        reasons.add_column(column)
    for attributes in outcome.dlq.values():
        reasons.add_row(
            attributes.get("error_code", ""),
            attributes.get("source_system", ""),
            attributes.get("error_detail", "")[:90],
        )
    console.print(reasons)
    sample = query_engine(settings).query(
        "SELECT transaction_id, source_system, account_id, amount, currency, status, version "
        "FROM transactions_current ORDER BY transaction_id LIMIT 8"
    )
    view = Table(title="transactions_current (sample)")
    for name in sample.column_names:
        view.add_column(name)
    for row in sample.to_pylist():
        view.add_row(*(str(v) for v in row.values()))
    console.print(view)
    parity = outcome.parity
    if parity is None:
        console.print("[red]PARITY: not evaluated - the lake never caught up before the deadline[/]")
    elif parity["passed"]:
        console.print(
            f"[green]PARITY OK[/]: DynamoDB {parity['dynamodb_count']} = lake {parity['lake_count']}, "
            f"checksum {parity['lake_checksum'][:16]}"
        )
    else:
        console.print(
            f"[red]PARITY FAILED[/]: DynamoDB {parity['dynamodb_count']} vs lake {parity['lake_count']}; "
            f"missing {parity['missing_in_lake']}, extra {parity['extra_in_lake']}, "
            f"version mismatch {parity['version_mismatch']}"
        )
