"""Who may vote on an obligation: named users, group members, role holders, the manager.

Approver specs are ``user:ID``, ``group:NAME`` (directory groups, already transitive in
``IdentityFacts``), ``role:NAME`` (Casbin roles, through the ``g`` rules of the bundle)
and ``manager`` (the manager recorded on the request when it was opened).

Roles come from a ``RoleResolver``; ``CasbinRoles`` computes them from the bundle's
grouping rules the way the standard model does: the subjects of a person are
``user:ID`` and ``group:NAME`` for each group, and a role is held when some subject
reaches it through ``g`` rules (role hierarchies included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from gateway.identity.facts import IdentityFacts
from gateway.policy.casbin_rules import CasbinRules
from gateway.policy.engine import PolicyEngine, rbac_subjects

__all__ = ["CasbinRoles", "RoleResolver", "engine_roles", "matches", "no_roles"]


class RoleResolver(Protocol):
    def __call__(self, person: IdentityFacts) -> frozenset[str]:
        """Every role ``person`` holds, as ``role:NAME`` (or whatever the bundle names)."""
        ...


def no_roles(person: IdentityFacts) -> frozenset[str]:
    """A resolver for deployments without roles: nobody holds any."""
    return frozenset()


class CasbinRoles:
    """The role closure of the ``g`` rules of one bundle."""

    def __init__(self, rules: CasbinRules) -> None:
        self._edges: dict[str, set[str]] = {}
        for rule in rules.groupings:
            member, role = rule.values[0], rule.values[1]
            self._edges.setdefault(member, set()).add(role)

    def roles_of(self, subjects: Iterable[str]) -> frozenset[str]:
        start = set(subjects)
        seen = set(start)
        pending = list(start)
        while pending:
            for role in self._edges.get(pending.pop(), ()):
                if role not in seen:
                    seen.add(role)
                    pending.append(role)
        return frozenset(seen - start)

    def __call__(self, person: IdentityFacts) -> frozenset[str]:
        return self.roles_of(rbac_subjects(person))


def engine_roles(engine: Callable[[], PolicyEngine]) -> RoleResolver:
    """Roles from the bundle currently in force (``PolicyStore.engine`` after reloads)."""
    cache: dict[str, CasbinRoles] = {}

    def resolve(person: IdentityFacts) -> frozenset[str]:
        current = engine()
        roles = cache.get(current.digest)
        if roles is None:
            cache.clear()
            roles = cache[current.digest] = CasbinRoles(current.bundle.casbin)
        return roles(person)

    return resolve


def matches(spec: str, person: IdentityFacts, manager: str | None, roles: RoleResolver) -> bool:
    """Whether ``person`` is an approver named by ``spec``."""
    if spec == "manager":
        return manager is not None and person.id == manager
    kind, _, name = spec.partition(":")
    if kind == "user":
        return person.id == name
    if kind == "group":
        return name in person.groups
    if kind == "role":
        return spec in roles(person)
    return False
