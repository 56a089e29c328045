"""The running local stack answers lake queries over loopback HTTP, so that ``txdagster query --local``
starts in a fraction of a second: the query engine (DuckDB, sqlglot, pyarrow, boto3: over a second of
imports) is already loaded in the stack's process. It runs the same engine and the same read-only rule
as a query run in the command's own process (``lake/engines.py``).

``POST /query`` with ``{"sql": "..."}`` answers ``200 {"columns": [...], "rows": [[...], ...]}`` (values
as JSON, dates and decimals as text) or ``400 {"error": "..."}`` for a refused or failed statement.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from txdagster.lake.engines import QueryError, query_engine
from txdagster.settings import Settings

log = logging.getLogger(__name__)
MAX_SQL_BYTES = 1 << 20


class QueryService:
    """A loopback HTTP server in front of the stack's query engine (one engine, queries one at a time)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        service = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.path != "/query" or not 0 < length <= MAX_SQL_BYTES:
                    self._answer(404 if self.path != "/query" else 400, {"error": 'POST /query {"sql": ...}'})
                    return
                status, body = service.answer(self.rfile.read(length))
                self._answer(status, body)

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body, default=str).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("query service %s", format % args)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/query"
        self._thread = threading.Thread(target=self.server.serve_forever, name="txd-query-service", daemon=True)

    def answer(self, request: bytes) -> tuple[int, dict[str, Any]]:
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
