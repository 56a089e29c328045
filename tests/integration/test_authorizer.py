"""The TOKEN authorizer against the pool's real JWKS: only valid access tokens of our clients pass.

Forged cases are signed with the emulator's own signing key (shipped in moto), so each test breaks
exactly one property of an otherwise valid token.
"""

from __future__ import annotations

import gzip
import json
import time
from importlib import resources

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lambdas.authorizer.handler import handler

pytestmark = pytest.mark.integration
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:local/v1/GET/transactions/x"


def _moto_signing_key():
    raw = resources.files("moto.cognitoidp").joinpath("resources/jwks-private.json.gz").read_bytes()
    return jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(json.loads(gzip.decompress(raw))))


def _claims(settings, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": settings.cognito_issuer,
        "sub": "s-1",
        "client_id": settings.service_client_id,
        "token_use": "access",
        "scope": "transactions/read",
        "iat": now,
        "exp": now + 600,
        "username": "machine",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _authorize(token: str) -> dict:
    return handler({"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}, None)


def _sign(claims: dict, key=None) -> str:
    return jwt.encode(claims, key or _moto_signing_key(), algorithm="RS256", headers={"kid": "dummy"})


def test_a_valid_machine_token_is_allowed_with_its_scope_for_the_whole_stage(settings):
    policy = _authorize(_sign(_claims(settings)))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["policyDocument"]["Statement"][0]["Resource"].endswith("local/v1/*")
    assert policy["context"]["scopes"] == "transactions/read"


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 3600},
        {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"},
        {"token_use": "id"},
        {"client_id": "some-other-app"},
        {"client_id": None},
        {"aud": "another-apps-client"},
        {"aud": ["transactions", "another-apps-client"]},
        {"aud": []},
        {"aud": 7},
    ],
    ids=[
        "expired",
        "other-issuer",
        "id-token",
        "unknown-client",
        "no-client",
        "other-audience",
        "one-audience-of-two-is-another",
        "empty-audience",
        "audience-not-text",
    ],
)
def test_a_token_broken_in_one_way_is_unauthorized(settings, changes):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(_sign(_claims(settings, **changes)))


def test_an_audience_of_our_client_or_resource_server_is_allowed(settings):
    for audience in (settings.service_client_id, "transactions", [settings.service_client_id, "transactions"]):
        policy = _authorize(_sign(_claims(settings, aud=audience)))
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow", audience


def test_an_authorizer_without_client_ids_lets_nobody_in(settings, monkeypatch):
    monkeypatch.setenv("TXD_COGNITO_CLIENT_IDS", "")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(_sign(_claims(settings)))


def test_a_token_signed_by_another_key_is_unauthorized(settings):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(_sign(_claims(settings), key=stranger))


def test_a_token_without_transactions_scopes_is_denied(settings):
    policy = _authorize(_sign(_claims(settings, scope="aws.cognito.signin.user.admin")))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_a_token_expired_beyond_the_leeway_is_unauthorized(settings):
    with pytest.raises(Exception, match=r"^Unauthorized$"):  # 20 s ago: the old 30 s leeway let it pass
        _authorize(_sign(_claims(settings, exp=int(time.time()) - 20)))
    assert _authorize(_sign(_claims(settings, exp=int(time.time()) - 2)))["context"]["expires_at"]  # skew


def test_a_cached_authorizer_answer_never_outlives_the_token(stack, settings):
    from tests.integration.helpers import function_environment
    from txdagster.local.api_client import ApiClient

    expires = int(time.time()) + 4  # time for the first call on a loaded machine
    token = _sign(_claims(settings, exp=expires, scope="transactions/read"))
    api = ApiClient(settings.api_url, token)
    with function_environment(settings, "data-api", TXD_TOKEN_LEEWAY_SECONDS="0"):
        assert api.call("GET", "/transactions/payments:nobody").status == 404  # allowed, and now cached
        time.sleep(max(0.0, expires + 1 - time.time()))
        expired = api.call("GET", "/transactions/payments:nobody")
    assert expired.status == 401, expired.body
