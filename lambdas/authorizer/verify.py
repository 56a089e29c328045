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


#: The Cognito resource server whose scopes this API grants (infra/template.yaml, ``Identifier``).
RESOURCE_SERVER = "transactions"


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
    _check_audience(claims)
    return claims


def _check_audience(claims: dict[str, Any]) -> None:
    """Cognito's rule for access tokens: ``client_id`` names one of our app clients. An ``aud`` claim,
    which Cognito's access tokens carry only with resource binding, must name one of them or our resource
    server: a token minted for another audience is not ours even when its client_id is. With no client
    configured the authorizer lets nobody in (it fails closed)."""
    allowed = {c for c in setting("cognito_client_ids", "").split(",") if c}
    if not allowed:
        raise InvalidToken("the authorizer has no TXD_COGNITO_CLIENT_IDS: no client may call this API")
    if claims.get("client_id") not in allowed:
        raise InvalidToken("token was issued to an app client that may not call this API")
    audience = claims.get("aud")
    if audience is None:
        return
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not audiences or not set(audiences) <= allowed | {RESOURCE_SERVER}:
        raise InvalidToken(f"token is meant for another audience ({str(audience)[:80]}), not this API")


def scopes(claims: dict[str, Any]) -> set[str]:
    granted = set(str(claims.get("scope", "")).split())
    for group in claims.get("cognito:groups", []):
        granted.update(GROUP_SCOPES.get(group, ()))
    return {s for s in granted if s.startswith("transactions/")}
