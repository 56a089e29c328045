"""A small client for the Data API, as a producer or analyst would call it (tests, demo, CLI)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    content_type: str
    headers: dict[str, str] = field(default_factory=lambda: {})  # names in Title-Case


class ApiClient:
    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return _reply(response.status, response.read(), {k.title(): v for k, v in response.headers.items()})
        except urllib.error.HTTPError as exc:
            return _reply(exc.code, exc.read(), {k.title(): v for k, v in exc.headers.items()})

    def create(self, record: dict[str, Any]) -> Reply:
        return self.call("POST", "/transactions", record)

    def get(self, transaction_id: str) -> Reply:
        return self.call("GET", f"/transactions/{urllib.parse.quote(transaction_id, safe=':')}")

    def update(self, transaction_id: str, record: dict[str, Any]) -> Reply:
        return self.call("PUT", f"/transactions/{urllib.parse.quote(transaction_id, safe=':')}", record)

    def delete(self, transaction_id: str, version: int | None = None) -> Reply:
        suffix = f"?version={version}" if version is not None else ""
        return self.call("DELETE", f"/transactions/{urllib.parse.quote(transaction_id, safe=':')}{suffix}")


def _reply(status: int, raw: bytes, headers: dict[str, str]) -> Reply:
    try:
        body = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = raw.decode(errors="replace")
    return Reply(status, body, headers.get("Content-Type", ""), headers)
