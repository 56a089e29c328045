"""Source stage: SQS -> source_validator -> Data API -> DynamoDB, and rejections -> DLQ with reason."""

from __future__ import annotations

import json
import random

import pytest

from tests.conftest import wait_for
from tests.integration.bad_messages import BAD_MESSAGES
from tests.integration.helpers import dlq_messages, until_in_view
from txdagster.lake import aws
from txdagster.local import queues, traffic

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("source", ["payments", "crm", "trading"])
def test_a_valid_message_of_each_source_reaches_dynamodb_and_the_view(source, settings, table, orchestrator):
    message = traffic.valid_message(source, random.Random(source))
    traffic.send(settings, [message])
    item = wait_for(
        lambda: table.get_item(Key={"transaction_id": message.transaction_id}).get("Item"),
        what=f"{message.transaction_id} in DynamoDB",
    )
    assert item["source_system"] == source
    assert item["version"] == 1
    rows = until_in_view(settings, orchestrator, lambda r: message.transaction_id in r, "row in transactions_current")
    row = rows[message.transaction_id]
    assert row["amount"] == item["amount"]
    assert row["currency"] == item["currency"]
    assert row["source_system"] == source


def test_payments_amount_in_minor_units_is_stored_as_an_exact_decimal(settings, table):
    message = traffic.valid_message("payments", random.Random(5), ref="minor-units")
    body = json.loads(message.body)
    body["payload"].update(amount_minor=1999, currency="kwd")
    traffic.send(settings, [traffic.Message("payments", message.transaction_id, json.dumps(body))])
    item = wait_for(lambda: table.get_item(Key={"transaction_id": "payments:minor-units"}).get("Item"))
    assert str(item["amount"]) == "1.999"
    assert item["currency"] == "KWD"


@pytest.mark.parametrize("index", range(4))
def test_an_invalid_message_lands_in_the_dlq_with_its_reason(index, settings):
    message = traffic.invalid_messages(random.Random(100 + index))[index]
    traffic.send(settings, [message])
    found = wait_for(lambda: dlq_messages(settings).get(message.body), what="the message in the DLQ")
    assert found["error_code"] == message.expected_error
    assert found["error_detail"]
    assert found["source_system"] == message.source_system


def test_a_rejection_raises_the_rejected_messages_metric(settings):
    traffic.send(settings, [traffic.invalid_messages(random.Random(9))[0]])
    cloudwatch = aws.client("cloudwatch", settings)

    def rejected_metrics():
        metrics = cloudwatch.list_metrics(Namespace=settings.metrics_namespace, MetricName="RejectedMessages")
        return [m for m in metrics["Metrics"] if {"Name": "error_code", "Value": "SCHEMA_MISMATCH"} in m["Dimensions"]]

    assert wait_for(rejected_metrics, what="RejectedMessages metric")


