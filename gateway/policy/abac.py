"""Attribute-based checks over the Cedar half of the bundle.

Cedar evaluates every policy in the set it is given, so the engine hands it only the
policies that can apply to the requested action: those whose scope names the action
(``action == Action::"..."``) and those that may apply to any action (no action
constraint, or ``action in [...]``).  A policy scoped to another action can never be
satisfied, nor raise an error, so the slice decides exactly as the whole set does (a
property test checks this).  Slices are parsed once per bundle.

Within a slice, policies whose principal scope names one entity (``principal in
Group::"G"``, ``principal == User::"U"``) are kept apart, one small set per entity, and
evaluated only for a principal that is, or descends from, that entity: most requests
evaluate the unscoped rest alone.  When a request needs several sets their answers are
combined as Cedar combines policies (a satisfied forbid denies, naming every satisfied
forbid; else a satisfied permit allows, naming every satisfied permit); any error in any
of them sends the request to the whole slice instead, so errors read as they always did.

Fail closed: an evaluation error anywhere (a forbid policy that errors is skipped by
Cedar, which could turn a deny into an allow) makes the outcome a deny naming the error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cedarpy

from gateway.policy.cedar_source import CedarPolicy

__all__ = ["CedarEngine", "CedarOutcome", "principal_scope"]

ScopeKey = tuple[str, str]  # the (type, id) a principal scope names

_ENTITY_ERROR_PREFIX = "failed to parse entities from:"
_ENTITY_ERROR_END = "]: "  # the quoted document is a JSON array followed by the diagnosis


@dataclass(frozen=True, slots=True)
class CedarOutcome:
    """What Cedar decided: the policies that determined it and any errors."""

    allowed: bool
    permits: tuple[str, ...]
    forbids: tuple[str, ...]
    errors: tuple[str, ...]


def clean_error(message: str) -> str:
    """Cedar quotes whole entity documents in some errors; keep only the diagnosis."""
    if message.startswith(_ENTITY_ERROR_PREFIX):
        _, _, detail = message.rpartition(_ENTITY_ERROR_END)
        return f"invalid entity data: {detail}"
    return message


def principal_scope(policy: CedarPolicy) -> ScopeKey | None:
    """The one entity a principal must be, or descend from, for ``policy`` to apply;
    ``None`` when the scope names none (any principal, ``is``, anything newer).  A
    principal here is a ``User`` whose only ancestors are its directory groups
    (``gateway.policy.entities``), so a scope naming any other entity never matches."""
    scope = policy.est.get("principal", {})
    entity = scope.get("entity")
    if scope.get("op") in {"==", "in"} and isinstance(entity, Mapping):
        return (str(entity.get("type")), str(entity.get("id")))
    return None


@dataclass(frozen=True, slots=True)
class _ScopedSlice:
    """One action's slice split by principal scope."""

    unscoped: tuple[CedarPolicy, ...]
    scoped: Mapping[ScopeKey, tuple[CedarPolicy, ...]]


def _split(policies: tuple[CedarPolicy, ...]) -> _ScopedSlice:
    unscoped: list[CedarPolicy] = []
    scoped: dict[ScopeKey, list[CedarPolicy]] = {}
    for policy in policies:
        key = principal_scope(policy)
        if key is None:
            unscoped.append(policy)
        else:
            scoped.setdefault(key, []).append(policy)
    return _ScopedSlice(tuple(unscoped), {key: tuple(found) for key, found in scoped.items()})


