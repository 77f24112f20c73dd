"""The embedded identity source: users, transitive groups and resources from a YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import SourceError, SourceProblem, UnknownActorError
from gateway.identity import AccountStatus, IdentityFacts, ResourceFacts, StaticDirectory

DIRECTORY = """\
privileged_groups: [domain-admins]
groups:
  helpdesk: {member_of: [it, staff]}
  it: {member_of: [staff]}
  tier0: {member_of: [domain-admins]}
  domain-admins: {member_of: [it]}
  ring-a: {member_of: [ring-b]}
  ring-b: {member_of: [ring-a]}
users:
  elena:
    display_name: Elena Ruiz
    email: elena@example.com
    groups: [helpdesk]
    department: IT
    title: Support Specialist
    manager: omar
    location: Lisbon
    mfa: [totp]
  omar:
    groups: [tier0]
    status: locked
    employee_type: contractor
  ringo:
    groups: [ring-a, undeclared]
resources:
  "software:visio": {approved: true, licensed: false}
  "host:ws-042": {}
"""


@pytest.fixture
def directory(tmp_path: Path) -> StaticDirectory:
    path = tmp_path / "directory.yaml"
    path.write_text(DIRECTORY, encoding="utf-8")
    return StaticDirectory.load(path)


def test_a_user_has_every_fact_of_the_file(directory: StaticDirectory) -> None:
    assert directory.user_count == 3
    assert directory.get_user("elena") == IdentityFacts(
        id="elena",
        username="elena",
        display_name="Elena Ruiz",
        email="elena@example.com",
        status=AccountStatus.ACTIVE,
        groups=frozenset({"helpdesk", "it", "staff"}),
        department="IT",
        title="Support Specialist",
        manager="omar",
        location="Lisbon",
        employee_type="employee",
        mfa_factors=("totp",),
        privileged=False,
    )


def test_a_user_looked_up_twice_gets_the_same_facts(directory: StaticDirectory) -> None:
    first = directory.get_user("elena")

    assert directory.get_user("elena") is first


def test_a_member_of_a_group_nested_in_a_privileged_group_is_privileged(
    directory: StaticDirectory,
) -> None:
    omar = directory.get_user("omar")

    assert omar.groups == frozenset({"tier0", "domain-admins", "it", "staff"})
    assert omar.privileged is True
    assert omar.status is AccountStatus.LOCKED
    assert omar.employee_type == "contractor"
    assert omar.mfa_enrolled is False


def test_cyclic_and_undeclared_groups_resolve_to_every_group_reached(
    directory: StaticDirectory,
) -> None:
    ringo = directory.get_user("ringo")

    assert ringo.groups == frozenset({"ring-a", "ring-b", "undeclared"})
    assert ringo.privileged is False


def test_an_unknown_user_raises_unknown_actor(directory: StaticDirectory) -> None:
    with pytest.raises(UnknownActorError, match=r"^unknown user 'mallory': not found") as caught:
        directory.get_user("mallory")

    assert caught.value.user_id == "mallory"


def test_an_account_resource_is_built_from_its_user(directory: StaticDirectory) -> None:
    assert directory.get_resource("account", "elena") == ResourceFacts(
        type="account",
        id="elena",
        attributes={
            "owner": {"type": "User", "id": "elena"},
            "privileged": False,
            "status": "active",
            "department": "IT",
            "manager": {"type": "User", "id": "omar"},
        },
    )


def test_an_account_without_a_manager_has_no_manager_attribute(
    directory: StaticDirectory,
) -> None:
    assert directory.get_resource("account", "omar") == ResourceFacts(
        type="account",
        id="omar",
        attributes={
            "owner": {"type": "User", "id": "omar"},
            "privileged": True,
            "status": "locked",
            "department": "",
        },
    )


@pytest.mark.parametrize(
    ("resource_type", "resource_id", "attributes"),
    [
        ("software", "visio", {"approved": True, "licensed": False}),
        ("host", "ws-042", {}),
    ],
    ids=["a software title has its attributes", "a host without attributes is still known"],
)
def test_other_resources_come_from_the_resources_section(
    directory: StaticDirectory, resource_type: str, resource_id: str, attributes: dict[str, object]
) -> None:
    assert directory.get_resource(resource_type, resource_id) == ResourceFacts(
        type=resource_type, id=resource_id, attributes=attributes
    )


@pytest.mark.parametrize(
    ("resource_type", "resource_id"),
    [("account", "mallory"), ("software", "photoshop"), ("visio", "software")],
    ids=[
        "the account of an unknown user is unknown",
        "a software title not in the file is unknown",
        "type and id are not interchangeable",
    ],
)
def test_an_unknown_resource_is_none(
    directory: StaticDirectory, resource_type: str, resource_id: str
) -> None:
    assert directory.get_resource(resource_type, resource_id) is None


def test_an_unknown_manager_and_a_resource_key_without_type_are_reported_with_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(
        "users:\n"
        "  alice:\n"
        "    manager: carol\n"
        "  bob:\n"
        "    manager: alice\n"
        "resources:\n"
        "  visio: {approved: true}\n",
        encoding="utf-8",
    )

    with pytest.raises(SourceError) as caught:
        StaticDirectory.load(path)

    assert caught.value.summary == "invalid directory file"
    assert caught.value.problems == (
        SourceProblem(str(path), 3, "users.alice.manager: unknown user 'carol'"),
        SourceProblem(str(path), 7, "resources.visio: expected TYPE:ID"),
    )
    assert str(caught.value) == (
        f"invalid directory file: {path}:3: users.alice.manager: unknown user 'carol' (and 1 more)"
    )


def test_an_invalid_field_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text("users:\n  alice:\n    status: on_holiday\n    shoe_size: 42\n", "utf-8")

    with pytest.raises(SourceError) as caught:
        StaticDirectory.load(path)

    assert caught.value.summary == "invalid directory file"
    assert caught.value.problems == (
        SourceProblem(
            str(path),
            3,
            "users.alice.status: Input should be 'active', 'disabled', 'locked', "
            "'password_expired' or 'suspended'",
        ),
        SourceProblem(str(path), 4, "users.alice.shoe_size: Extra inputs are not permitted"),
    )


def test_the_people_of_a_location_are_the_users_placed_there(
    directory: StaticDirectory,
) -> None:
    assert [facts.id for facts in directory.users_at("Lisbon")] == ["elena"]
    assert directory.users_at("Porto") == []