def test_a_rejection_publishes_an_sns_alert(settings):
    sqs = aws.client("sqs", settings)
    sns = aws.client("sns", settings)
    url = sqs.create_queue(QueueName="alert-probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=settings.alerts_topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    message = traffic.invalid_messages(random.Random(11))[2]
    traffic.send(settings, [message])

    def alerts():
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [json.loads(m["Body"]) for m in received if "UNKNOWN_SCHEMA" in m["Body"]]

    alert = wait_for(alerts, what="an SNS alert")[0]
    assert alert["error_code"] == "UNKNOWN_SCHEMA"
    assert alert["source_system"] == "trading"


def test_when_the_api_is_unreachable_the_message_is_retried_then_redriven_to_the_dlq(settings, table):
    from tests.integration.helpers import function_environment
    from txdagster.local.emulator import free_port

    message = traffic.valid_message("crm", random.Random(77), ref="poison")
    with function_environment(settings, "source-validator", TXD_API_URL=f"http://127.0.0.1:{free_port()}/v1"):
        traffic.send(settings, [message])  # nothing listens at that API URL
        [attributes] = wait_for(
            lambda: [a for body, a in dlq_messages(settings).items() if body == message.body],
            timeout=90,
            what="the redrive to the DLQ",
        )
    assert "error_code" not in attributes  # a poison message: SQS moved it, no verdict was reached
    assert "Item" not in table.get_item(Key={"transaction_id": message.transaction_id})


def test_every_bad_message_of_the_catalogue_lands_in_the_dlq_once_with_its_code_and_none_is_stored(settings, table):
    assert len(BAD_MESSAGES) >= 40
    bodies = {body for body, _ in BAD_MESSAGES.values()}
    assert len(bodies) == len(BAD_MESSAGES)  # each case is a message of its own
    traffic.send(settings, [traffic.Message("catalogue", None, body) for body in bodies])

    def all_judged():
        found = queues.peek_all(settings, settings.dead_letter_queue)
        mine = [(body, attributes) for body, attributes in found if body in bodies]
        return mine if {body for body, _ in mine} == bodies else None

    judged = wait_for(all_judged, timeout=120, what="every catalogue message in the DLQ")
    assert len(judged) == len(bodies)  # once each: nothing lost, nothing doubled
    verdicts = dict(judged)
    wrong = {
        case: verdicts[body].get("error_code")
        for case, (body, code) in BAD_MESSAGES.items()
        if verdicts[body].get("error_code") != code or not verdicts[body].get("error_detail")
    }
    assert wrong == {}, wrong
    for ref in ("cat-epoch0", "cat-2999", "cat-xyz", "cat-huge", "cat-tags", "cat ref"):
        for source in ("payments", "crm", "trading"):
            assert "Item" not in table.get_item(Key={"transaction_id": f"{source}:{ref}"})


def test_dead_letters_are_listed_by_code_and_redriven_after_the_fix(settings, table, capsys, monkeypatch):
    from tests.integration.helpers import dlq_messages
    from txdagster import cli

    early = json.loads(traffic.trading_message(random.Random(7), "early-v7").body)
    early["schema_version"] = 7  # a version the source ships before the registry has it
    broken = "{broken json for the redrive test"
    traffic.send(
        settings,
        [traffic.Message("trading", "trading:early-v7", json.dumps(early)), traffic.Message("crm", None, broken)],
    )
    wait_for(lambda: {json.dumps(early), broken} <= set(dlq_messages(settings)), what="both in the DLQ")

    capsys.readouterr()
    assert cli.main(["dlq", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["UNKNOWN_SCHEMA"]["count"] >= 1 and listed["MALFORMED_JSON"]["count"] >= 1
    samples = listed["UNKNOWN_SCHEMA"]["samples"]  # the first few of the code: other tests' letters are there too
    assert samples and all("no active schema registered" in s["detail"] for s in samples)

    registry = aws.resource("dynamodb", settings).Table(settings.registry_table)
    v1 = registry.get_item(Key={"subject": "trading", "version": 1})["Item"]
    registry.put_item(Item={**v1, "version": 7})  # the fix: version 7 registered
    assert cli.main(["redrive", "--code", "UNKNOWN_SCHEMA"]) == 0

    stored = wait_for(
        lambda: table.get_item(Key={"transaction_id": "trading:early-v7"}).get("Item"),
        what="the redriven message stored",
    )
    assert stored["source_system"] == "trading"
    assert broken in dlq_messages(settings)  # another code: left where it was


def test_a_source_schema_evolves_only_compatibly_and_a_new_version_is_used_at_once(settings, table, monkeypatch):
    import copy
    import dataclasses
    import re

    from txdagster.contract import sources
    from txdagster.ops import schema_registry as registry

    original, crm = sources.SOURCE_SCHEMAS, sources.CRM_V1

    def contract(*extra, edited_crm=None):
        listed = tuple(edited_crm if s is crm and edited_crm else s for s in original)
        monkeypatch.setattr(sources, "SOURCE_SCHEMAS", (*listed, *extra))

    breaking = copy.deepcopy(crm.json_schema)
    breaking["required"] = [*breaking["required"], "tags"]
    contract(dataclasses.replace(crm, version=2, json_schema=breaking))
    with pytest.raises(registry.IncompatibleSchema, match=re.escape("crm v2 is not compatible with v1: payload.tags")):
        registry.publish_schemas(settings)
    registry_table = aws.resource("dynamodb", settings).Table(settings.registry_table)
    assert "Item" not in registry_table.get_item(Key={"subject": "crm", "version": 2})  # nothing published

    edited = copy.deepcopy(crm.json_schema)
    edited["properties"]["value"]["maxLength"] = 10
    contract(edited_crm=dataclasses.replace(crm, json_schema=edited))
    with pytest.raises(registry.IncompatibleSchema, match="crm v1 is published with other content"):
        registry.publish_schemas(settings)

    compatible = copy.deepcopy(crm.json_schema)
    compatible["properties"]["note"] = {"type": "string"}
    contract(dataclasses.replace(crm, version=2, json_schema=compatible))
    registry.publish_schemas(settings)
    body = json.loads(traffic.crm_message(random.Random(2), "evolved-v2").body)
    body.update(schema_version=2)
    body["payload"]["note"] = "a field only v2 knows"
    traffic.send(settings, [traffic.Message("crm", "crm:evolved-v2", json.dumps(body))])
    wait_for(lambda: table.get_item(Key={"transaction_id": "crm:evolved-v2"}).get("Item"), what="a v2 message stored")


def test_a_deprecated_version_is_still_accepted_and_counted_by_source_and_version(settings, table, monkeypatch):
    import dataclasses

    from txdagster.contract import sources
    from txdagster.ops import schema_registry as registry

    deprecated = dataclasses.replace(sources.PAYMENTS_V1, version=2, deprecated=True)
    monkeypatch.setattr(sources, "SOURCE_SCHEMAS", (*sources.SOURCE_SCHEMAS, deprecated))
    registry.publish_schemas(settings)
    body = json.loads(traffic.payments_message(random.Random(3), "deprecated-v2").body)
    body["schema_version"] = 2
    traffic.send(settings, [traffic.Message("payments", "payments:deprecated-v2", json.dumps(body))])
    wait_for(lambda: table.get_item(Key={"transaction_id": "payments:deprecated-v2"}).get("Item"), what="stored")

    cloudwatch = aws.client("cloudwatch", settings)

    def counted():
        listed = cloudwatch.list_metrics(Namespace=settings.metrics_namespace, MetricName="DeprecatedSchemaMessages")
        return [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in listed["Metrics"]]

    found = wait_for(lambda: [d for d in counted() if d.get("source_system") == "payments"], what="the metric")
    assert found[0]["schema_version"] == "2"


def test_the_registry_asset_publishes_the_contract(settings):
    import dagster as dg

    from txdagster.defs.contract.assets import schema_registry
    from txdagster.defs.resources import lake_resources

    result = dg.materialize([schema_registry], resources=lake_resources())
    metadata = result.asset_materializations_for_node("schema_registry")[0].metadata
    assert metadata["versions_published"].value >= 4
    assert "canonical v1 ACTIVE" in metadata["versions"].value
    registry_table = aws.resource("dynamodb", settings).Table(settings.registry_table)
    assert registry_table.get_item(Key={"subject": "crm", "version": 1})["Item"]["status"] == "ACTIVE"


def test_a_source_update_becomes_the_next_version_and_a_stale_one_is_a_dead_letter_with_its_reason(
    settings, table, orchestrator
):
    first = json.loads(traffic.payments_message(random.Random(11), "lifecycle-1").body)
    at = 1_764_230_000_000

    def state(payload_state: str, at_ms: int) -> traffic.Message:
        body = {**first, "payload": {**first["payload"], "state": payload_state, "created_at_ms": at_ms}}
        return traffic.Message("payments", "payments:lifecycle-1", json.dumps(body))

    def stored_at(version: int) -> dict:
        return wait_for(
            lambda: (
                (i := table.get_item(Key={"transaction_id": "payments:lifecycle-1"}).get("Item"))
                and i["version"] == version
                and i
            ),
            what=f"version {version}",
        )

    traffic.send(settings, [state("authorized", at)])
    stored_at(1)
    traffic.send(settings, [state("captured", at + 60_000)])  # the payment is captured a minute later
    assert stored_at(2)["status"] == "settled"
    traffic.send(settings, [state("refunded", at + 60_000)])  # and refunded in the same millisecond
    assert stored_at(3)["status"] == "reversed"  # the lifecycle orders what the clock cannot

    older, same_time = state("voided", at - 1_000_000), state("captured", at + 60_000)  # delivered late
    traffic.send(settings, [older, same_time])
    dead = wait_for(
        lambda: (d := dlq_messages(settings)).get(older.body) and d.get(same_time.body) and d,
        what="both stale states in the DLQ",
    )
    assert dead[older.body]["error_code"] == dead[same_time.body]["error_code"] == "STALE_UPDATE"
    assert "is older" in dead[older.body]["error_detail"] and "status reversed" in dead[older.body]["error_detail"]
    assert "same event_time, and its status settled" in dead[same_time.body]["error_detail"]
    assert table.get_item(Key={"transaction_id": "payments:lifecycle-1"})["Item"]["version"] == 3
    cloudwatch = aws.client("cloudwatch", settings)
    assert wait_for(  # shipped after the invocation, as Lambda's metrics are
        lambda: cloudwatch.list_metrics(Namespace=settings.metrics_namespace, MetricName="StaleUpdates")["Metrics"],
        what="the StaleUpdates metric",
    )
    rows = until_in_view(
        settings,
        orchestrator,
        lambda r: r.get("payments:lifecycle-1", {}).get("version") == 3,
        "version 3 in transactions_current",
    )
    assert rows["payments:lifecycle-1"]["status"] == "reversed"


def test_a_batch_holding_several_states_of_several_transactions_applies_each_transactions_states_in_order(
    settings, table
):
    """The validator stores a batch's transactions concurrently, never one transaction's states."""
    at = 1_764_240_000_000
    ids = [f"in-order-{n}" for n in range(3)]
    firsts = {ref: json.loads(traffic.payments_message(random.Random(n), ref).body) for n, ref in enumerate(ids)}

    def state(ref: str, payload_state: str, at_ms: int) -> traffic.Message:
        first = firsts[ref]
        body = {**first, "payload": {**first["payload"], "state": payload_state, "created_at_ms": at_ms}}
        return traffic.Message("payments", f"payments:{ref}", json.dumps(body))

    lifecycle = [("authorized", at), ("captured", at + 60_000), ("refunded", at + 120_000)]
    batch = [state(ref, name, when) for name, when in lifecycle for ref in ids]  # a1 b1 c1 a2 b2 c2 a3 b3 c3
    traffic.send(settings, batch)

    def all_at_version_3():
        items = [table.get_item(Key={"transaction_id": f"payments:{ref}"}).get("Item") for ref in ids]
        return all(i and i["version"] == 3 for i in items) and items

    items = wait_for(all_at_version_3, what="every transaction at its third state")
    assert {i["status"] for i in items} == {"reversed"}  # refunded: the last state of each
    dead = dlq_messages(settings)
    assert not [m for m in batch if m.body in dead]
