"""The moto server on a loopback port: every AWS call of the stack is real HTTP to it."""

from __future__ import annotations

import logging
import os
import socket
import time
import urllib.request

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
    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        from moto.server import ThreadedMotoServer  # half a second of imports: not for the CLI's quick commands

        from txdagster.local import moto_patches

        moto_patches.apply()

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        werkzeug = logging.getLogger("werkzeug")
        if not any(isinstance(f, OneLinePerFailure) for f in werkzeug.filters):
            werkzeug.addFilter(OneLinePerFailure())

    def start(self, timeout: float = 30) -> str:
        for name, value in FAKE_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        self._server.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return self.endpoint
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto server did not answer on {self.endpoint} within {timeout}s")

    def stop(self) -> None:
        self._server.stop()
