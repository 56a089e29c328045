"""The running local stack answers the quick lake commands over loopback HTTP, so that ``txdagster query
--local`` and ``trace --local`` start in a fraction of a second: the query engine (DuckDB, sqlglot,
pyarrow: over a second of imports) and boto3's clients (half a second) are loaded in the stack's process
already. It runs the same code as the commands would in their own process (``lake/engines.py``,
``lake/ledger.py``).

- ``POST /query`` with ``{"sql": "..."}``: ``200 {"columns": [...], "rows": [[...], ...]}`` (values as
  JSON, dates and decimals as text) or ``400 {"error": "..."}`` for a refused or failed statement.
- ``GET /ledger?bucket=B&key=K``: ``200`` with the object's ledger entry, or ``404 {"error": ...}``.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

from txdagster.lake.engines import QueryError, query_engine
from txdagster.lake.ledger import Ledger
from txdagster.local.runtime import QuietHTTPServer
from txdagster.settings import Settings

log = logging.getLogger(__name__)
MAX_SQL_BYTES = 1 << 20


class StackService:
    """A loopback HTTP server in front of the stack's query engine and ledger (queries one at a time)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        service = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != "/query" or not 0 < length <= MAX_SQL_BYTES:
                    self._answer(404 if self.path != "/query" else 400, {"error": 'POST /query {"sql": ...}'})
                    return
                status, body = service.answer(self.rfile.read(length))
                self._answer(status, body)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                asked = urllib.parse.parse_qs(query)
                if path != "/ledger" or "key" not in asked:
                    self._answer(404, {"error": "GET /ledger?bucket=B&key=K"})
                    return
                bucket = (asked.get("bucket") or [service.settings.lake_bucket])[0]
                entry = Ledger(service.settings).get(bucket, asked["key"][0])
                if entry is None:
                    self._answer(404, {"error": f"the ledger has no entry for s3://{bucket}/{asked['key'][0]}"})
                else:
                    self._answer(200, entry.as_json())

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("stack service %s", format % args)

        self.server = QuietHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="txd-stack-service", daemon=True)

    def answer(self, request: bytes) -> tuple[int, dict[str, Any]]:
        """A query's answer: its columns and rows, or the reason it was refused or failed."""
        try:
            sql = json.loads(request)["sql"]
            if not isinstance(sql, str):
                raise TypeError("sql must be text")
        except (ValueError, KeyError, TypeError) as exc:
            return 400, {"error": f'the request is not {{"sql": "..."}}: {exc}'}
        try:
            with self._lock:
                result = query_engine(self.settings).query(sql)
        except QueryError as exc:
            return 400, {"error": str(exc)}
        return 200, {"columns": result.column_names, "rows": [list(row.values()) for row in result.to_pylist()]}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
