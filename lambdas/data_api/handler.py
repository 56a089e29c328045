"""API Gateway (REST, Lambda proxy) -> CRUD on DynamoDB. Bodies are checked against the registry's
canonical schema; every error is an ``application/problem+json`` answer."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from fastjsonschema import JsonSchemaValueException

from lambdas.common.registry import get_schema
from lambdas.data_api import store
from lambdas.data_api.problems import ApiProblem, problem_response

CANONICAL_SUBJECT = "canonical"
CANONICAL_VERSION = 1
MAX_LIST = 100
#: The contract's bounds of ``version`` (txdagster/contract/fields.py; a unit test keeps them equal).
VERSION_MIN, VERSION_MAX = 1, 2**63 - 1

logger = Logger(service="data_api")
app = APIGatewayRestResolver()


def _json(status: int, body: Any) -> Response:
    return Response(status, "application/json", json.dumps(body, default=str))


def _require_scope(scope: str) -> None:
    granted = (app.current_event.request_context.authorizer.raw_event or {}).get("scopes", "")
    if scope not in granted.split():
        raise ApiProblem(403, f"this call needs the {scope!r} scope; the token grants {granted!r}")


def _canonical_body() -> dict[str, Any]:
    if "json" not in app.current_event.headers.get("content-type", "application/json"):
        raise ApiProblem(415, "send the transaction as application/json")
    try:
        body = json.loads(app.current_event.body or "")
    except json.JSONDecodeError as exc:
        raise ApiProblem(400, f"body is not JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(body, dict):
        raise ApiProblem(400, "body must be a JSON object")
    try:
        get_schema(CANONICAL_SUBJECT, CANONICAL_VERSION).validate(body)
    except JsonSchemaValueException as exc:
        raise ApiProblem(422, f"transaction {exc.message}", field=exc.name) from exc
    return body


def _integer(name: str, value: str) -> int:
    try:
        return int(value.strip('"'))
    except ValueError as exc:
        raise ApiProblem(400, f"{name} must be an integer, got {value!r}") from exc


def _version(name: str, value: str) -> int:
    version = _integer(name, value)
    if not VERSION_MIN <= version <= VERSION_MAX:
        raise ApiProblem(400, f"{name} must be a version between {VERSION_MIN} and {VERSION_MAX}, got {value!r}")
    return version


def _if_match() -> int | None:
    """The version in an ``If-Match`` header (``"3"``, ``3`` or a weak ``W/"3"``), if one was sent."""
    header = app.current_event.headers.get("if-match")
    return None if header is None else _version("If-Match", header.strip().removeprefix("W/"))


def _expected_version(body: dict[str, Any]) -> tuple[int, int]:
    """The version the caller read, and the status a stale one gets: ``version`` in the body (409: the
    content conflicts), else the ``If-Match`` header (412: the precondition failed, RFC 9110)."""
    if body.get("version") is not None:
        return int(body["version"]), 409
    expected = _if_match()
    if expected is None:
        raise ApiProblem(428, "send the version you read, as 'version' in the body or in If-Match")
    return expected, 412


@app.post("/transactions")
def create_transaction() -> Response:
    _require_scope("transactions/write")
    item, created = store.create(_canonical_body())
    return _json(201 if created else 200, store.to_json(item))


@app.get("/transactions/<transaction_id>")
def get_transaction(transaction_id: str) -> Response:
    _require_scope("transactions/read")
    item = store.get(transaction_id)
    if item is None:
        raise ApiProblem(404, f"transaction {transaction_id} does not exist")
    return _json(200, store.to_json(item))


@app.get("/transactions")
def list_transactions() -> Response:
    _require_scope("transactions/read")
    account_id = app.current_event.get_query_string_value("account_id")
    if not account_id:
        raise ApiProblem(400, "query parameter account_id is required")
    limit = _integer("limit", app.current_event.get_query_string_value("limit", "50"))
    items = store.list_for_account(account_id, min(max(limit, 1), MAX_LIST))
    return _json(200, {"items": [store.to_json(i) for i in items]})


@app.put("/transactions/<transaction_id>")
def update_transaction(transaction_id: str) -> Response:
    _require_scope("transactions/write")
    body = _canonical_body()
    expected, stale_status = _expected_version(body)
    item = store.update(transaction_id, body, expected, stale_status)
    return _json(200, store.to_json(item))


@app.delete("/transactions/<transaction_id>")
def delete_transaction(transaction_id: str) -> Response:
    _require_scope("transactions/write")
    expected, stale_status = _if_match(), 412
    if expected is None:
        version = app.current_event.get_query_string_value("version")
        expected, stale_status = (None if version is None else _version("version", version)), 409
    store.delete(transaction_id, expected, stale_status)
    return Response(204, "application/json", "")


@app.exception_handler(ApiProblem)
def _problem(problem: ApiProblem) -> Response:
    return problem_response(problem, app.current_event.path)


@app.not_found
def _not_found(_: Exception) -> Response:
    return problem_response(
        ApiProblem(404, f"no route for {app.current_event.http_method} {app.current_event.path}"),
        app.current_event.path,
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
