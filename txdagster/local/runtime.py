"""Run the Lambda handlers in-process from their real event sources, as AWS would.

- SQS: batch size, visibility timeout, partial batch responses; the queue's redrive policy moves
  poison messages to the DLQ (moto honours it on receive).
- DynamoDB Streams: every shard from TRIM_HORIZON; a failed batch is retried, never skipped.
- API Gateway REST: an HTTP server that runs the TOKEN authorizer (with its result cache) and then
  the proxy integration, answering with the proxy response.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lambdas.common.config import invocation_environment
from lambdas.stream_exporter import batch as stream_batch
from txdagster.lake import aws
from txdagster.local import events, functions, moto_patches, template
from txdagster.local.logs import captured_output, install, ship_later
from txdagster.settings import Settings

log = logging.getLogger("txdagster.local.runtime")


class Function:
    """One deployed function, run as its configuration in the embedded stack says at each invocation
    (handler, timeout, its own environment); stdout is shipped to CloudWatch like Lambda does."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = f"{settings.stack_name}-{name}"
        install()  # before the import: Powertools' log handler keeps the stdout it sees then
        functions.deployed(settings, self.name).entry_point()  # imported now: no cold start in a poll

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.settings.region}:{events.ACCOUNT}:function:{self.name}"

    def invoke(self, event: dict[str, Any]) -> Any:
        config = functions.deployed(self.settings, self.name)
        context = events.LambdaContext(self.name, memory_limit_in_mb=config.memory, timeout_seconds=config.timeout)
        with captured_output() as output:
            try:
                with invocation_environment(config.environment):
                    return config.entry_point()(event, context)
            finally:
                ship_later(self.settings, self.name, output.getvalue(), _SHIP_FAILURES)


def _one_line(error: BaseException) -> str:
    """An exception in one line: its first line only, since some (Powertools' BatchProcessingError)
    carry their records' tracebacks in their text; a batch error names its first record's failure."""
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), "")[:300]
    said = f"{type(error).__name__}: {first}" if first else type(error).__name__
    children = getattr(error, "child_exceptions", None) or []
    if children and children[0][1] is not None:
        said += f" (the first record: {_one_line(children[0][1])})"
    return said


def _current_error() -> str:
    """The exception being handled, in one line."""
    error = sys.exc_info()[1]
    return "no exception" if error is None else _one_line(error)


class _OncePerKind:
    """Logs a failure the first time its kind (what failed, and the exception's type) comes up, in one
    line; repeats go to DEBUG with their traceback."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, what: str) -> None:
        kind = (what, type(sys.exc_info()[1]).__name__)
        if kind not in self.seen:
            self.seen.add(kind)
            log.error("%s (%s); repeats are not logged", what, _current_error())
        log.debug("%s", traceback.format_exc())


_SHIP_FAILURES = _OncePerKind()


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that reports a request's failure in one line per kind (socketserver
    prints a traceback for each). Its listen backlog is werkzeug's (socketserver's is 5: a sixth caller
    connecting at once waits for a SYN retry, a second or more)."""

    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._report = _OncePerKind()

    def handle_error(self, request: Any, client_address: Any) -> None:
        self._report(f"a request to {self.server_address[1]} failed")


class _Loop(threading.Thread):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.stopping = threading.Event()
        self.failures = 0  # in a row

    def stop(self) -> None:
        self.stopping.set()

    def failed(self, what: str) -> None:
        """Log the first failure of a streak in one line (the traceback at DEBUG); the next ones are only
        counted until one succeeds (the stack's watchdog says it once when the embedded AWS server itself
        is gone)."""
        self.failures += 1
        if self.failures == 1:
            log.error("%s (%s); retrying, and not logging repeats until it recovers", what, _current_error())
            log.debug("%s", traceback.format_exc())

    def succeeded(self) -> None:
        if self.failures:
            log.warning("%s recovered after %d failed attempts", self.name, self.failures)
        self.failures = 0


