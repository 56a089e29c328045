"""Store canonical transactions through the Data API, authenticated as the service user."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from lambdas.common import aws
from lambdas.common.config import setting

TIMEOUT_SECONDS = 10


class TransientApiError(RuntimeError):
    """Worth retrying: the API was unreachable, throttled or failed on its side."""


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any]


_token: tuple[float, str] | None = None
_password: str | None = None


def _service_password() -> str:
    """The password lives in an SSM SecureString; it is read once per container."""
    global _password
    if _password is None:
        found = aws.client("ssm").get_parameter(Name=setting("service_password_parameter"), WithDecryption=True)
        _password = str(found["Parameter"]["Value"])
    return _password


def _access_token() -> str:
    """A Cognito access token for the service user, renewed a minute before it expires."""
    global _token
    if _token and _token[0] > time.time() + 60:
        return _token[1]
    result = aws.client("cognito-idp").initiate_auth(
        ClientId=setting("service_client_id"),
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": setting("service_username"), "PASSWORD": _service_password()},
    )["AuthenticationResult"]
    _token = (time.time() + int(result["ExpiresIn"]), result["AccessToken"])
    return _token[1]


def _call(
    method: str,
    path: str,
    correlation_id: str,
    record: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> ApiResponse:
    """One Data API call; 4xx answers are returned, 429/5xx and network failures raise TransientApiError."""
    request = urllib.request.Request(
        setting("api_url").rstrip("/") + path,
        data=None if record is None else json.dumps(record).encode(),
        method=method,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {_access_token()}",
            "X-Correlation-Id": correlation_id,
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return ApiResponse(response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        body = exc.read()
        if exc.code == 429 or exc.code >= 500:
            raise TransientApiError(f"Data API answered {exc.code}: {body[:300]!r}") from exc
        try:
            parsed = json.loads(body or b"{}")
        except json.JSONDecodeError:
            parsed = {"detail": body.decode(errors="replace")[:500]}
        return ApiResponse(exc.code, parsed)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise TransientApiError(f"Data API unreachable: {exc}") from exc


def create_transaction(record: dict[str, Any], correlation_id: str) -> ApiResponse:
    return _call("POST", "/transactions", correlation_id, record)


def get_transaction(transaction_id: str, correlation_id: str) -> ApiResponse:
    return _call("GET", f"/transactions/{urllib.parse.quote(transaction_id, safe=':')}", correlation_id)


def update_transaction(record: dict[str, Any], version: int, correlation_id: str) -> ApiResponse:
    """PUT the record as the next version of ``version`` (If-Match: a 412 if another update came first)."""
    path = f"/transactions/{urllib.parse.quote(record['transaction_id'], safe=':')}"
    return _call("PUT", path, correlation_id, record, headers={"If-Match": f'"{version}"'})
