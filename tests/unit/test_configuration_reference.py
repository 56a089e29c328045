"""docs/configuration.md is generated from ``Settings`` and names every TXD_* variable the tree reads."""

import re
import subprocess
from dataclasses import fields
from pathlib import Path

from txdagster.settings import Settings, configuration_reference, field_meanings

ROOT = Path(__file__).resolve().parents[2]


def test_the_reference_in_docs_is_the_one_generated_from_settings():
    assert (ROOT / "docs" / "configuration.md").read_text() == configuration_reference(), "run `make docs`"


def test_every_setting_says_what_it_means():
    meanings = field_meanings()
    assert [f.name for f in fields(Settings) if not meanings.get(f.name)] == []


def test_every_txd_variable_of_the_tree_is_in_the_reference():
    tracked = subprocess.run(
        ["git", "ls-files", "txdagster", "lambdas", "infra", "dagster.yaml"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    used = {name for path in tracked for name in re.findall(r"TXD_[A-Z_]+", (ROOT / path).read_text(errors="ignore"))}
    reference = configuration_reference()
    assert used and sorted(name for name in used if f"`{name}`" not in reference) == []