class CedarEngine:
    """Evaluates requests against one bundle's Cedar policies and schema."""

    def __init__(self, policies: Iterable[CedarPolicy], schema: cedarpy.Schema) -> None:
        self.schema = schema
        self.policies = {policy.id: policy for policy in policies}
        self._order = {policy_id: index for index, policy_id in enumerate(self.policies)}
        self._any_action = [p for p in self.policies.values() if p.actions is None]
        self._by_action: dict[str, list[CedarPolicy]] = {}
        for policy in self.policies.values():
            for action in policy.actions or ():
                self._by_action.setdefault(action, []).append(policy)
        self._sets: dict[str, cedarpy.PolicySet] = {}
        self._entities = lru_cache(maxsize=8192)(self._parse_entities)
        self._slices: dict[str, tuple[CedarPolicy, ...]] = {}
        self._scoped: dict[str, _ScopedSlice] = {}
        self._scoped_sets: dict[tuple[str, ScopeKey | None], cedarpy.PolicySet] = {}

    def policies_for(self, action: str) -> tuple[CedarPolicy, ...]:
        """The policies that can apply to ``action``, in bundle order."""
        found = self._slices.get(action)
        if found is None:
            scoped = self._by_action.get(action, [])
            ordered = sorted([*scoped, *self._any_action], key=lambda p: self._order[p.id])
            found = self._slices[action] = tuple(ordered)
        return found

    def policy_set(self, action: str) -> cedarpy.PolicySet:
        found = self._sets.get(action)
        if found is None:  # two threads may both build it; either result is the same
            found = self.compile(self.policies_for(action))
            self._sets[action] = found
        return found

    def _scoped_slice(self, action: str) -> _ScopedSlice:
        found = self._scoped.get(action)
        if found is None:
            found = self._scoped[action] = _split(self.policies_for(action))
        return found

    def _scoped_set(
        self, action: str, key: ScopeKey | None, policies: tuple[CedarPolicy, ...]
    ) -> cedarpy.PolicySet:
        found = self._scoped_sets.get((action, key))
        if found is None:  # as for policy_set: a race builds the same set twice
            found = self._scoped_sets[(action, key)] = self.compile(policies)
        return found

    def prepare(self, action: str) -> None:
        """Parse every policy set ``action`` may need now rather than on first use."""
        self.policy_set(action)
        split = self._scoped_slice(action)
        self._scoped_set(action, None, split.unscoped)
        for key, policies in split.scoped.items():
            self._scoped_set(action, key, policies)

    def _parse_entities(self, entities_json: str) -> cedarpy.Entities:
        return cedarpy.Entities.from_json_str(entities_json, self.schema)

    def entities(self, entities_json: str) -> cedarpy.Entities | str:
        """A parsed, schema-checked entity set, reused while the same facts recur.

        Invalid entities are handed to the evaluation as text instead, whose error says
        exactly which attribute is wrong.
        """
        try:
            return self._entities(entities_json)
        except ValueError:
            return entities_json

    @staticmethod
    def compile(policies: Iterable[CedarPolicy]) -> cedarpy.PolicySet:
        """A parsed policy set whose policy ids are the policies' @id values."""
        document = {
            "staticPolicies": {policy.id: dict(policy.est) for policy in policies},
            "templates": {},
            "templateLinks": [],
        }
        return cedarpy.PolicySet.from_json_str(json.dumps(document))

    def evaluate(
        self,
        action: str,
        principal: Mapping[str, str],
        resource: Mapping[str, str],
        context_json: str,
        entities_json: str,
        *,
        principal_groups: Iterable[str] | None = None,
    ) -> CedarOutcome:
        """Cedar's answer over the action's slice.

        ``principal_groups`` are the ``Group`` ids the principal descends from in
        ``entities_json`` (all of them); given, only the policies whose principal scope
        can match are evaluated.  Without them the whole slice is.
        """
        request = {
            "principal": dict(principal),
            "action": {"type": "Action", "id": action},
            "resource": dict(resource),
            "context": context_json,
        }
        entities = self.entities(entities_json)
        if principal_groups is not None:
            outcome = self._evaluate_scoped(action, request, entities, principal, principal_groups)
            if outcome is not None:
                return outcome
        result = cedarpy.is_authorized(
            request, self.policy_set(action), entities, schema=self.schema
        )
        errors = tuple(clean_error(error) for error in result.diagnostics.errors)
        determining = tuple(result.diagnostics.reasons)
        allowed = result.allowed and not errors
        if result.allowed:
            return CedarOutcome(allowed, determining, (), errors)
        return CedarOutcome(False, (), determining, errors)

    def _evaluate_scoped(
        self,
        action: str,
        request: dict[str, Any],
        entities: cedarpy.Entities | str,
        principal: Mapping[str, str],
        groups: Iterable[str],
    ) -> CedarOutcome | None:
        """The answer from the unscoped policies and those scoped to the principal or its
        groups; ``None`` when any evaluation reports an error."""
        split = self._scoped_slice(action)
        keys: list[ScopeKey | None] = [None]
        candidates = [(str(principal["type"]), str(principal["id"]))]
        candidates += [("Group", group) for group in groups]
        keys += [key for key in candidates if key in split.scoped]
        permits: list[str] = []
        forbids: list[str] = []
        for key in keys:
            policies = split.unscoped if key is None else split.scoped[key]
            result = cedarpy.is_authorized(
                request, self._scoped_set(action, key, policies), entities, schema=self.schema
            )
            if result.diagnostics.errors:
                return None
            (permits if result.allowed else forbids).extend(result.diagnostics.reasons)
        if forbids:
            return CedarOutcome(False, (), tuple(forbids), ())
        return CedarOutcome(bool(permits), tuple(permits), (), ())