class SqsPoller(_Loop):
    def __init__(self, settings: Settings, queue_name: str, function: Function, batch_size: int = 10) -> None:
        super().__init__(f"sqs-poller-{queue_name}")
        self.sqs = aws.client("sqs", settings)
        self.settings = settings
        self.queue_url = self.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]
        self.visibility_timeout = int(attributes.get("VisibilityTimeout", 30))
        self.function = function
        self.batch_size = batch_size
        self.invocations = 0
        self._report = _OncePerKind()

    def poll_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = events.sqs_event(messages, self.queue_arn, self.settings.region)
        try:
            response = self.function.invoke(event) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        except Exception:  # the whole batch failed: every message is retried after its timeout
            self._report(f"{self.function.name} failed on a whole batch")
            failed = {m["MessageId"] for m in messages}
        self.invocations += 1
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.poll_once()
                self.succeeded()
            except Exception:
                self.failed(f"{self.name} failed")
                self.stopping.wait(1)


class StreamPoller(_Loop):
    """A DynamoDB Streams mapping as Lambda runs one: a failed batch is bisected (when the mapping says
    so) and retried up to its retry count; then where it lies in the stream goes to the on-failure
    queue and the shard moves on. Without a retry count it is retried until it succeeds."""

    DISCOVERY_SECONDS = 5.0  # new shards (a split, a re-created stream) are looked for this often
    RETRY_BACKOFF_SECONDS = 0.2  # times the attempt, at most 1 s (Lambda backs off longer)
    POLL_SECONDS = 0.25  # Lambda polls a shard about four times a second
    IDLE_SECONDS = DISCOVERY_SECONDS  # the embedded server announces records: no poll before then

    def __init__(
        self,
        settings: Settings,
        stream_arn: str,
        function: Function,
        mapping: template.MappingSettings,
        on_failure_queue: str | None = None,
    ) -> None:
        super().__init__("dynamodb-stream-poller")
        self.settings = settings
        self.streams = aws.client("dynamodbstreams", settings)
        self.stream_arn = stream_arn
        self.function = function
        self.mapping = mapping
        self.on_failure_url = (
            aws.client("sqs", settings).get_queue_url(QueueName=on_failure_queue)["QueueUrl"]
            if on_failure_queue
            else None
        )
        self.iterators: dict[str, str] = {}
        self.discovered_at = -self.DISCOVERY_SECONDS

    def _discover_shards(self) -> None:
        if self.iterators and time.monotonic() - self.discovered_at < self.DISCOVERY_SECONDS:
            return
        self.discovered_at = time.monotonic()
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def poll_once(self) -> int:
        self._discover_shards()
        delivered = 0
        for shard_id, iterator in list(self.iterators.items()):
            records, following = self._gather(iterator)
            if records:
                self._deliver(shard_id, records)
                delivered += len(records)
            if following:  # moved on only once the records are delivered (else they are read again)
                self.iterators[shard_id] = following
        return delivered

    def _gather(self, iterator: str) -> tuple[list[dict[str, Any]], str | None]:
        """Records of a shard as the mapping batches them: until the batch size is reached or the
        batching window has passed since the first record came."""
        records: list[dict[str, Any]] = []
        first_at = 0.0
        while True:
            result = self.streams.get_records(ShardIterator=iterator, Limit=self.mapping.batch_size - len(records))
            if result.get("Records") and not records:
                first_at = time.monotonic()
            records.extend(result.get("Records", []))
            iterator = result.get("NextShardIterator") or iterator
            full = len(records) >= self.mapping.batch_size
            if not records or full or time.monotonic() - first_at >= self.mapping.batching_window:
                return records, result.get("NextShardIterator")
            if self.stopping.wait(self.POLL_SECONDS):
                return [], None

    def _deliver(self, shard_id: str, records: list[dict[str, Any]], invocations: int = 0) -> None:
        """Invoke until it succeeds, as the mapping says: a failed batch is split in two (bisect) or
        retried; a split counts as a retry of its records. Raises only when the on-failure queue cannot
        be reached, or on stop: the shard then does not move on, and the batch is read again."""
        while True:
            invocations += 1
            try:
                self.function.invoke(stream_batch.stream_event(records, self.stream_arn, self.settings.region))
                return
            except Exception:
                self.failed(f"{self.function.name} failed on {len(records)} change records")
            if self.mapping.max_retries is not None and invocations > self.mapping.max_retries:
                self._give_up(shard_id, records, invocations)
                return
            if self.mapping.bisect and len(records) > 1:
                half = len(records) // 2
                self._deliver(shard_id, records[:half], invocations)
                self._deliver(shard_id, records[half:], invocations)
                return
            if self.stopping.wait(min(self.RETRY_BACKOFF_SECONDS * invocations, 1)):
                raise RuntimeError("stopping")

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], invocations: int) -> None:
        if self.on_failure_url is None:  # as Lambda does without a destination: the records are skipped
            log.error(
                "%s: %d change records discarded after %d invocations (no on-failure destination)",
                self.function.name,
                len(records),
                invocations,
            )
            return
        record = events.stream_failure_record(records, shard_id, self.stream_arn, self.function.arn, invocations)
        aws.client("sqs", self.settings).send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(record))
        log.error(
            "%s: %d change records sent to the on-failure queue after %d invocations",
            self.function.name,
            len(records),
            invocations,
        )

    def stop(self) -> None:
        super().stop()
        moto_patches.STREAM_RECORDS.wake()

    def _idle(self, seen: int) -> None:
        """Waits for the next stream record when the embedded server announces them (it runs in this
        process), else for the next poll; at most ``IDLE_SECONDS`` either way (a look for new shards)."""
        if moto_patches.announced():
            moto_patches.STREAM_RECORDS.wait_past(seen, self.IDLE_SECONDS)
        else:
            self.stopping.wait(self.POLL_SECONDS)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                seen = moto_patches.STREAM_RECORDS.count  # before the look: a record during it is not missed
                delivered = self.poll_once()
                self.succeeded()
                if not delivered and not self.stopping.is_set():
                    self._idle(seen)
            except Exception:  # the iterator did not advance: the same batch is retried
                self.failed("a stream batch failed")
                self.stopping.wait(1)


