from __future__ import annotations

import dagster as dg
import pytest

from txdagster.lake import aws
from txdagster.local.api_client import ApiClient
from txdagster.local.headless import HeadlessDagster


@pytest.fixture(scope="session")
def orchestrator(stack) -> HeadlessDagster:
    return HeadlessDagster(dg.DagsterInstance.ephemeral())


@pytest.fixture(scope="session")
def api(stack) -> ApiClient:
    return ApiClient(stack.settings.api_url, stack.analyst_token())


@pytest.fixture(scope="session")
def table(settings):
    return aws.resource("dynamodb", settings).Table(settings.transactions_table)
