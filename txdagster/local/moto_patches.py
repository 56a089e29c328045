"""Hot spots of moto 5.2's server that the embedded stack does without, and one race; every answer
stays the same.

Measured with py-spy over the source stage's tests (a third of the suite's CPU went here):
- the server's dispatcher lists moto's package folder (some 200 ``stat`` calls) on every request to
  tell a service name from a host (``backends.list_of_moto_modules``): the folder does not change
  while the server runs, so it is listed once;
- ``ReceiveMessage`` checks each message it hands out against the queue's retention period by
  computing every attribute of the queue, the approximate counts included, which walk every message:
  a receive is quadratic in the queue's depth (a dead-letter queue of a few hundred messages costs
  tens of milliseconds per receive). It reads the one attribute instead;
- ``GetQueueAttributes`` with named attributes computes all of them twice per name: once is enough;
- ``DeleteMessage`` built each message's list of receipt handles twice over the whole queue; it looks
  once, from the head (and under the queue's lock: see the races below);
- SQS asks the clock through ``datetime`` (28 us a call) for each message whenever it counts a queue's
  messages, which ``SendMessage`` does (it reads every attribute for one): a send cost 53 ms with
  1,000 messages waiting, 0.9 ms with ``time.time``, the same value. A queue's attributes are now
  computed as they are read, so a send reads the one it needs and never counts the queue (a batch of
  ten cost 15 ms with a few hundred messages waiting);
- ``GetRecords`` answers through moto's shape-driven serializer, 1.75 ms a stream record, as much as
  the whole of a ``PutItem``: the records are JSON already and go out with moto's own DynamoDB JSON
  encoder, the same body. So do the answers of DynamoDB's item operations (``ITEM_ANSWERS``): a run's
  parity check reads its keys back 100 at a time, which took seconds of the server's CPU.

Starting: moto's EC2 models (which its CloudFormation imports) make three boto3 sessions when imported,
each reading botocore's endpoint data afresh (0.4 s a session): they share one.

Stream records are announced: the stack's stream poller (in the same process) waits for the next one
instead of asking every shard four times a second, which was two thirds of an idle stack's requests.

The race: moto's DynamoDB applies an ``UpdateItem`` that creates an item one SET at a time, while the
server answers other requests in other threads: a read saw an ingestion-ledger item holding its key
alone (DynamoDB's writes are atomic). Its item operations take one lock.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

_applied = False


class StreamRecords:
    """How many DynamoDB stream records moto has appended, and a wait for the next one."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.count = 0

    def added(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wake(self) -> None:
        """Wakes every waiter without a record (a poller that stops)."""
        with self._changed:
            self._changed.notify_all()

    def wait_past(self, seen: int, timeout: float) -> None:
        """Returns once a record was appended after ``seen`` (a ``count`` read before the last look),
        on ``wake`` or after ``timeout`` seconds."""
        with self._changed:
            if self.count == seen:
                self._changed.wait(timeout)


def announced() -> bool:
    """Whether this process's moto announces its stream records (``apply`` ran here)."""
    return _applied


#: Announced by the patched ``StreamShard.add`` once ``apply`` ran in this process.
STREAM_RECORDS = StreamRecords()


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto import backends
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    backends.list_of_moto_modules = functools.cache(lambda listing=backends.list_of_moto_modules: tuple(listing()))

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    original_get_queue_attributes = SQSBackend.get_queue_attributes

    def get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
        queue = self.get_queue(queue_name)
        known = {"All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES}
        if not attribute_names or "All" in attribute_names or not known.issuperset(attribute_names):
            # moto's answer or error; "All" is the queue's attributes, a dict for the serializer
            return dict(original_get_queue_attributes(self, queue_name, attribute_names))
        attributes = queue.attributes
        return {name: attributes[name] for name in attribute_names if attributes.get(name) is not None}

    _fast_sqs_clock()
    _one_pass_delete()
    _attributes_as_read()
    _stream_records_as_json()
    _item_answers_as_json()
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period
    SQSBackend.get_queue_attributes = get_queue_attributes
    _serialise_dynamodb_items()
    _announce_stream_records()
    _regions_from_one_session()
    _applied = True


#: The DynamoDB backend's item operations, each whole under one lock (``BatchGetItem`` reads through
#: ``get_item``); a read hands out copies, which the server serialises after the lock.
WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
READS = ("get_item", "query", "scan")


def _serialise_dynamodb_items() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def serialised(operation: Any, read: bool) -> Any:
        @functools.wraps(operation)
        def run(*args: Any, **kwargs: Any) -> Any:
            with lock:
                answer = operation(*args, **kwargs)
                return copy.deepcopy(answer) if read else answer

        return run

    for name in (*WRITES, *READS):
        setattr(DynamoDBBackend, name, serialised(getattr(DynamoDBBackend, name), name in READS))


def _announce_stream_records() -> None:
    from moto.dynamodb.models.table import StreamShard

    original_add = StreamShard.add

    @functools.wraps(original_add)
    def add(self: Any, old: Any, new: Any) -> None:
        original_add(self, old, new)
        STREAM_RECORDS.added()

    StreamShard.add = add


def _fast_sqs_clock() -> None:
    """moto's ``unix_time``: ``utcnow() - utcfromtimestamp(0)`` in seconds, which is ``time.time()``."""
    from moto.sqs import models

    original, original_millis = getattr(models, "unix_time"), getattr(models, "unix_time_millis")  # noqa: B009

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else original(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else original_millis(dt)

    setattr(models, "unix_time", unix_time)  # noqa: B010  (imported from moto.core.utils, not exported)
    setattr(models, "unix_time_millis", unix_time_millis)  # noqa: B010


def _one_pass_delete() -> None:
    """``DeleteMessage`` looks for the handle's message once, from the queue's head (where a consumer's
    messages are: the oldest), comparing handles instead of building a list of each message's handles
    twice over the whole queue; the queue without it is a new list, as moto makes it. moto made that list
    without the lock ``SendMessage`` appends under: a message sent while another was deleted could be
    left out of it, lost (the likely cause of one message of 60,000 missing after a run at 100 a second)."""
    from moto.sqs.exceptions import ReceiptHandleIsInvalid
    from moto.sqs.models import Queue

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:  # deleted before: as moto, no error
            return
        with self._messages_lock:  # SendMessage appends under it: else a message sent meanwhile was lost
            messages = self._messages
            for index, message in enumerate(messages):
                if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
                    self._messages = messages[:index] + messages[index + 1 :]
                    self.pending_messages.discard(message)
                    self.deleted_messages.update(message.all_receipt_handles)
                    return
        raise ReceiptHandleIsInvalid()

    Queue.delete_message = delete_message


class QueueAttributes(Mapping[str, Any]):
    """moto's ``Queue.attributes`` (the same names, order and values), each value computed when it is
    read: the approximate counts walk the whole queue."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        names = [*queue.BASE_ATTRIBUTES]  # Policy and RedrivePolicy among them
        names += queue.FIFO_ATTRIBUTES if queue.fifo_queue else []
        names += queue.KMS_ATTRIBUTES if queue.kms_master_key_id else []
        self._names = dict.fromkeys(names)

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names:
            raise KeyError(name)
        if name == "RedrivePolicy" and self._queue.redrive_policy:
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _attributes_as_read() -> None:
    from moto.sqs.models import Queue

    Queue.attributes = property(QueueAttributes)  # type: ignore[assignment]


def _stream_records_as_json() -> None:
    """``GetRecords``' answer in DynamoDB's JSON by moto's own encoder (``dynamo_json_dump``: a record's
    time as epoch seconds, binary values in base64), not through the shape-driven serializer."""
    from moto.dynamodb.models.utilities import dynamo_json_dump
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    def get_records(self: Any) -> str:
        limit = self._get_param("Limit")
        return dynamo_json_dump(self.backend.get_records(self._get_param("ShardIterator"), limit or 1000))

    setattr(DynamoDBStreamsHandler, "get_records", get_records)  # noqa: B010  (moto answers a str as the body)


#: DynamoDB operations whose answers (items, keys, counts, consumed capacity) go out as JSON directly.
ITEM_ANSWERS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "PutItem", "UpdateItem", "DeleteItem"})


def _as_serialized(value: Any) -> Any:
    """``value`` as the serializer shapes it: without the ``None`` members it leaves out (an attribute's
    NULL is ``{"NULL": True}``, never ``None``), capacity units as the doubles of their shape."""
    if isinstance(value, dict):
        return {
            key: float(member) if key.endswith("CapacityUnits") else _as_serialized(member)
            for key, member in value.items()
            if member is not None
        }
    if isinstance(value, list):
        return [_as_serialized(member) for member in value]
    return value


def _item_answers_as_json() -> None:
    """The successful answers of ``ITEM_ANSWERS`` in DynamoDB's JSON by moto's own encoder (binary values
    in base64), not through the shape-driven serializer; errors and other operations as moto answers."""
    from moto.dynamodb.models.utilities import DynamoJsonEncoder
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in ITEM_ANSWERS:
            return original(self, context)
        body = json.dumps(_as_serialized(self.result), cls=DynamoJsonEncoder)
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result


def _regions_from_one_session() -> None:
    """Imports moto's EC2 region list while ``boto3.Session()`` hands out one session."""
    import boto3

    real = boto3.Session
    shared = real()
    boto3.Session = lambda *args, **kwargs: shared if not (args or kwargs) else real(*args, **kwargs)  # type: ignore[misc]
    try:
        from moto.ec2.models import availability_zones_and_regions
    finally:
        boto3.Session = real
    setattr(availability_zones_and_regions, "Session", real)  # noqa: B010  (later calls: a session each)
