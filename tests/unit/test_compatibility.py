"""Schema evolution: what a compatible new version of a source schema may and may not change."""

import copy

import pytest

from txdagster.contract.compatibility import breaking_changes
from txdagster.contract.sources import CRM_V1

OLD = CRM_V1.json_schema


def _changed(edit) -> dict:
    new = copy.deepcopy(OLD)
    edit(new)
    return new


def test_the_same_schema_and_a_new_optional_field_are_compatible():
    assert breaking_changes(OLD, OLD) == []
    assert breaking_changes(OLD, _changed(lambda s: s["properties"].update(note={"type": "string"}))) == []
    wider = _changed(lambda s: s["properties"]["customer"]["properties"]["accountNumber"].update(maxLength=128))
    assert breaking_changes(OLD, wider) == []


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda s: s["required"].append("tags"), "payload.tags: now required"),
        (
            lambda s: s["properties"]["customer"]["properties"]["accountNumber"].update(maxLength=8),
            "payload.customer.accountNumber: maxLength",
        ),
        (lambda s: s["properties"]["recordType"].update(enum=["DEPOSIT"]), "payload.recordType: enum loses"),
        (lambda s: s["properties"]["value"].update(type="number"), "payload.value: type"),
        (lambda s: s["properties"].pop("tags"), "payload.tags: removed"),
    ],
    ids=["new required field", "tighter length", "fewer enum values", "other type", "removed field"],
)
def test_a_breaking_change_is_named_by_its_path(edit, named):
    changes = breaking_changes(OLD, _changed(edit))
    assert any(named in change for change in changes), changes
