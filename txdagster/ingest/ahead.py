"""Run a generator in a thread of its own, a few items ahead of its consumer.

The ingest road's parser (stream reading, gunzip, pyarrow's readers, the vectorised checks) and its
writer (Parquet encoding and zstd) both spend most of their time in C code that releases the GIL, so
on two cores the next blocks are parsed while the previous rows are written. At most ``depth`` items
wait between the two, which keeps memory bounded by the block size.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """``items`` as they come, produced in a background thread. An exception raised by the producer is
    raised here; when the consumer stops early, the producer stops at its next item."""
    waiting: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over(("item", item)):
                    return
            hand_over(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            hand_over(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name="txd-read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            kind, item = waiting.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        producer.join()


def mapped_ahead(
    fn: Callable[[T], R], items: Iterable[T], workers: int = 2, ahead: int = 3
) -> Iterator[tuple[T, Future[R]]]:
    """Each item with the future of ``fn(item)``, in order; up to ``ahead`` items are worked on at once by
    ``workers`` threads. ``future.result()`` gives the value or raises what ``fn`` raised."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="txd-block") as pool:
        started: deque[tuple[T, Future[R]]] = deque()
        for item in items:
            started.append((item, pool.submit(fn, item)))
            if len(started) >= ahead:
                yield started.popleft()
        while started:
            yield started.popleft()


def at_once(fn: Callable[[T], R], item: T) -> Future[R]:
    """``fn(item)`` worked out in this thread, as the future ``mapped_ahead`` would give."""
    future: Future[R] = Future()
    try:
        future.set_result(fn(item))
    except Exception as exc:  # handed over as mapped_ahead's futures do; result() raises it
        future.set_exception(exc)
    return future
