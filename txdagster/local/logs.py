"""What Lambda does with a function's stdout: lines go to CloudWatch Logs, EMF lines become metrics.

Handlers run in runtime threads of this process; a context-aware stdout sends each invocation's output
to its own buffer so concurrent invocations never mix their logs (a thread a handler starts in a copy
of its context, as the source validator's do, writes to its invocation's buffer too).

As on Lambda, shipping is not on the invocation's path: ``ship_later`` hands the output to a shipper
thread, which sends what has gathered in one ``PutLogEvents`` per log group and one ``PutMetricData``
per namespace (three to four requests to the emulator per invocation, on the way of every message).
"""

from __future__ import annotations

import io
import json
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any, TextIO

from txdagster.lake import aws
from txdagster.settings import Settings

_buffer: ContextVar[io.StringIO | None] = ContextVar("txd_invocation_output", default=None)


class _RoutedStdout(io.TextIOBase):
    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback

    def write(self, text: str) -> int:
        buffer = _buffer.get()
        return (buffer or self.fallback).write(text)

    def flush(self) -> None:
        self.fallback.flush()

    def isatty(self) -> bool:
        return False


_lock = threading.Lock()
#: Loggers of the functions' own libraries: on Lambda what they log goes to the function's log group, so
#: here it goes to the function's captured output, not to the root logger of the stack's process (where
#: Powertools' batch utility printed a record's traceback into `up`'s console).
FUNCTION_LOGGERS = ("aws_lambda_powertools", "lambdas")


class _FunctionOutput(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is when a record comes: the invoking thread's buffer."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stdout)
        super().emit(record)


def install() -> None:
    """Route stdout through us; again whenever someone (pytest, a CLI) has swapped sys.stdout. The
    functions' library loggers write there too."""
    with _lock:
        if not isinstance(sys.stdout, _RoutedStdout):
            sys.stdout = _RoutedStdout(sys.stdout)
        for name in FUNCTION_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(handler, _FunctionOutput) for handler in logger.handlers):
                logger.addHandler(_FunctionOutput())
                logger.propagate = False


@contextmanager
def captured_output():
    """Collect what the current invocation prints while the block runs."""
    install()
    buffer = io.StringIO()
    token = _buffer.set(buffer)
    try:
        yield buffer
    finally:
        _buffer.reset(token)


def _emf_metric_data(document: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    directive = document["_aws"]["CloudWatchMetrics"][0]
    dimensions = [{"Name": d, "Value": str(document[d])} for d in directive["Dimensions"][0] if d in document]
    data = []
    for metric in directive["Metrics"]:
        values = document[metric["Name"]]
        for value in values if isinstance(values, list) else [values]:
            data.append(
                {
                    "MetricName": metric["Name"],
                    "Value": float(value),
                    "Unit": metric.get("Unit", "None"),
                    "Dimensions": dimensions,
                }
            )
    return directive["Namespace"], data


#: the log groups and streams this process made (or found) on each endpoint: made once, not on each call
_created: set[tuple[str, str, str]] = set()


def _put_lines(settings: Settings, group: str, lines: list[str]) -> None:
    logs = aws.client("logs", settings)
    stream = time.strftime("%Y/%m/%d/[$LATEST]local")
    made = (settings.endpoint_url, group, stream)
    for attempt in (1, 2):
        if made not in _created:
            for create, kwargs in (
                (logs.create_log_group, {"logGroupName": group}),
                (logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
            ):
                with suppress(logs.exceptions.ResourceAlreadyExistsException):
                    create(**kwargs)
            _created.add(made)
        try:
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": line} for line in lines],
            )
            return
        except logs.exceptions.ResourceNotFoundException:  # the emulator was reset: make them again
            _created.discard(made)
            if attempt == 2:
                raise


def ship(settings: Settings, function_name: str, output: str) -> None:
    """Send captured lines to ``/aws/lambda/<function>`` and EMF documents to CloudWatch metrics."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return
    _put_lines(settings, f"/aws/lambda/{function_name}", lines)
    metrics: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            namespace, data = _emf_metric_data(document)
            metrics.setdefault(namespace, []).extend(data)
    cloudwatch = aws.client("cloudwatch", settings)
    for namespace, data in metrics.items():
        for start in range(0, len(data), METRIC_DATA_PER_CALL):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[start : start + METRIC_DATA_PER_CALL])


METRIC_DATA_PER_CALL = 1000  # PutMetricData's limit
_waiting: queue.Queue[tuple[Settings, str, str]] = queue.Queue()
_shipper_lock = threading.Lock()
_shipper: threading.Thread | None = None
ShipFailed = Callable[[str], None]


def ship_later(settings: Settings, function_name: str, output: str, failed: ShipFailed) -> None:
    """``ship`` in the shipper thread; ``failed`` is told what could not be shipped (and logs it)."""
    global _shipper
    if not output.strip():
        return
    with _shipper_lock:
        if _shipper is None or not _shipper.is_alive():
            _shipper = threading.Thread(target=_ship_forever, args=(failed,), name="log-shipper", daemon=True)
            _shipper.start()
    _waiting.put((settings, function_name, output))


def drain(timeout: float = 10) -> bool:
    """Wait until everything handed over is shipped (or failed); False if that took over ``timeout``."""
    deadline = time.monotonic() + timeout
    while _waiting.unfinished_tasks:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _ship_forever(failed: ShipFailed) -> None:
    while True:
        gathered = [_waiting.get()]
        with suppress(queue.Empty):
            while len(gathered) < 1000:
                gathered.append(_waiting.get_nowait())
        outputs: dict[tuple[Settings, str], list[str]] = {}
        for settings, function_name, output in gathered:
            outputs.setdefault((settings, function_name), []).append(output)
        for (settings, function_name), texts in outputs.items():
            try:
                ship(settings, function_name, "\n".join(texts))
            except Exception:  # logging must never fail an invocation, nor stop the shipper
                failed(f"could not ship the logs of {function_name}")
        for _ in gathered:
            _waiting.task_done()
