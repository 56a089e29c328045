"""What the embedded AWS answers where ``local/moto_patches.py`` changed how moto computes it: a queue's
attributes computed as they are read, and stream records sent as DynamoDB JSON without moto's
serializer. The answers must stay AWS's."""

from __future__ import annotations

import uuid
from datetime import datetime

from txdagster.lake import aws


def test_a_queues_attributes_count_its_messages_and_a_fifo_queue_deduplicates_by_content(settings):
    sqs = aws.client("sqs", settings)
    name = f"txd-attributes-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    fifo = sqs.create_queue(
        QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)

    every = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (every["ApproximateNumberOfMessages"], every["ApproximateNumberOfMessagesNotVisible"]) == ("2", "1")
    assert "FifoQueue" not in every and every["SqsManagedSseEnabled"] == "true"
    named = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "QueueArn"])
    assert named["Attributes"] == {"ApproximateNumberOfMessages": "2", "QueueArn": every["QueueArn"]}
    deduplicated = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["All"])["Attributes"]
    assert deduplicated["ApproximateNumberOfMessages"] == "1"  # three sends of one body: one message
    assert (deduplicated["FifoQueue"], deduplicated["ContentBasedDeduplication"]) == ("true", "true")
    for queue in (url, fifo):
        sqs.delete_queue(QueueUrl=queue)


def test_stream_records_carry_every_attribute_type_their_time_and_their_order(settings):
    dynamodb, streams = aws.client("dynamodb", settings), aws.client("dynamodbstreams", settings)
    name = f"txd-records-{uuid.uuid4().hex[:8]}"
    arn = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    item = {
        "k": {"S": "t-1"},
        "amount": {"N": "12.50"},
        "raw": {"B": b"\x00\xff"},
        "tags": {"SS": ["a", "b"]},
        "nested": {"M": {"list": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}}},
    }
    dynamodb.put_item(TableName=name, Item=item)
    dynamodb.update_item(
        TableName=name,
        Key={"k": {"S": "t-1"}},
        UpdateExpression="SET amount = :a",
        ExpressionAttributeValues={":a": {"N": "3"}},
    )
    dynamodb.delete_item(TableName=name, Key={"k": {"S": "t-1"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")

    answer = streams.get_records(ShardIterator=iterator["ShardIterator"])

    records = answer["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[0]["dynamodb"]["NewImage"] == item
    assert records[1]["dynamodb"]["OldImage"]["amount"] == {"N": "12.50"}
    assert records[1]["dynamodb"]["NewImage"]["amount"] == {"N": "3"}
    assert records[2]["dynamodb"]["Keys"] == {"k": {"S": "t-1"}} and "NewImage" not in records[2]["dynamodb"]
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], datetime) for r in records)
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and answer["NextShardIterator"]
    dynamodb.delete_table(TableName=name)


def test_item_reads_answer_every_attribute_type_and_leave_out_what_is_not_there(settings):
    dynamodb = aws.client("dynamodb", settings)
    name = f"txd-items-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {
        "k": {"S": "t-1"},
        "amount": {"N": "12.50"},
        "raw": {"B": b"\x00\xff"},
        "nested": {"M": {"list": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}}},
    }
    dynamodb.put_item(TableName=name, Item=item)

    got = dynamodb.get_item(TableName=name, Key={"k": {"S": "t-1"}}, ReturnConsumedCapacity="TOTAL")
    missing = dynamodb.get_item(TableName=name, Key={"k": {"S": "none"}})
    batch = dynamodb.batch_get_item(
        RequestItems={name: {"Keys": [{"k": {"S": "t-1"}}, {"k": {"S": "none"}}], "ProjectionExpression": "k, amount"}}
    )
    page = dynamodb.query(
        TableName=name, KeyConditionExpression="k = :k", ExpressionAttributeValues={":k": {"S": "t-1"}}
    )

    assert got["Item"] == item and isinstance(got["ConsumedCapacity"]["CapacityUnits"], float)
    assert "Item" not in missing
    assert batch["Responses"][name] == [{"k": {"S": "t-1"}, "amount": {"N": "12.50"}}]
    assert (page["Items"], page["Count"]) == ([item], 1) and "LastEvaluatedKey" not in page
    dynamodb.delete_table(TableName=name)
