"""Store canonical transactions through the Data API, authenticated as the service user."""

from __future__ import annotations

import json
import time
import urllib.error
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
        _password = aws.client("ssm").get_parameter(Name=setting("service_password_parameter"), WithDecryption=True)[
            "Parameter"
        ]["Value"]
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


def create_transaction(record: dict[str, Any], correlation_id: str) -> ApiResponse:
    """POST the record; 4xx answers are returned, 429/5xx and network failures raise TransientApiError."""
    request = urllib.request.Request(
        setting("api_url").rstrip("/") + "/transactions",
        data=json.dumps(record).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {_access_token()}",
            "X-Correlation-Id": correlation_id,
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
