"""Approver specs and role resolution."""

from __future__ import annotations

import pytest

from gateway.approvals import CasbinRoles, engine_roles, no_roles
from gateway.approvals.eligibility import matches
from gateway.identity.facts import IdentityFacts
from tests.approvals import engine

HUGO = IdentityFacts(id="hugo", username="hugo", groups=frozenset({"helpdesk"}))


def test_casbin_roles_follow_the_role_hierarchy() -> None:
    roles = CasbinRoles(engine().bundle.casbin)
    assert roles(HUGO) == {"role:helpdesk", "role:technician"}
    assert roles.roles_of(["user:nobody"]) == frozenset()
    assert roles.roles_of(["group:helpdesk", "role:helpdesk"]) == {"role:technician"}


def test_engine_roles_follow_the_bundle_in_force() -> None:
    current = [engine()]
    resolve = engine_roles(lambda: current[0])
    assert "role:helpdesk" in resolve(HUGO)
    assert "role:helpdesk" in resolve(HUGO)  # cached for the same bundle


@pytest.mark.parametrize(
    ("spec", "manager", "expected"),
    [
        pytest.param("manager", "hugo", True, id="the manager"),
        pytest.param("manager", "carol", False, id="someone else's manager"),
        pytest.param("manager", None, False, id="no manager known"),
        pytest.param("user:hugo", None, True, id="the named user"),
        pytest.param("user:carol", None, False, id="another named user"),
        pytest.param("group:helpdesk", None, True, id="a group member"),
        pytest.param("group:staff", None, False, id="not a group member"),
        pytest.param("role:technician", None, True, id="a role holder"),
        pytest.param("role:security", None, False, id="not a role holder"),
        pytest.param("team:x", None, False, id="an unknown kind names nobody"),
    ],
)
def test_matches(spec: str, manager: str | None, expected: bool) -> None:
    assert matches(spec, HUGO, manager, CasbinRoles(engine().bundle.casbin)) is expected


def test_no_roles_gives_none() -> None:
    assert no_roles(HUGO) == frozenset()
    assert not matches("role:technician", HUGO, None, no_roles)
