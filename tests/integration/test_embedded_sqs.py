"""The embedded SQS under a producer and a consumer at once, as the source stage drives it."""

from __future__ import annotations

import threading
import uuid

from txdagster.lake import aws


def test_no_message_is_lost_while_messages_are_sent_and_deleted_at_once(settings):
    sqs = aws.client("sqs", settings)
    url = sqs.create_queue(QueueName=f"txd-race-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sent = [f"m{n}" for n in range(1500)]
    received: set[str] = set()
    sending = threading.Event()
    sending.set()

    def consume() -> None:
        consumer = aws.client("sqs", settings)
        while sending.is_set() or len(received) < len(sent):
            found = consumer.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            messages = found.get("Messages", [])
            if not messages and not sending.is_set():
                return
            received.update(m["Body"] for m in messages)
            if messages:
                consumer.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )

    consumer = threading.Thread(target=consume)
    consumer.start()
    for start in range(0, len(sent), 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(sent[start : start + 10])],
        )
    sending.clear()
    consumer.join(timeout=120)
    assert not consumer.is_alive()
    assert received == set(sent)
    sqs.delete_queue(QueueUrl=url)
