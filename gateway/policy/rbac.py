"""Role-based checks over the Casbin half of the bundle.

The actor is presented to Casbin as its subjects: ``user:ID`` and ``group:NAME`` for each
directory group it belongs to (transitively).  ``g`` rules map groups and users to roles,
``p`` rules give roles permissions on resource types and actions.

Two implementations give the same answers (a property test proves it):

* ``CompiledRbac`` for the gateway's standard model: the role closure of every subject and
  an index of rules by (object, action) are computed once per bundle, so a check is a few
  set look-ups.
* ``EnforcerRbac`` for any other model a team writes: pycasbin's own enforcer.

In both, the explaining rule is the first rule, in file order, that allows the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import casbin

from gateway.policy.casbin_rules import CasbinRule, CasbinRules

__all__ = [
    "STANDARD_MODEL",
    "CompiledRbac",
    "EnforcerRbac",
    "Rbac",
    "RbacResult",
    "build_rbac",
    "is_standard_model",
]

STANDARD_MODEL = """\
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && (p.obj == "*" || r.obj == p.obj) && (p.act == "*" || r.act == p.act)
"""

WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class RbacResult:
    """The answer of the role check and what explains it."""

    allowed: bool
    rule: CasbinRule | None
    roles: tuple[str, ...]
    granting_roles: tuple[str, ...]


class Rbac(Protocol):
    def check(self, subjects: Sequence[str], obj: str, act: str) -> RbacResult: ...

    def granting_groups(self, role: str) -> tuple[str, ...]: ...


def _signature(model: casbin.Model) -> tuple[object, ...]:
    sections = model.model
    shape = tuple(sorted((name, tuple(sorted(sections[name]))) for name in sections))
    matcher = sections["m"]["m"].value.replace(" ", "")
    effect = sections["e"]["e"].value.replace(" ", "")
    tokens = (tuple(sections["r"]["r"].tokens), tuple(sections["p"]["p"].tokens))
    roles = sections["g"]["g"].value.replace(" ", "") if "g" in sections else None
    return shape, matcher, effect, tokens, roles


def _standard_signature() -> tuple[object, ...]:
    model = casbin.Model()
    model.load_model_from_text(STANDARD_MODEL)
    return _signature(model)


_STANDARD = _standard_signature()


def is_standard_model(model: casbin.Model) -> bool:
    """True when ``model`` is the gateway's standard RBAC model, whatever its layout."""
    return _signature(model) == _STANDARD


class CompiledRbac:
    """The standard model, precomputed: role closures and a rule index."""

    def __init__(self, rules: CasbinRules) -> None:
        edges: dict[str, set[str]] = {}
        for rule in rules.groupings:
            member, role = rule.values
            edges.setdefault(member, set()).add(role)
        self._closure = {subject: self._reach(subject, edges) for subject in edges}
        granted_to: dict[str, list[str]] = {}
        for subject in sorted(self._closure):
            if subject.startswith("group:"):
                for role in self._closure[subject]:
                    granted_to.setdefault(role, []).append(subject)
        self._groups_granting = {role: tuple(groups) for role, groups in granted_to.items()}
        self._rules: dict[tuple[str, str], list[tuple[int, CasbinRule]]] = {}
        for index, rule in enumerate(rules.policies):
            _, obj, act = rule.values
            self._rules.setdefault((obj, act), []).append((index, rule))
        self._candidates: dict[tuple[str, str], tuple[CasbinRule, ...]] = {}

    @staticmethod
    def _reach(subject: str, edges: dict[str, set[str]]) -> frozenset[str]:
        seen = {subject}
        pending = [subject]
        while pending:
            for role in edges.get(pending.pop(), ()):
                if role not in seen:
                    seen.add(role)
                    pending.append(role)
        return frozenset(seen)

    def _candidates_for(self, obj: str, act: str) -> tuple[CasbinRule, ...]:
        found = self._candidates.get((obj, act))
        if found is None:
            keys = {(obj, act), (obj, WILDCARD), (WILDCARD, act), (WILDCARD, WILDCARD)}
            indexed = sorted(item for key in keys for item in self._rules.get(key, ()))
            found = tuple(rule for _, rule in indexed)
            self._candidates[(obj, act)] = found
        return found

    def _holders(self, subjects: Iterable[str]) -> frozenset[str]:
        closure = self._closure
        return frozenset().union(*(closure.get(subject, (subject,)) for subject in subjects))

    def check(self, subjects: Sequence[str], obj: str, act: str) -> RbacResult:
        held = self._holders(subjects)
        candidates = self._candidates_for(obj, act)
        for rule in candidates:
            if rule.values[0] in held:
                return RbacResult(True, rule, (), ())
        roles = tuple(sorted(held.difference(subjects)))
        granting = tuple(dict.fromkeys(rule.values[0] for rule in candidates))
        return RbacResult(False, None, roles, granting)

    def granting_groups(self, role: str) -> tuple[str, ...]:
        return self._groups_granting.get(role, ())


class EnforcerRbac:
    """Any Casbin model, answered by pycasbin's enforcer."""

    def __init__(self, rules: CasbinRules) -> None:
        model = casbin.Model()
        model.load_model_from_text(rules.model_text)
        self._enforcer = casbin.Enforcer(model)
        # The first rule with given values explains a match, as in the compiled index.
        self._first: dict[tuple[str, ...], tuple[int, CasbinRule]] = {}
        for index, rule in enumerate(rules.policies):
            self._first.setdefault((rule.ptype, *rule.values), (index, rule))
            self._enforcer.add_named_policy(rule.ptype, list(rule.values))
        for rule in rules.groupings:
            self._enforcer.add_named_grouping_policy(rule.ptype, list(rule.values))

    def check(self, subjects: Sequence[str], obj: str, act: str) -> RbacResult:
        matched: list[tuple[int, CasbinRule]] = []
        for subject in subjects:
            allowed, explain = self._enforcer.enforce_ex(subject, obj, act)
            if allowed:
                matched.append(self._first[("p", *explain)])
        if matched:
            return RbacResult(True, min(matched, key=lambda item: item[0])[1], (), ())
        roles: set[str] = set()
        for subject in subjects:
            roles.update(self._enforcer.get_implicit_roles_for_user(subject))
        return RbacResult(False, None, tuple(sorted(roles.difference(subjects))), ())

    def granting_groups(self, role: str) -> tuple[str, ...]:
        return ()


def build_rbac(rules: CasbinRules, *, compiled: bool = True) -> Rbac:
    """The fastest implementation that gives exact answers for this model."""
    if compiled and is_standard_model(rules.model):
        return CompiledRbac(rules)
    return EnforcerRbac(rules)
