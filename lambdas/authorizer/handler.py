"""API Gateway TOKEN authorizer: Allow with the granted scopes in the context, or Unauthorized.

Scope enforcement per route is done by the Data API from ``context.scopes``; the policy allows the
whole API so that API Gateway's authorizer cache stays correct across routes. The cache may keep an
answer up to its TTL (60 s in the template): ``context.expires_at`` lets the Data API refuse a token
that expired meanwhile.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from lambdas.authorizer.verify import InvalidToken, scopes, verify

logger = Logger(service="authorizer")


def _api_wide_arn(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/METHOD/resource -> .../stage/*
    prefix, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0]
    return f"{prefix}/{stage}/*"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    header = event.get("authorizationToken") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Exception("Unauthorized")  # API Gateway turns exactly this message into a 401
    try:
        claims = verify(token)
    except InvalidToken as exc:
        logger.info("token rejected", extra={"reason": str(exc)})
        raise Exception("Unauthorized") from exc
    granted = scopes(claims)
    return {
        "principalId": str(claims.get("username") or claims.get("sub")),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if granted else "Deny",
                    "Resource": _api_wide_arn(event["methodArn"]),
                }
            ],
        },
        # API Gateway caches this answer for up to a minute: the Data API checks expires_at on every call
        "context": {
            "scopes": " ".join(sorted(granted)),
            "client_id": str(claims.get("client_id", "")),
            "expires_at": int(claims["exp"]),
        },
    }
