"""The stream mapping as the template declares it: retries, then the CDC dead-letter queue, then a
redrive that replays the changes into the lake."""

from __future__ import annotations

import json

import pytest

from tests.conftest import wait_for
from tests.integration.helpers import function_environment, until_in_view
from txdagster.local import queues, template

pytestmark = pytest.mark.integration


def _transaction(transaction_id: str) -> dict:
    return {
        "transaction_id": transaction_id,
        "source_system": "payments",
        "account_id": "ACC-CDC",
        "amount": "9.99",
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "settled",
        "event_time": "2026-11-27T09:00:00Z",
        "ingested_at": "2026-11-27T09:00:01Z",
    }


def test_a_batch_that_keeps_failing_goes_to_the_cdc_dlq_after_its_retries_and_a_redrive_replays_it(
    settings, api, orchestrator, monkeypatch, capsys
):
    from txdagster import cli

    retries = template.mapping_of("StreamExporterFunction").max_retries
    assert retries == 10  # as the template says
    # the stream is level first: a backlog of earlier tests' changes, batched with this one and bisected,
    # would reach the dead-letter queue beside it, and a part still retrying would land once the bucket is back
    assert api.create(_transaction("payments:cdc-before")).status == 201
    until_in_view(settings, orchestrator, lambda r: "payments:cdc-before" in r, "the stream level with the lake")
    with function_environment(settings, "stream-exporter", TXD_LAKE_BUCKET="no-such-bucket"):  # every write fails
        assert api.create(_transaction("payments:cdc-failing")).status == 201
        [(body, _)] = wait_for(
            lambda: queues.peek_all(settings, settings.cdc_dead_letter_queue) or None,
            timeout=90,
            what="the failure record in the CDC dead-letter queue",
        )
    letter = json.loads(body)
    assert letter["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert letter["requestContext"]["approximateInvokeCount"] == retries + 1
    assert letter["DDBStreamBatchInfo"]["batchSize"] == 1

    assert api.create(_transaction("payments:cdc-after")).status == 201  # the shard moved on
    rows = until_in_view(settings, orchestrator, lambda r: "payments:cdc-after" in r, "the next change in the view")
    assert "payments:cdc-failing" not in rows

    assert cli.main(["redrive", "--changes"]) == 0
    assert "1 change batches replayed" in " ".join(capsys.readouterr().out.split())
    rows = until_in_view(settings, orchestrator, lambda r: "payments:cdc-failing" in r, "the replayed change")
    assert rows["payments:cdc-failing"]["version"] == 1
    assert queues.peek_all(settings, settings.cdc_dead_letter_queue) == []
