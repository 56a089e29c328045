"""Watch the embedded AWS server for the local stack: when it stops answering, or answers without the
stack's resources (it was reset: ``POST /moto-api/reset`` or a restart on the same port), say so once
and let the stack stop, instead of every poller and sensor logging the same error on every tick.

A probe is one cheap call: the URL of the stack's inbound queue. Two failed probes in a row are needed
(a single slow answer is not a death).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from txdagster.settings import Settings

PROBE_SECONDS = 2.0
FAILURES_NEEDED = 2
_GONE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def _client(settings: Settings) -> Any:
    """The probe's own client: quick time-outs, one attempt. Made by the thread that starts the watchdog:
    making a client reads the whole environment, which another thread may be changing."""
    return boto3.client(
        "sqs",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )


def probe(settings: Settings, sqs: Any = None) -> str | None:
    """Why the embedded AWS server cannot serve the stack, or None when it can."""
    sqs = sqs or _client(settings)
    try:
        sqs.get_queue_url(QueueName=settings.inbound_queue)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE:
            return (
                f"the embedded AWS server at {settings.endpoint_url} was reset: the stack's resources are gone "
                f"(queue {settings.inbound_queue} no longer exists)"
            )
        return f"the embedded AWS server at {settings.endpoint_url} fails: {exc}"
    except BotoCoreError as exc:
        return f"the embedded AWS server at {settings.endpoint_url} does not answer ({type(exc).__name__})"
    return None


class AwsWatchdog(threading.Thread):
    """Probes every ``interval`` seconds; on a confirmed loss calls ``on_lost(reason)`` once and ends."""

    def __init__(self, settings: Settings, on_lost: Callable[[str], None], interval: float = PROBE_SECONDS) -> None:
        super().__init__(name="aws-watchdog", daemon=True)
        self.settings = settings
        self.on_lost = on_lost
        self.interval = interval
        self.stopping = threading.Event()
        self.lost: str | None = None
        self.sqs = _client(settings)

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        failures = 0
        while not self.stopping.wait(self.interval):
            reason = probe(self.settings, self.sqs)
            failures = failures + 1 if reason else 0
            if reason and failures >= FAILURES_NEEDED:
                self.lost = reason
                self.on_lost(reason)  # the one report is the owner's
                return