def _match_resource(path: str) -> tuple[str, dict[str, str]] | None:
    for resource in template.api_resources():  # as infra/template.yaml declares them (method ANY)
        pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", resource) + "/?$"
        match = re.match(pattern, path)
        if match:
            return resource, match.groupdict()
    return None


class ApiGateway:
    """A local REST API stage: ``http://127.0.0.1:<port>/<stage>/...``."""

    def __init__(self, settings: Settings, authorizer: Function, integration: Function, stage: str = "v1") -> None:
        self.settings = settings
        self.authorizer = authorizer
        self.integration = integration
        self.stage = stage
        self.api_id = "local"
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._report = _OncePerKind()
        gateway = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = gateway.handle(self.command, self.path, dict(self.headers), body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            # the template's methods are ANY: API Gateway hands every method to the function
            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):  # TRACE, CONNECT or any token: the function answers 405 + Allow
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("api %s", format % args)

        self.server = QuietHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{stage}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-gateway", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _authorize(self, token: str, method_arn: str) -> dict[str, Any]:
        hit = self._cache.get(token)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        result = self.authorizer.invoke({"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn})
        lifetime = float(result.get("context", {}).get("expires_at", 0)) - time.time()  # never past the token
        self._cache[token] = (time.monotonic() + min(template.authorizer_ttl_seconds(), max(lifetime, 0)), result)
        return result

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        prefix = f"/{self.stage}"
        path = raw_path.split("?", 1)[0]
        if not path.startswith(prefix):
            return events.problem(403, "Missing Authentication Token")
        matched = _match_resource(path[len(prefix) :] or "/")
        if matched is None:
            return events.problem(403, "Missing Authentication Token")
        resource, path_parameters = matched
        path_parameters = {name: urllib.parse.unquote(value) for name, value in path_parameters.items()}  # as AWS
        token = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not token:
            return events.problem(401, "Unauthorized")
        arn = events.method_arn(self.settings.region, self.api_id, self.stage, method, path[len(prefix) :])
        try:
            policy = self._authorize(token, arn)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return events.problem(401, "Unauthorized")
            self._report("the authorizer failed")
            return events.problem(500, "AuthorizerConfigurationException")
        statement = policy["policyDocument"]["Statement"][0]
        if statement["Effect"] != "Allow":
            return events.problem(403, "User is not authorized to access this resource with an explicit deny")
        event = events.proxy_event(
            method=method,
            raw_path=raw_path[len(prefix) :],
            headers=headers,
            body=body,
            route=events.Route(self.api_id, self.stage, resource, path_parameters or None),
            caller=events.Caller(policy["principalId"], policy.get("context", {})),
            binary=events.is_binary(headers, template.binary_media_types()),
        )
        try:
            response = self.integration.invoke(event)
        except Exception:
            self._report("the Data API function failed")
            return events.problem(502, "Internal server error")
        out_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[name] = ",".join(values)
        payload = response.get("body") or ""
        return int(response["statusCode"]), out_headers, payload.encode() if isinstance(payload, str) else payload
