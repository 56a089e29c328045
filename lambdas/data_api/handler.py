"""API Gateway (REST, Lambda proxy) -> CRUD on DynamoDB. Bodies are checked against the registry's
canonical schema; every error is an ``application/problem+json`` answer."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from botocore.exceptions import BotoCoreError, ClientError
from fastjsonschema import JsonSchemaValueException

from lambdas.common import strict_json
from lambdas.common.config import MissingSetting, setting
from lambdas.common.registry import get_schema
from lambdas.common.standardise import normalise_timestamp
from lambdas.data_api import openapi, pages, store, unavailable
from lambdas.data_api.limits import (
    ACCOUNT_ID_MAX_LENGTH,
    EVENT_TIME_EARLIEST,
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    TRANSACTION_ID_PATTERN,
    VERSION_MAX,
    VERSION_MIN,
)
from lambdas.data_api.openapi import answers, page_answer, transaction_answer, transaction_body
from lambdas.data_api.problems import ApiProblem, problem_response

CANONICAL_SUBJECT = "canonical"
CANONICAL_VERSION = 1
#: The path's id as the OpenAPI document describes it (Powertools reads it from the annotation).
TransactionId = Annotated[str, Path(pattern=TRANSACTION_ID_PATTERN, description="transaction_id, URL-encoded")]

logger = Logger(service="data_api")
app = APIGatewayRestResolver()


def _json(status: int, body: Any) -> Response:
    return Response(status, "application/json", json.dumps(body, default=str))


def _require_scope(scope: str) -> None:
    context = app.current_event.request_context.authorizer.raw_event or {}
    expires_at = context.get("expires_at")
    if expires_at is not None and time.time() > int(expires_at) + int(setting("token_leeway_seconds", "5")):
        raise ApiProblem(401, "the token has expired: get a new one")  # a cached authorizer answer outlived it
    granted = context.get("scopes", "")
    if scope not in granted.split():
        raise ApiProblem(403, f"this call needs the {scope!r} scope; the token grants {granted!r}")


def _body_text() -> str:
    """The request body as text. The API declares every media type binary (the template's
    ``BinaryMediaTypes``: ``*/*``, written ``*~1*``), so API Gateway hands the body over as base64 of the bytes sent,
    and bytes that are not UTF-8 are refused here instead of arriving as U+FFFD replacements."""
    event = app.current_event
    raw = event.body or ""
    if not event.is_base64_encoded:
        return raw
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except binascii.Error as exc:
        raise ApiProblem(400, "body is marked base64 but is not base64") from exc
    except UnicodeDecodeError as exc:
        raise ApiProblem(
            400,
            f"body is not UTF-8 text: the byte 0x{exc.object[exc.start]:02x} at position {exc.start} ({exc.reason})",
        ) from exc


def _canonical_body() -> dict[str, Any]:
    media_type = app.current_event.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiProblem(415, f"send the transaction as application/json, not {media_type or 'no content type'}")
    text = _body_text()
    try:
        body = strict_json.loads(text)
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # a lone surrogate (\\ud800) is no text to store
    except json.JSONDecodeError as exc:
        raise ApiProblem(400, f"body is not JSON: {exc.msg} at position {exc.pos}") from exc
    except strict_json.RepeatedKey as exc:
        raise ApiProblem(400, f"body repeats the key {str(exc)[:100]!r} in one object", field=str(exc)[:100]) from exc
    except RecursionError as exc:
        raise ApiProblem(400, "body is nested too deeply to be a transaction") from exc
    except UnicodeEncodeError as exc:
        raise ApiProblem(400, "body holds a lone surrogate escape (\\ud800-\\udfff): not valid Unicode text") from exc
    if not isinstance(body, dict):
        raise ApiProblem(400, "body must be a JSON object")
    try:
        get_schema(CANONICAL_SUBJECT, CANONICAL_VERSION).validate(body)
    except JsonSchemaValueException as exc:
        raise ApiProblem(422, f"transaction {exc.message}", field=exc.name) from exc
    for name in store.TIMESTAMP_FIELDS:  # the schema checks the shape; the calendar is checked here
        try:
            when = datetime.fromisoformat(normalise_timestamp(body[name]))
        except (ValueError, OverflowError) as exc:
            raise ApiProblem(422, f"transaction.{name} is not a time: {exc}", field=f"data.{name}") from exc
        latest = datetime.now(UTC) + timedelta(hours=int(setting("max_event_ahead_hours", "24")))
        if name == "event_time" and not EVENT_TIME_EARLIEST < when <= latest:
            raise ApiProblem(
                422,
                f"transaction.event_time {body[name]} is not after 1970-01-01T00:00:00Z (epoch 0 "
                f"is a missing value) and within TXD_MAX_EVENT_AHEAD_HOURS from now",
                field="data.event_time",
            )
    return body


def _transaction_id(raw: str) -> str:
    """The path's id, decoded (it arrives as sent: ``payments%3A1``), or a 400 if it cannot be one."""
    transaction_id = unquote(raw)
    if not re.fullmatch(TRANSACTION_ID_PATTERN, transaction_id):
        raise ApiProblem(400, f"{transaction_id[:60]!r} is not a transaction id ({TRANSACTION_ID_PATTERN})")
    return transaction_id


def _check_account_id(account_id: str) -> None:
    """The query's account_id holds only what the canonical schema lets an account id hold (no control
    or format characters): the rule is the registry's, as for bodies."""
    document = get_schema(CANONICAL_SUBJECT, CANONICAL_VERSION).document or {}
    pattern = document.get("properties", {}).get("account_id", {}).get("pattern")
    if pattern and not re.fullmatch(pattern, account_id):
        raise ApiProblem(400, "account_id holds a control or format character, which no account id holds")


def _integer(name: str, value: str) -> int:
    """An integer written in ASCII digits (``int`` would also take Arabic-Indic digits, ``5_000`` or `` 5``), or, for a
    header, a strong entity tag around one (``"3"``)."""
    match = re.fullmatch(r'"(-?[0-9]{1,64})"|(-?[0-9]{1,64})', value)
    if match is None:
        raise ApiProblem(400, f"{name} must be an integer, got {value[:60]!r}")
    return int(match.group(1) or match.group(2))


def _version(name: str, value: str) -> int:
    version = _integer(name, value)
    if not VERSION_MIN <= version <= VERSION_MAX:
        raise ApiProblem(400, f"{name} must be a version between {VERSION_MIN} and {VERSION_MAX}, got {value!r}")
    return version


def _if_match() -> int | None:
    """The version in an ``If-Match`` header (``"3"`` or ``3``), if one was sent. A weak tag (``W/"3"``)
    never matches: If-Match compares strongly (RFC 9110, 13.1.1), so it is a failed precondition."""
    header = app.current_event.headers.get("if-match")
    if header is None:
        return None
    if header.strip().startswith("W/"):
        raise ApiProblem(
            412,
            f"If-Match {header.strip()[:40]!r} is a weak tag, which never matches: send the strong tag, e.g. '\"3\"'",
        )
    return _version("If-Match", header.strip())  # "3" or 3; '"3' or '"3"x' is no tag: 400


def _expected_version(body: dict[str, Any]) -> tuple[int, int]:
    """The version the caller read, and the status a stale one gets: ``version`` in the body (409: the
    content conflicts), else the ``If-Match`` header (412: the precondition failed, RFC 9110)."""
    if body.get("version") is not None:
        return int(body["version"]), 409
    expected = _if_match()
    if expected is None:
        raise ApiProblem(428, "send the version you read, as 'version' in the body or in If-Match")
    return expected, 412


@app.post(
    "/transactions",
    summary="Store a new transaction (a replay of the same content answers 200 with the stored one)",
    responses=answers(
        {201: transaction_answer("Stored as version 1"), 200: transaction_answer("Already stored")}, 400, 409, 415, 422
    ),
    security=openapi.SECURITY,
    openapi_extensions=transaction_body(),
)
def create_transaction() -> Response[dict[str, Any]]:
    _require_scope("transactions/write")
    body = _canonical_body()
    if body.get("version") not in (None, 1):
        raise ApiProblem(
            400,
            f"a new transaction is stored as version 1, not {body['version']}: leave 'version' out (the API "
            "counts versions), or PUT to change a stored transaction",
            field="version",
        )
    item, created = store.create(body)
    return _json(201 if created else 200, store.to_json(item))


@app.get(
    "/transactions/<transaction_id>",
    summary="Read a transaction",
    responses=answers({200: transaction_answer("The stored transaction")}, 400, 404),
    security=openapi.SECURITY,
)
def get_transaction(transaction_id: TransactionId) -> Response[dict[str, Any]]:
    transaction_id = _transaction_id(transaction_id)
    _require_scope("transactions/read")
    item = store.get(transaction_id)
    if item is None:
        raise ApiProblem(404, f"transaction {transaction_id} does not exist")
    return _json(200, store.to_json(item))


@app.get(
    "/transactions",
    summary="An account's transactions, newest first, a page at a time",
    responses=answers({200: page_answer()}, 400),
    security=openapi.SECURITY,
)
def list_transactions() -> Response[dict[str, Any]]:
    _require_scope("transactions/read")
    account_id = app.current_event.get_query_string_value("account_id")
    if not account_id:
        raise ApiProblem(400, "query parameter account_id is required")
    if len(account_id) > ACCOUNT_ID_MAX_LENGTH:
        raise ApiProblem(400, f"account_id is at most {ACCOUNT_ID_MAX_LENGTH} characters")
    _check_account_id(account_id)
    limit = _integer("limit", app.current_event.get_query_string_value("limit", str(LIST_LIMIT_DEFAULT)))
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise ApiProblem(400, f"limit must be between 1 and {LIST_LIMIT_MAX}, got {limit}")
    token = app.current_event.get_query_string_value("next_token")
    items, last = store.list_for_account(
        account_id, limit, None if token is None else pages.position(token, account_id)
    )
    return _json(200, {"items": [store.to_json(i) for i in items], "next_token": pages.token(last) if last else None})


@app.put(
    "/transactions/<transaction_id>",
    summary="Replace a transaction at the version it was read at (body 'version' or If-Match)",
    responses=answers({200: transaction_answer("Stored as the next version")}, 400, 404, 409, 412, 415, 422, 428),
    security=openapi.SECURITY,
    openapi_extensions=transaction_body(),
)
def update_transaction(transaction_id: TransactionId) -> Response[dict[str, Any]]:
    transaction_id = _transaction_id(transaction_id)
    _require_scope("transactions/write")
    body = _canonical_body()
    expected, stale_status = _expected_version(body)
    item = store.update(transaction_id, body, expected, stale_status)
    return _json(200, store.to_json(item))


@app.delete(
    "/transactions/<transaction_id>",
    summary="Delete a transaction, at a version if If-Match or ?version= names one",
    responses=answers({204: {"description": "Deleted", "content": {}}}, 400, 404, 409, 412),
    security=openapi.SECURITY,
)
def delete_transaction(transaction_id: TransactionId) -> Response[str]:
    transaction_id = _transaction_id(transaction_id)
    _require_scope("transactions/write")
    expected, stale_status = _if_match(), 412
    if expected is None:
        version = app.current_event.get_query_string_value("version")
        expected, stale_status = (None if version is None else _version("version", version)), 409
    store.delete(transaction_id, expected, stale_status)
    return Response(204, "application/json", "")


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[dict[str, Any]]:
    """This API's OpenAPI document; its bodies' schema is the registry's canonical one."""
    body_schema = get_schema(CANONICAL_SUBJECT, CANONICAL_VERSION).document or {}
    return _json(200, openapi.document(app, body_schema))


@app.exception_handler(ApiProblem)
def _problem(problem: ApiProblem) -> Response:
    return problem_response(problem, app.current_event.path)


@app.exception_handler(BotoCoreError)
@app.exception_handler(ClientError)
def _aws_failure(exc: Exception) -> Response:
    logger.warning("the transaction store failed under a request", exc_info=exc)
    return problem_response(unavailable.problem_for(exc), app.current_event.path)


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, MissingSetting):
        raise exc  # a deployment without a setting fails loudly (Lambda's Errors metric), not as the caller's fault
    logger.exception("unexpected error", exc_info=exc)
    return problem_response(unavailable.problem_for(exc), app.current_event.path)


def _allowed_methods(path: str) -> list[str]:
    """The methods the routes above serve on ``path`` (Powertools keeps them per compiled rule)."""
    routes = (*app._static_routes, *app._dynamic_routes)
    return sorted({route.method for route in routes if route.rule.match(path)})


@app.not_found
def _not_found(_: Exception) -> Response:
    method, path = app.current_event.http_method, app.current_event.path
    allowed = _allowed_methods(path)
    if not allowed:
        return problem_response(ApiProblem(404, f"no route for {method} {path}"), path)
    if method == "OPTIONS":
        return Response(204, "application/json", "", headers={"Allow": ", ".join(["OPTIONS", *allowed])})
    response = problem_response(ApiProblem(405, f"{path} answers {', '.join(allowed)}, not {method}"), path)
    response.headers["Allow"] = ", ".join(["OPTIONS", *allowed])
    return response


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
