"""RFC 9457 problem responses: every error the API returns says what is wrong and where."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiProblem(Exception):
    def __init__(self, status: int, detail: str, *, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after  # seconds, sent as Retry-After (a 503 always says when to come back)
        self.extra = extra


def problem_response(problem: ApiProblem, instance: str) -> Response:
    body = {
        "type": f"https://txdagster.dev/problems/{problem.status}",
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
        **problem.extra,
    }
    headers = {} if problem.retry_after is None else {"Retry-After": str(problem.retry_after)}
    return Response(problem.status, "application/problem+json", json.dumps(body, default=str), headers=headers)
