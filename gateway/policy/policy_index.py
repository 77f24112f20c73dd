"""Which policies of an action's slice a request can meet, read from their text once.

Cedar evaluates a policy's scope, then its conditions, left to right, and stops at the first
``false`` of a conjunction without evaluating (or failing on) the rest.  So a policy whose
scope, or whose first condition, is a test that cannot fail is neither satisfied nor in
error for a request that test is ``false`` for, and leaving it out changes nothing:

* ``principal in E`` / ``principal == E`` (the scope, or the first condition, or a
  disjunction of such tests as the first condition): the policy is kept under each ``E``
  and met only by a principal that is, or descends from, one of them.  A principal here is
  a ``User`` whose only ancestors are its directory groups (``gateway.policy.entities``),
  so an ``E`` of any other kind is never met.
* ``context has K`` as the first condition: the policy is met only by a request whose
  context has the attribute ``K``.  At most ``MAX_CONTEXT_GUARDS`` such attributes per
  slice are used (those guarding the most policies); other such policies are always met.

The first condition is the leftmost operand of the first ``when`` clause's chain of ``&&``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from gateway.policy.cedar_source import CedarPolicy

__all__ = ["MAX_CONTEXT_GUARDS", "ScopeKey", "SlicePlan", "plan_slice", "principal_scope"]

ScopeKey = tuple[str, str]  # the (type, id) of an entity a principal must be or descend from
MAX_CONTEXT_GUARDS = 4  # 2**4 policy sets per slice at most, parsed once each
_PRINCIPAL = {"Var": "principal"}


def principal_scope(policy: CedarPolicy) -> ScopeKey | None:
    """The one entity a principal must be, or descend from, for ``policy``'s scope to
    match; ``None`` when the scope names none (any principal, ``is``, anything newer)."""
    scope = policy.est.get("principal", {})
    entity = scope.get("entity")
    if scope.get("op") in {"==", "in"} and isinstance(entity, Mapping):
        return (str(entity.get("type")), str(entity.get("id")))
    return None


def _first_condition(policy: CedarPolicy) -> Any:
    conditions = policy.est.get("conditions", ())
    if not conditions or conditions[0].get("kind") != "when":
        return None
    body = conditions[0].get("body")
    while isinstance(body, dict) and len(body) == 1 and "&&" in body:
        body = body["&&"].get("left")
    return body


def _principal_tests(node: Any) -> frozenset[ScopeKey] | None:
    """The entities of ``principal in E`` / ``principal == E`` tests joined by ``||``."""
    if not isinstance(node, dict) or len(node) != 1:
        return None
    ((operator, operands),) = node.items()
    if not isinstance(operands, dict):
        return None
    if operator == "||":
        left = _principal_tests(operands.get("left"))
        right = _principal_tests(operands.get("right"))
        return left | right if left is not None and right is not None else None
    value = operands.get("right")
    entity = value.get("Value") if isinstance(value, dict) else None
    uid = entity.get("__entity") if isinstance(entity, dict) else None
    if operator in {"in", "=="} and operands.get("left") == _PRINCIPAL and isinstance(uid, dict):
        return frozenset({(str(uid.get("type")), str(uid.get("id")))})
    return None


def _context_test(node: Any) -> str | None:
    """``K`` of a ``context has K`` test."""
    operands = node.get("has") if isinstance(node, dict) and len(node) == 1 else None
    if isinstance(operands, dict) and operands.get("left") == {"Var": "context"}:
        attribute = operands.get("attr")
        return attribute if isinstance(attribute, str) else None
    return None


@dataclass(frozen=True, slots=True)
class SlicePlan:
    """One action's slice split by what a request must hold for each policy to be met."""

    always: tuple[CedarPolicy, ...]
    guarded: Mapping[str, tuple[CedarPolicy, ...]]  # context attribute -> policies
    scoped: Mapping[ScopeKey, tuple[CedarPolicy, ...]]  # principal entity -> policies

    def context_keys(self, context: Mapping[str, Any] | None) -> frozenset[str]:
        """The guarding attributes ``context`` has (all of them when it is unknown)."""
        if context is None:
            return frozenset(self.guarded)
        return frozenset(key for key in self.guarded if key in context)

    def unscoped(self, present: frozenset[str]) -> tuple[CedarPolicy, ...]:
        """The policies every principal may meet, for a context holding ``present``."""
        return (*self.always, *(p for key in sorted(present) for p in self.guarded[key]))

    def combinations(self) -> Iterable[frozenset[str]]:
        """Every set of guarding attributes a context may hold."""
        keys = sorted(self.guarded)
        for size in range(len(keys) + 1):
            yield from (frozenset(chosen) for chosen in combinations(keys, size))


def plan_slice(policies: Iterable[CedarPolicy]) -> SlicePlan:
    """Split a slice (in bundle order) by principal scope and context guards."""
    always: list[CedarPolicy] = []
    guarded: dict[str, list[CedarPolicy]] = {}
    scoped: dict[ScopeKey, list[CedarPolicy]] = {}
    for policy in policies:
        scope = principal_scope(policy)
        first = _first_condition(policy)
        keys = frozenset({scope}) if scope is not None else _principal_tests(first)
        context = _context_test(first)
        if keys is not None:
            for key in keys:
                scoped.setdefault(key, []).append(policy)
        elif context is not None:
            guarded.setdefault(context, []).append(policy)
        else:
            always.append(policy)
    kept = sorted(guarded, key=lambda key: (-len(guarded[key]), key))[:MAX_CONTEXT_GUARDS]
    for dropped in set(guarded) - set(kept):
        always.extend(guarded.pop(dropped))
    return SlicePlan(
        tuple(always),
        {key: tuple(found) for key, found in guarded.items()},
        {key: tuple(found) for key, found in scoped.items()},
    )
