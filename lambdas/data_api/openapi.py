"""The Data API's OpenAPI 3.1 document, generated from the routes themselves.

Powertools' resolver builds the paths, path parameters, summaries and responses from each route's
declaration in ``handler.py``. This module holds what those declarations share: the answers (a
transaction, a page, a problem), the request body, the header and query parameters that Powertools
cannot see (the handler reads them from the event), and the bodies' schemas. The request body's schema
is the canonical transaction schema of the registry, the one every body is validated against, so the
document and the validation cannot disagree.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from lambdas.data_api.limits import ACCOUNT_ID_MAX_LENGTH, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, VERSION_MIN

TITLE = "txdagster Data API"
VERSION = "1"
PROBLEM_TYPE = "application/problem+json"
SECURITY = [{"bearer": []}]

_REF = "#/components/schemas/"
_PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details: what is wrong and, where it is one field, which.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": ["string", "null"]},
        "current_version": {"type": ["integer", "null"]},
    },
    "required": ["type", "title", "status", "detail", "instance"],
}
_GATEWAY_SCHEMA = {
    "type": "object",
    "description": "API Gateway's own answer, before the function runs (no or a refused token).",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}
_WHY = {
    400: "A parameter, header or body that cannot be read (the problem names it)",
    404: "No such transaction",
    405: "The path does not answer this method (see Allow)",
    409: "The body's version is stale, or the id exists with other content",
    412: "If-Match names a version the transaction is not at, or is a weak tag (which never matches)",
    415: "The body is not application/json",
    422: "The body breaks the canonical schema or a calendar rule (the problem names the field)",
    428: "An update without the version it was read at",
    503: "The transaction store is unavailable for now; Retry-After says when to try again",
}


def transaction_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _REF + "Transaction"}}}}


def page_answer() -> dict[str, Any]:
    return {
        "description": "A page of the account's transactions, newest first",
        "content": {"application/json": {"schema": {"$ref": _REF + "TransactionPage"}}},
    }


def answers(ok: dict[int, dict[str, Any]], *problems: int) -> dict[int, Any]:
    """A route's answers: its successes (by status) and the problems it can give."""
    out: dict[int, Any] = dict(ok)
    for status in (*problems, 405, 503):
        out[status] = {"description": _WHY[status], "content": {PROBLEM_TYPE: {"schema": {"$ref": _REF + "Problem"}}}}
    out[503]["headers"] = {
        "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer", "minimum": 1}}
    }
    gateway = {"application/json": {"schema": {"$ref": _REF + "GatewayMessage"}}}
    out[401] = {"description": "No token, or one that is invalid or expired", "content": gateway}
    out[403] = {
        "description": "The token lacks this call's scope",
        "content": {**gateway, PROBLEM_TYPE: {"schema": {"$ref": _REF + "Problem"}}},
    }
    return out


def transaction_body() -> dict[str, Any]:
    """The ``requestBody`` of POST and PUT (given to Powertools as an operation extension)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": _REF + "Body"}}}}}


#: Parameters the handler reads from the event, by (path, method): Powertools sees only the path's.
_IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The version the transaction was read at ("3" or W/"3"); a stale one gets 412',
    "schema": {"type": "string"},
}
_PARAMETERS = {
    ("/transactions", "get"): [
        {
            "name": "account_id",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": ACCOUNT_ID_MAX_LENGTH},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX, "default": LIST_LIMIT_DEFAULT},
        },
        {
            "name": "next_token",
            "in": "query",
            "required": False,
            "description": "next_token of the previous page",
            "schema": {"type": "string"},
        },
    ],
    ("/transactions/{transaction_id}", "put"): [_IF_MATCH],
    ("/transactions/{transaction_id}", "delete"): [
        _IF_MATCH,
        {
            "name": "version",
            "in": "query",
            "required": False,
            "description": "as If-Match, answered 409 when stale",
            "schema": {"type": "integer", "minimum": VERSION_MIN},
        },
    ],
}


def _schemas(body_schema: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in copy.deepcopy(body_schema).items() if k not in ("$schema", "$id")}
    stored = copy.deepcopy(body)
    stored["title"] = "Transaction"
    stored["description"] = "A stored transaction: the body as normalised, with the version the server gave it"
    stored["required"] = sorted({*stored.get("required", []), "version"})
    return {
        "Body": body,
        "Transaction": stored,
        "TransactionPage": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": {"$ref": _REF + "Transaction"}},
                "next_token": {"type": ["string", "null"], "description": "pass it back to read the next page"},
            },
            "required": ["items", "next_token"],
        },
        "Problem": _PROBLEM_SCHEMA,
        "GatewayMessage": _GATEWAY_SCHEMA,
    }


def document(app: APIGatewayRestResolver, body_schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s routes, its bodies checked against ``body_schema``."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer  # pydantic: only for this call

    generated = app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description="CRUD on the transactions table. Every error is an application/problem+json answer.",
        security_schemes={"bearer": HTTPBearer(bearerFormat="JWT")},
    )
    spec = json.loads(generated)
    for (path, method), parameters in _PARAMETERS.items():
        operation = spec["paths"][path][method]
        operation["parameters"] = [*operation.get("parameters", []), *copy.deepcopy(parameters)]
    spec.setdefault("components", {})["schemas"] = _schemas(body_schema)
    return spec
