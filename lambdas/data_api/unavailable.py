"""What the API answers when DynamoDB (or the network to it) fails under a request: a 503 problem with
Retry-After for what passes (throttling, a service error, a connection that dropped, a table that is
not there, as after the local stack's AWS server was reset), a 500 problem for anything else. Never a
bare traceback, which API Gateway would turn into a 502 with no body a client can act on."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.data_api.problems import ApiProblem

#: DynamoDB's error codes that mean "not now": the request may succeed when retried.
PASSING = {
    "ProvisionedThroughputExceededException": 1,
    "ThrottlingException": 1,
    "RequestLimitExceeded": 1,
    "LimitExceededException": 1,
    "InternalServerError": 5,
    "ServiceUnavailable": 5,
    "ResourceNotFoundException": 5,  # the table is missing: a deployment (or a reset) under way
}


def problem_for(exc: Exception) -> ApiProblem:
    """The answer for an AWS failure that escaped a route."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        wait = PASSING.get(code, 5 if status >= 500 else None)
        if wait is not None:
            return ApiProblem(
                503, f"the transaction store is unavailable ({code}): retry in {wait} s", retry_after=wait
            )
        return ApiProblem(
            500, f"the transaction store refused the request ({code}); it is logged under this request's id"
        )
    if isinstance(exc, BotoCoreError):
        return ApiProblem(
            503, f"the transaction store cannot be reached ({type(exc).__name__}): retry in 5 s", retry_after=5
        )
    return ApiProblem(500, "an unexpected error; it is logged under this request's id")
