"""The Data API's OpenAPI document: served by the API itself, and held to by schemathesis."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from txdagster.contract.json_schema import canonical_json_schema

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
CHECKS += "response_schema_conformance"


def test_the_api_serves_the_document_docs_hold_with_the_registrys_body_schema(api):
    reply = api.call("GET", "/openapi.json")
    assert reply.status == 200
    served = reply.body
    assert served == json.loads((ROOT / "docs" / "openapi.json").read_text())
    body = served["components"]["schemas"]["Body"]
    assert body["properties"] == canonical_json_schema()["properties"]
    assert set(served["paths"]) == {"/transactions", "/transactions/{transaction_id}"}


def test_the_document_needs_a_token_and_answers_only_get(settings, api):
    from txdagster.local.api_client import ApiClient

    assert ApiClient(settings.api_url, None).call("GET", "/openapi.json").status == 401
    refused = api.call("POST", "/openapi.json", {})
    assert refused.status == 405 and "GET" in refused.body["detail"]


def test_schemathesis_finds_no_server_error_and_no_nonconforming_answer(settings, api, tmp_path):
    st = shutil.which("st", path=str(ROOT / ".venv-schemathesis" / "bin"))
    assert st, "schemathesis lives in .venv-schemathesis (make install)"
    run = subprocess.run(
        [
            st,
            "run",
            f"{settings.api_url}/openapi.json",
            "--url",
            settings.api_url,
            "-H",
            f"Authorization: Bearer {api.token}",
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "30",
            "--seed",
            "20261127",
            "--workers",
            "1",
            "--no-color",
            "--report",
            "junit",
            "--report-junit-path",
            str(tmp_path / "junit.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Operations:       5 selected / 5 total" in run.stdout  # every route of the document was tested
    report = (tmp_path / "junit.xml").read_text()
    assert 'failures="0"' in report and 'errors="0"' in report, report[:2000]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "BREW"])
def test_a_method_api_gateway_does_not_know_is_a_405_problem_not_an_html_501(api, method):
    reply = api.call(method, "/transactions/payments:1")
    assert reply.status == 405 and reply.content_type == "application/problem+json"
