"""The Data API refuses a token whose exp passed while API Gateway's cached authorizer answer lived."""

import json
import time

from lambdas.data_api.handler import handler
from txdagster.local.events import Caller, Route, proxy_event


class _Context:
    function_name, memory_limit_in_mb, aws_request_id = "data_api", 256, "req-1"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:data_api"


def _get(expires_at: int) -> dict:
    event = proxy_event(
        method="GET",
        raw_path="/transactions/payments:1",
        headers={},
        body=b"",
        route=Route("local", "v1", "/transactions/{transaction_id}", {"transaction_id": "payments:1"}),
        caller=Caller("machine", {"scopes": "transactions/write", "expires_at": expires_at}),
    )
    return handler(event, _Context())


def test_a_cached_answer_for_an_expired_token_is_a_401(monkeypatch):
    monkeypatch.setenv("TXD_TOKEN_LEEWAY_SECONDS", "5")
    reply = _get(int(time.time()) - 6)
    assert reply["statusCode"] == 401
    assert "expired" in json.loads(reply["body"])["detail"]
    # within the leeway the call goes on (to the scope check, which this token fails with a 403)
    assert _get(int(time.time()) - 2)["statusCode"] == 403
