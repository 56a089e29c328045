"""The Lambdas stand alone: small cold starts, no lake-side libraries, no import of txdagster."""

import ast
from pathlib import Path

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"
FORBIDDEN = {"pandas", "pyarrow", "dagster", "pandera", "duckdb", "txdagster", "moto"}


def test_no_lambda_module_imports_the_lake_side():
    offenders = []
    for path in LAMBDAS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(LAMBDAS)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
