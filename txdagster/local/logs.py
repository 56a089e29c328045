"""What Lambda does with a function's stdout: lines go to CloudWatch Logs, EMF lines become metrics.

Handlers run in runtime threads of this process; a thread-aware stdout sends each thread's output to
its own buffer so concurrent invocations never mix their logs.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from contextlib import contextmanager, suppress
from typing import Any, TextIO

from txdagster.lake import aws
from txdagster.settings import Settings

_buffers: dict[int, io.StringIO] = {}


class _ThreadRoutedStdout(io.TextIOBase):
    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback

    def write(self, text: str) -> int:
        buffer = _buffers.get(threading.get_ident())
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
        if not isinstance(sys.stdout, _ThreadRoutedStdout):
            sys.stdout = _ThreadRoutedStdout(sys.stdout)
        for name in FUNCTION_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(handler, _FunctionOutput) for handler in logger.handlers):
                logger.addHandler(_FunctionOutput())
                logger.propagate = False


@contextmanager
def captured_output():
    """Collect what the current thread prints while the block runs."""
    install()
    buffer = io.StringIO()
    _buffers[threading.get_ident()] = buffer
    try:
        yield buffer
    finally:
        _buffers.pop(threading.get_ident(), None)


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


def ship(settings: Settings, function_name: str, output: str) -> None:
    """Send captured lines to ``/aws/lambda/<function>`` and EMF documents to CloudWatch metrics."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return
    logs = aws.client("logs", settings)
    group = f"/aws/lambda/{function_name}"
    stream = time.strftime("%Y/%m/%d/[$LATEST]local")
    for create, kwargs in (
        (logs.create_log_group, {"logGroupName": group}),
        (logs.create_log_stream, {"logGroupName": group, "logStreamName": stream}),
    ):
        with suppress(logs.exceptions.ResourceAlreadyExistsException):
            create(**kwargs)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": now, "message": line} for line in lines],
    )
    cloudwatch = aws.client("cloudwatch", settings)
    for line in lines:
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            namespace, data = _emf_metric_data(document)
            if data:
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
