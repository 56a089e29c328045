"""docs/openapi.json is the document the routes generate, and a valid OpenAPI 3.1 one."""

import json
from pathlib import Path

from openapi_spec_validator import validate

from txdagster.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_docs_hold_the_document_the_routes_generate(tmp_path):
    assert main(["openapi", "--output", str(tmp_path / "openapi.json")]) == 0
    generated = (tmp_path / "openapi.json").read_text()
    assert generated == DOCS.read_text(), "docs/openapi.json is stale: run `txdagster openapi`"


def test_the_document_is_valid_openapi_and_describes_every_route_and_answer():
    document = json.loads(DOCS.read_text())
    validate(document)
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    one = "/transactions/{transaction_id}"
    assert operations == {
        ("/transactions", "get"),
        ("/transactions", "post"),
        (one, "get"),
        (one, "put"),
        (one, "delete"),
    }
    put = document["paths"]["/transactions/{transaction_id}"]["put"]
    assert {"200", "400", "401", "403", "404", "405", "409", "412", "415", "422", "428", "503"} == set(put["responses"])
    assert "Retry-After" in put["responses"]["503"]["headers"]
    assert [p["name"] for p in put["parameters"]] == ["transaction_id", "If-Match"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Body"}
    assert "version" in document["components"]["schemas"]["Transaction"]["required"]
