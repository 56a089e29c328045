"""Continuation tokens of ``GET /transactions?account_id=…``: opaque to clients, and checked against the
data instead of trusted. A token names the last item of a page (its id, account and event_time); it is
honoured only for the same account, and only if that item is stored there with that event_time. So a
token of one account cannot read another's, and a forged or altered one is a 400."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from lambdas.data_api import store
from lambdas.data_api.problems import ApiProblem

_FIELDS = ("transaction_id", "account_id", "event_time")


def token(last_key: dict[str, Any]) -> str:
    """The token of the position after a page (DynamoDB's LastEvaluatedKey of the index query)."""
    position = [str(last_key[name]) for name in _FIELDS]
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def position(text: str, account_id: str) -> dict[str, str]:
    """The ExclusiveStartKey a token stands for, after checking it against the stored item."""
    refused = ApiProblem(400, "next_token is not a token this listing gave; start again without it")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise refused from exc
    if not (isinstance(decoded, list) and len(decoded) == len(_FIELDS) and all(isinstance(v, str) for v in decoded)):
        raise refused
    key: dict[str, str] = dict(zip(_FIELDS, decoded, strict=True))
    if key["account_id"] != account_id or not key["transaction_id"] or len(key["transaction_id"]) > 128:
        raise refused
    stored = store.get(key["transaction_id"])
    if stored is None or stored.get("account_id") != account_id or stored.get("event_time") != key["event_time"]:
        raise refused
    return key
