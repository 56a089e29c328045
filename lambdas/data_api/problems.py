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
}


class ApiProblem(Exception):
    def __init__(self, status: int, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
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
    return Response(problem.status, "application/problem+json", json.dumps(body, default=str))
