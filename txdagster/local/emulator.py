"""The moto server on a loopback port: every AWS call of the stack is real HTTP to it.

In its own process (``python -m txdagster.local.emulator PORT``, the default) or in the caller's. moto
answers each request in Python; in the stack's process it shares one interpreter lock with the Lambda
runtime, so the stack's source stage could use one core at most (about 75 messages a second here: the
server took half of that core). In a process of its own it has a core of its own. The child stops when
told (SIGTERM) or when its parent is gone. In the caller's process (the test suite's stacks) it starts
in a fraction of the time and announces stream records to the stream poller (``moto_patches``).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OneLinePerFailure(logging.Filter):
    """werkzeug logs each request the server failed with its whole traceback ("Error on request:" and
    the text); this keeps the first of each kind (the exception's type), in one line, and drops the
    repeats. After a reset, moto fails every call on a stream iterator it forgot, many per second."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if not text.startswith("Error on request"):
            return True
        last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
        kind = last.split(":", 1)[0]
        if kind in self.seen:
            return False
        self.seen.add(kind)
        record.msg, record.args = "the embedded AWS server failed a request (%s); repeats are not logged", (last[:300],)
        return True


class Emulator:
    def __init__(self, port: int = 0, own_process: bool = True) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.own_process = own_process
        self._child: subprocess.Popen[bytes] | None = None
        self._server = None if own_process else _server(self.port)

    def start(self, timeout: float = 30) -> str:
        for name, value in FAKE_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        if self._server is not None:
            self._server.start()
        else:
            self._child = subprocess.Popen([sys.executable, "-m", "txdagster.local.emulator", str(self.port)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._child is not None and self._child.poll() is not None:
                raise RuntimeError(f"the moto server's process ended (status {self._child.returncode})")
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return self.endpoint
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout}s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._child is not None:
            self._child.terminate()
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            self._child = None


def _server(port: int) -> ThreadedMotoServer:
    from moto.server import ThreadedMotoServer  # half a second of imports: not for the CLI's quick commands

    from txdagster.local import moto_patches

    moto_patches.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, OneLinePerFailure) for f in werkzeug.filters):
        werkzeug.addFilter(OneLinePerFailure())
    return server


def _serve(port: int) -> None:
    """The child process: serve until SIGTERM, or until the parent that started it is gone."""
    for noisy in ("werkzeug", "moto"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*not supported by moto's CloudFormation.*")  # as the stack does
    parent = os.getppid()
    server = _server(port)
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us after its loops
    while not done.wait(1) and os.getppid() == parent:
        pass
    server.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
