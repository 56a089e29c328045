"""The tree shows the architecture: each package imports only the layers below it.

contract <- ingest <- lake <- ops <- defs <- definitions <- cli; ``settings`` is read by every layer from
lake up; ``local/`` (the embedded stack) may import everything and only ``cli/`` imports it. Below the
Dagster layer no module imports Dagster, and no production module imports moto.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "txdagster"

#: layer -> the txdagster layers it may import (its own included)
ALLOWED = {
    "settings": set(),
    "contract": {"contract"},
    "ingest": {"contract", "ingest"},
    "lake": {"contract", "ingest", "lake", "settings"},
    "ops": {"contract", "ingest", "lake", "ops", "settings"},
    "defs": {"contract", "ingest", "lake", "ops", "defs", "settings"},
    "definitions": {"defs"},
    "local": {"contract", "ingest", "lake", "ops", "defs", "definitions", "local", "settings"},
    "cli": {"contract", "ingest", "lake", "ops", "defs", "definitions", "local", "cli", "settings"},
}
NO_DAGSTER = {"settings", "contract", "ingest", "lake", "ops"}


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at its top or inside a function."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "txdagster":
                names += [f"txdagster.{alias.name}" for alias in node.names]
    return names


def _modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.name != "__init__.py"]


def test_every_package_imports_only_the_layers_below_it():
    offenders = []
    for path in _modules():
        layer = _layer(path)
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "txdagster" and len(parts) > 1 and parts[1] not in ALLOWED[layer]:
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_no_layer_below_the_dagster_one_imports_dagster_or_moto():
    offenders = []
    for path in _modules():
        for name in _imports(path):
            top = name.split(".")[0]
            below = _layer(path) in NO_DAGSTER and top in {"dagster", "dagster_aws", "dagster_postgres"}
            if below or (top == "moto" and _layer(path) != "local"):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert offenders == []


def test_every_layer_of_the_tree_is_known():
    assert {_layer(path) for path in _modules()} <= set(ALLOWED)
