"""Access requests as callers give them, and the Cedar entities built from facts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.identity.facts import ResourceFacts
from gateway.policy.entities import cedar_type, resource_entity
from gateway.policy.request import AccessRequest, ResourceRef


def test_a_resource_can_be_given_as_a_mapping() -> None:
    request = AccessRequest.model_validate(
        {"actor": "a", "action": "kb.publish", "resource": {"type": "article", "id": "x"}}
    )

    assert request.resource == ResourceRef(type="article", id="x")
    assert str(request.resource) == "article:x"


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("Account:tom", "resource type must be lower-case letters, digits or _: 'Account'"),
        ("account:", "expected TYPE:ID, found 'account:'"),
        ({"type": "host"}, "Field required"),
    ],
    ids=["an upper-case type", "an empty id", "a mapping without an id"],
)
def test_a_malformed_resource_is_refused_with_the_reason(resource: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AccessRequest.model_validate({"actor": "a", "action": "x.y", "resource": resource})

    assert message in str(caught.value)


def test_resource_types_become_pascal_case_cedar_types() -> None:
    assert cedar_type("account") == "Account"
    assert cedar_type("software_title") == "SoftwareTitle"


def test_resource_attributes_keep_records_lists_and_entity_references() -> None:
    facts = ResourceFacts(
        type="system",
        id="payroll",
        attributes={
            "owner": {"type": "User", "id": "priya"},
            "limits": {"max_hours": 8, "approvers": [{"type": "User", "id": "omar"}, "x"]},
            "tags": ["finance", "pii"],
        },
    )

    entity = resource_entity("system", "payroll", facts)

    assert entity == {
        "uid": {"type": "System", "id": "payroll"},
        "attrs": {
            "owner": {"__entity": {"type": "User", "id": "priya"}},
            "limits": {
                "max_hours": 8,
                "approvers": [{"__entity": {"type": "User", "id": "omar"}}, "x"],
            },
            "tags": ["finance", "pii"],
        },
        "parents": [],
    }


def test_a_resource_without_facts_has_no_attributes() -> None:
    assert resource_entity("host", "pc1", None)["attrs"] == {}
