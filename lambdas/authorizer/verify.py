"""Verify Cognito-issued RS256 access tokens and turn them into granted scopes."""

from __future__ import annotations

from functools import cache
from typing import Any

import jwt

from lambdas.common.config import setting

#: Cognito groups give users the same scopes an app client gets from the ``transactions`` resource server.
GROUP_SCOPES = {
    "transactions-readers": ("transactions/read",),
    "transactions-writers": ("transactions/read", "transactions/write"),
}


class InvalidToken(Exception):
    pass


@cache
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def _jwks_url(issuer: str) -> str:
    return setting("cognito_jwks_url", "") or f"{issuer}/.well-known/jwks.json"


def leeway_seconds() -> int:
    """Clock skew forgiven on ``exp`` (``TXD_TOKEN_LEEWAY_SECONDS``, default 5)."""
    return int(setting("token_leeway_seconds", "5"))


def verify(token: str) -> dict[str, Any]:
    """The token's claims if it is a valid, unexpired access token from our pool and clients."""
    issuer = setting("cognito_issuer")
    try:
        key = _jwks_client(_jwks_url(issuer)).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=issuer,
            options={"verify_aud": False, "require": ["exp", "iss", "token_use"]},
            leeway=leeway_seconds(),
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("token_use") != "access":
        raise InvalidToken("an access token is required, not an id token")
    allowed = [c for c in setting("cognito_client_ids", "").split(",") if c]
    if allowed and claims.get("client_id") not in allowed:
        raise InvalidToken("token was issued to an app client that may not call this API")
    return claims


def scopes(claims: dict[str, Any]) -> set[str]:
    granted = set(str(claims.get("scope", "")).split())
    for group in claims.get("cognito:groups", []):
        granted.update(GROUP_SCOPES.get(group, ()))
    return {s for s in granted if s.startswith("transactions/")}
