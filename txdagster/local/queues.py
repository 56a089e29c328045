"""Look into a queue without consuming it: what the demo and the tests read the DLQ with."""

from __future__ import annotations

from txdagster.lake import aws
from txdagster.settings import Settings

PEEK_VISIBILITY_SECONDS = 30


def peek(settings: Settings, queue_name: str) -> dict[str, dict[str, str]]:
    """Body -> string message attributes of every visible message; each is made visible again after."""
    return dict(peek_all(settings, queue_name))


def peek_all(settings: Settings, queue_name: str) -> list[tuple[str, dict[str, str]]]:
    """(body, string message attributes) of every visible message, repeated bodies included."""
    sqs = aws.client("sqs", settings)
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    found: list[tuple[str, dict[str, str]]] = []
    handles: list[str] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=PEEK_VISIBILITY_SECONDS,  # so the next receive returns the next messages
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            found.append((message["Body"], {k: v["StringValue"] for k, v in attributes.items() if "StringValue" in v}))
            handles.append(message["ReceiptHandle"])
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ],
        )
    return found
